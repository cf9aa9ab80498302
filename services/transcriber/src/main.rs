#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = voxline_config::load_for(
        "voxline-transcriber",
        "Voxline's transcription worker: pulls the transcribe queue and writes transcripts",
    )?;
    voxline_telemetry::init(&settings.telemetry);
    voxline_transcriber::run(settings).await
}
