#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = voxline_config::load_for(
        "voxline-janitor",
        "Voxline's janitor: re-dispatches lost work, expires leases, deletes expired artifacts",
    )?;
    let _telemetry = voxline_telemetry::init(&settings, "voxline-janitor");
    voxline_janitor::run(settings).await
}
