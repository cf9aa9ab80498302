#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = voxline_config::load_for(
        "voxline-translator",
        "Voxline's translation worker: pulls the translate queue and writes translations",
    )?;
    let _telemetry = voxline_telemetry::init(&settings, "voxline-translator");
    voxline_translator::run(settings).await
}
