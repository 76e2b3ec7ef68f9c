//! The `snop` binary: parses the command line, sets up logging, and maps errors to exit codes
//! (0 ok, 1 the user's data or configuration, 2 the runtime or a bug).

use clap::Parser as _;
use snop::cli::Cli;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

fn main() {
    keep_freed_memory();
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "snop=debug,info",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level)))
        .with_writer(std::io::stderr)
        .with_target(false)
        // `SNOP_SPAN_TIMES=1` also logs each span's time when it closes (profiling).
        .with_span_events(if std::env::var_os("SNOP_SPAN_TIMES").is_some() { FmtSpan::CLOSE } else { FmtSpan::NONE })
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(2);
        }
    };
    if let Err(err) = runtime.block_on(snop::cli::run(cli)) {
        let fault = snop::Fault::of(&err);
        eprintln!("error: {err}");
        for cause in err.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(fault.exit_code());
    }
}

/// glibc's allocator, as `snop` runs best with it: one arena, no separate mapping per large block
/// and a free top of the heap up to 256 MB kept, so a large column freed is reused by the next
/// rather than returned to the system and faulted in again as fresh zeroed pages. Measured on
/// `snop bench ingest` (5 M lines): 34% fewer page faults, peak memory 908 -> 680 MB, a little
/// less CPU; `snop demo` no slower and 10% smaller (bench/RESULTS.md). The parameters are read
/// when a process starts (`GLIBC_TUNABLES`; `mallopt` would need `unsafe`, which the crate
/// forbids), so the process starts itself again once with them. A `GLIBC_TUNABLES` already set,
/// even empty, is left as it is.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("GLIBC_TUNABLES").is_none()
        && let Ok(exe) = std::env::current_exe()
    {
        use std::os::unix::process::CommandExt as _;
        let mut args = std::env::args_os();
        let argv0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
        // `exec` returns only when it failed: then run as we are.
        let _ = std::process::Command::new(exe)
            .arg0(argv0)
            .args(args)
            .env("GLIBC_TUNABLES", snop::ALLOCATOR_TUNABLES)
            .exec();
    }
}

/// A reader that stops early (`snop calendar | head`) closes stdout, and the next `println!`
/// panics with a broken pipe. That is the reader's choice, not a fault: end quietly, exit 0.
/// Every other panic (a full disk under a redirect included) is reported as before.
fn quiet_on_closed_stdout() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message =
            payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied());
        // `Broken pipe (os error 32)` on Unix; `os error 232` (the pipe is being closed) on Windows.
        let closed = |m: &str| m.to_lowercase().contains("broken pipe") || m.contains("(os error 232)");
        if message.is_some_and(|m| m.starts_with("failed printing to stdout") && closed(m)) {
            std::process::exit(0);
        }
        report(info);
    }));
}
