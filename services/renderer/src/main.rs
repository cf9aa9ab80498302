#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = voxline_config::load_for(
        "voxline-renderer",
        "Voxline's render worker: pulls the render queue, mixes dubbed audio and muxes media with subtitles",
    )?;
    let _telemetry = voxline_telemetry::init(&settings, "voxline-renderer");
    voxline_renderer::run(settings).await
}
