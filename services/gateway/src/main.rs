#[global_allocator]
static ALLOCATOR: voxline_gateway::Allocator = voxline_gateway::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = voxline_config::load_for(
        "voxline-gateway",
        "Voxline's REST gateway: uploads, jobs, progress and downloads",
    )?;
    let _telemetry = voxline_telemetry::init(&settings, "voxline-gateway");
    voxline_gateway::run(settings).await
}
