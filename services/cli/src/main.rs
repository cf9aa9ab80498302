//! `voxline`: dub media from a terminal, follow jobs, manage keys.

mod api;
mod credits;
mod dub;
mod jobs;
mod keys;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "voxline",
    version,
    about = "Dub and subtitle media with a Voxline server"
)]
struct Cli {
    /// The gateway's URL.
    #[arg(
        long,
        global = true,
        env = "VOXLINE_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// An API key (`vx_...`); create one with `voxline keys create`.
    #[arg(long, global = true, env = "VOXLINE_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Upload FILE, dub it into the target languages, and download the results.
    Dub(dub::DubArgs),
    /// List, inspect or cancel jobs.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Manage API keys (talks to the database directly: run it where the server's settings are).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Grant or show a tenant's credits (talks to the database directly).
    #[command(subcommand)]
    Credits(credits::CreditsCommand),
    /// Apply pending database migrations (talks to the database directly).
    Migrate {
        /// Server settings file (for the database URL); the environment also works.
        #[arg(long, env = "VOXLINE_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keys(cmd) => keys::run(cmd).await,
        Command::Credits(cmd) => credits::run(cmd).await,
        Command::Migrate { config } => keys::migrate(config).await,
        Command::Dub(args) => match api::Client::new(&cli.server, cli.api_key) {
            Ok(client) => dub::run(&client, args).await,
            Err(e) => Err(e),
        },
        Command::Jobs(cmd) => match api::Client::new(&cli.server, cli.api_key) {
            Ok(client) => jobs::run(&client, cmd).await,
            Err(e) => Err(e),
        },
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Where results go when `--out` is not given.
fn default_out() -> PathBuf {
    PathBuf::from("voxline-output")
}
