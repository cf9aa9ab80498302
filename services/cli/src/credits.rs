use std::path::PathBuf;

use clap::Subcommand;
use voxline_core::Credits;
use voxline_db::{api_keys, credits};

use crate::keys::database;

#[derive(Subcommand)]
pub enum CreditsCommand {
    /// Grant credits to a tenant (created if new); a negative amount takes some back.
    Grant {
        #[arg(long)]
        tenant: String,
        /// Credits, such as 20 or 2.5.
        #[arg(long, allow_negative_numbers = true)]
        amount: f64,
        #[arg(long, default_value = "granted from the command line")]
        note: String,
        /// Server settings file (for the database URL); the environment also works.
        #[arg(long, env = "VOXLINE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Show a tenant's available and reserved credits.
    Show {
        #[arg(long)]
        tenant: String,
        #[arg(long, env = "VOXLINE_CONFIG")]
        config: Option<PathBuf>,
    },
}

pub async fn run(cmd: CreditsCommand) -> anyhow::Result<()> {
    let (tenant, config) = match &cmd {
        CreditsCommand::Grant { tenant, config, .. } | CreditsCommand::Show { tenant, config } => {
            (tenant.clone(), config.clone())
        }
    };
    let db = database(config).await?;
    let tenant_id = api_keys::ensure_tenant(&db, &tenant).await?;
    let balance = match cmd {
        CreditsCommand::Grant { amount, note, .. } => {
            anyhow::ensure!(
                amount.is_finite() && amount != 0.0,
                "--amount must be a non-zero number"
            );
            credits::grant(&db, tenant_id, Credits::from_credits(amount), &note).await?
        }
        CreditsCommand::Show { .. } => credits::balance(&db.client().await?, tenant_id).await?,
    };
    println!(
        "tenant `{tenant}`: {} credits available, {} reserved by running jobs",
        balance.available, balance.reserved
    );
    Ok(())
}
