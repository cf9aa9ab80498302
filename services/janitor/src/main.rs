#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = voxline_config::load_for(
        "voxline-janitor",
        "Voxline's janitor: re-dispatches lost work, expires leases, deletes expired artifacts",
    )?;
    voxline_telemetry::init(&settings.telemetry);
    voxline_janitor::run(settings).await
}
