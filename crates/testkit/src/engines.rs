//! The offline engines `make demo` runs, found where `scripts/setup.sh`
//! installs them by absolute path (tests and benchmarks run in their
//! crate's folder, where the settings' relative defaults do not lead).

use voxline_config::EngineSettings;

use crate::media::installed;

/// `e` set to the demo's chains: whisper base (pocketsphinx after it),
/// Bergamot then apertium, Piper then Kokoro then espeak-ng.
pub fn demo_engines(e: &mut EngineSettings) {
    e.transcribe = vec!["whisper".into(), "pocketsphinx".into()];
    e.translate = vec!["bergamot".into(), "apertium".into()];
    e.synthesize = vec!["piper".into(), "kokoro".into(), "espeak-ng".into()];
    installed_engines(e);
}

/// Every installed model and program of `e` by its absolute path, the
/// chains left as they are.
pub fn installed_engines(e: &mut EngineSettings) {
    let at = |path: &std::path::Path| installed(path.to_str().expect("a UTF-8 path"));
    e.whisper_model = at(&e.whisper_model);
    e.piper_binary = at(&e.piper_binary);
    e.piper_voices = e
        .piper_voices
        .iter()
        .map(|(code, voice)| (code.clone(), at(voice)))
        .collect();
    e.kokoro_model = at(&e.kokoro_model);
    e.kokoro_voices_dir = at(&e.kokoro_voices_dir);
    e.onnxruntime_library = at(&e.onnxruntime_library);
    e.bergamot_models = at(&e.bergamot_models);
    analysis_installed(e);
}

/// What the transcription stage runs besides recognition, by absolute
/// path: the speaker encoder (and the ONNX Runtime it runs on) and the
/// Python environment that separates voice from background.
pub fn analysis_installed(e: &mut EngineSettings) {
    let at = |path: &std::path::Path| installed(path.to_str().expect("a UTF-8 path"));
    e.speaker_model = at(&e.speaker_model);
    e.onnxruntime_library = at(&e.onnxruntime_library);
    e.separation_python = at(&e.separation_python);
}
