use clap::Subcommand;

use crate::api::Client;

#[derive(Subcommand)]
pub enum JobsCommand {
    /// The newest jobs, one a line.
    List {
        /// Only jobs in this state (queued, running, completed, failed, cancelled).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One job in full, as JSON.
    Get { id: String },
    /// Cancel a running job.
    Cancel { id: String },
}

pub async fn run(client: &Client, cmd: JobsCommand) -> anyhow::Result<()> {
    match cmd {
        JobsCommand::List { status, limit } => {
            let mut path = format!("/v1/jobs?limit={limit}");
            if let Some(s) = status {
                path.push_str(&format!("&status={s}"));
            }
            let page = client.get(&path).await?;
            for j in page["jobs"].as_array().into_iter().flatten() {
                println!(
                    "{}  {:<10} {:<10} {} -> {}  {}",
                    j["id"].as_str().unwrap_or(""),
                    j["kind"].as_str().unwrap_or(""),
                    j["status"].as_str().unwrap_or(""),
                    j["source_language"].as_str().unwrap_or(""),
                    j["target_languages"]
                        .as_array()
                        .map(|a| a
                            .iter()
                            .filter_map(|l| l.as_str())
                            .collect::<Vec<_>>()
                            .join(","))
                        .unwrap_or_default(),
                    j["created_at"].as_str().unwrap_or(""),
                );
            }
        }
        JobsCommand::Get { id } => println!(
            "{}",
            serde_json::to_string_pretty(&client.get(&format!("/v1/jobs/{id}")).await?)?
        ),
        JobsCommand::Cancel { id } => {
            let job = client
                .post(
                    &format!("/v1/jobs/{id}/cancel"),
                    &serde_json::json!({}),
                    None,
                )
                .await?;
            println!("job {} is {}", id, job["status"].as_str().unwrap_or("?"));
        }
    }
    Ok(())
}
