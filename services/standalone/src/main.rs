#[global_allocator]
static ALLOCATOR: voxline_gateway::Allocator = voxline_gateway::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = voxline_config::load_for(
        "voxline-standalone",
        "All of Voxline in one process: the gateway, every stage worker and the janitor",
    )?;
    let _telemetry = voxline_telemetry::init(&settings, "voxline-standalone");
    voxline_standalone::run(settings).await
}
