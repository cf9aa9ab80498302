#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = voxline_config::load_for(
        "voxline-publisher",
        "Voxline's publish worker: delivers finished languages to folders and webhooks",
    )?;
    voxline_telemetry::init(&settings.telemetry);
    voxline_publisher::run(settings).await
}
