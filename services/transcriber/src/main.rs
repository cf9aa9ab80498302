#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = voxline_config::load_for(
        "voxline-transcriber",
        "Voxline's transcription worker: pulls the transcribe queue and writes transcripts",
    )?;
    let _telemetry = voxline_telemetry::init(&settings, "voxline-transcriber");
    voxline_transcriber::run(settings).await
}
