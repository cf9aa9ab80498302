#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = voxline_config::load_for(
        "voxline-synthesizer",
        "Voxline's speech synthesis worker: pulls the synthesize queue and speaks translated lines",
    )?;
    let _telemetry = voxline_telemetry::init(&settings, "voxline-synthesizer");
    voxline_synthesizer::run(settings).await
}
