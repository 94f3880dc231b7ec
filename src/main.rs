//! The `applinks` binary: parse the command line, set up tracing, hand over to the library.

use clap::Parser;

/// mimalloc instead of glibc's malloc: a request allocates and frees many small buffers on
/// several threads, where glibc's arenas spent about a tenth of the CPU of `bench pages`.
/// Built without transparent huge pages (Cargo.toml says why).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = applinks::cli::Cli::parse();
    applinks::cli::init_tracing();
    match applinks::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
