//! The `snop` binary: parses the command line, sets up logging, and maps errors to exit codes
//! (0 ok, 1 the user's data or configuration, 2 the runtime or a bug).

use clap::Parser as _;
use snop::cli::Cli;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

fn main() {
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
