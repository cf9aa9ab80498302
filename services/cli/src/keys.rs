use std::path::PathBuf;

use clap::Subcommand;
use voxline_config::Settings;
use voxline_db::{Db, api_keys};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create an API key for a tenant (created if new) and print it once.
    Create {
        /// The tenant the key acts for.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// A name for people, to tell keys apart.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Server settings file (for the database URL); the environment also works.
        #[arg(long, env = "VOXLINE_CONFIG")]
        config: Option<PathBuf>,
    },
}

pub async fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Create {
            tenant,
            name,
            config,
        } => {
            let db = database(config).await?;
            let tenant_id = api_keys::ensure_tenant(&db, &tenant).await?;
            let key = api_keys::create(&db, tenant_id, &name).await?;
            eprintln!(
                "created key {} for tenant `{tenant}`; it is shown only now:",
                key.id
            );
            println!("{}", key.secret);
        }
    }
    Ok(())
}

/// `voxline migrate`.
pub async fn migrate(config: Option<PathBuf>) -> anyhow::Result<()> {
    database(config).await?;
    eprintln!("the database schema is up to date");
    Ok(())
}

/// The server's database, migrated.
pub(crate) async fn database(config: Option<PathBuf>) -> anyhow::Result<Db> {
    let settings = Settings::load(config.as_deref())?;
    let db = Db::connect(settings.database.url.expose(), 2)?;
    let applied = db.migrate().await?;
    if applied > 0 {
        eprintln!("applied {applied} migration(s)");
    }
    Ok(db)
}
