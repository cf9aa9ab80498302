#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = voxline_config::load_for(
        "voxline-publisher",
        "Voxline's publish worker: delivers finished languages to folders and webhooks",
    )?;
    let _telemetry = voxline_telemetry::init(&settings, "voxline-publisher");
    voxline_publisher::run(settings).await
}
