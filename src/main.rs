//! The `snop` binary: parses the command line, sets up logging, and maps errors to exit codes
//! (0 ok, 1 the user's data or configuration, 2 the runtime or a bug).

use clap::Parser as _;
use snop::cli::Cli;
use tracing_subscriber::EnvFilter;

fn main() {
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
