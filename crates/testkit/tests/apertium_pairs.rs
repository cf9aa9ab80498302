//! The apertium pairs `scripts/setup.sh` installs, through the translate
//! chain: Spanish, Catalan and Galician sources come out in English (and
//! English goes into each), every line under its own id; French, Italian
//! and Portuguese are reached from English through Spanish.

use std::sync::Arc;

use voxline_config::EngineSettings;
use voxline_core::{Language, Segment};
use voxline_providers::{CallLog, Engines, Unlimited};

fn line(id: u32, text: &str) -> Segment {
    Segment::new(id, id as f64, id as f64 + 0.9, text)
}

/// The default chain: apertium alone.
fn engines() -> Engines {
    Engines::from_settings(
        &EngineSettings::default(),
        &Default::default(),
        Arc::new(Unlimited),
    )
    .unwrap()
}

#[tokio::test]
async fn spanish_catalan_and_galician_sources_are_translated_to_english() {
    let engines = engines();
    let en = Language::parse("en").unwrap();
    let log = CallLog::default();
    for (code, lines) in [
        ("es", ["Buenos días a todos.", "Hoy hablamos de música."]),
        ("ca", ["Bon dia a tots.", "Avui parlem de música."]),
        ("gl", ["Bos días a todos.", "Hoxe falamos de música."]),
    ] {
        let from = Language::parse(code).unwrap();
        let input = [line(1, lines[0]), line(2, lines[1])];
        let (out, engine) = engines.translate(&input, &from, &en, &log).await.unwrap();
        assert_eq!(engine, "apertium");
        assert_eq!(out.iter().map(|s| s.id).collect::<Vec<_>>(), [1, 2]);
        let english = format!("{} {}", out[0].text, out[1].text).to_lowercase();
        assert!(
            english.contains("morning") && english.contains("music"),
            "{code}: {english}"
        );
        // And back the other way.
        let (back, _) = engines.translate(&out, &en, &from, &log).await.unwrap();
        assert_eq!(back.len(), 2, "{code}");
    }
}

/// French, Italian and Portuguese have no apertium pair with English:
/// they are reached through Spanish, every line kept under its own id.
#[tokio::test]
async fn french_italian_and_portuguese_are_reached_through_spanish() {
    let engines = engines();
    let en = Language::parse("en").unwrap();
    let log = CallLog::default();
    let input = [
        line(1, "Good morning to everybody."),
        line(2, "I like to read books."),
    ];
    for (code, morning, books) in [
        ("fr", "bonjour", "livres"),
        ("it", "buongiorno", "libri"),
        ("pt", "dias", "livros"),
    ] {
        let to = Language::parse(code).unwrap();
        let (out, engine) = engines.translate(&input, &en, &to, &log).await.unwrap();
        assert_eq!(engine, "apertium");
        assert_eq!(out.iter().map(|s| s.id).collect::<Vec<_>>(), [1, 2]);
        let text = format!("{} | {}", out[0].text, out[1].text).to_lowercase();
        assert!(
            text.contains(morning) && text.contains(books),
            "{code}: {text}"
        );
        assert!(
            !text.contains('*') && !text.contains('#'),
            "unknown words unmarked: {text}"
        );
    }
}
