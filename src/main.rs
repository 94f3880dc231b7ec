//! The `applinks` binary: parse the command line, set up tracing, hand over to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = applinks::config::Cli::parse();
    applinks::startup::init_tracing();
    match applinks::startup::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
