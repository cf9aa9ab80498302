//! The cloud engines against local fake vendors that check every request
//! against the vendor's documentation: what each engine sends and reads,
//! and how the chains ride out vendor faults (429 with Retry-After, 5xx,
//! timeouts, refusals, malformed and cut-off replies, lost or merged
//! translation lines), with every call in the call log. Limits go through
//! the real Redis gate, in a namespace of each test's own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use voxline_config::{
    Capability, DeepgramSettings, ElevenLabsSettings, EngineSettings, OpenAiSettings, Secret,
    VendorLimits, VendorSettings, VendorTable,
};
use voxline_core::{Language, Segment};
use voxline_providers::{CallLog, Engines, ProviderError};
use voxline_testkit::vendors::{FakeDeepgram, FakeElevenLabs, FakeOpenAi, Fault};
use voxline_testkit::{redis_url, sample_clip_saying};
use voxline_vendor_gate::RedisGate;

fn lang(code: &str) -> Language {
    Language::parse(code).unwrap()
}

/// Limits quick enough for tests: short waits, a short timeout.
fn quick() -> VendorLimits {
    VendorLimits {
        timeout_seconds: 2,
        max_concurrency: 4,
        requests_per_minute: 0,
        requests_per_hour: 0,
        max_retries: 2,
        max_retry_wait_seconds: 5,
    }
}

fn openai(fake: &FakeOpenAi) -> VendorSettings {
    VendorSettings::OpenAi(OpenAiSettings {
        base_url: fake.base_url(),
        api_key: Secret::new(voxline_testkit::vendors::openai::KEY),
        limits: quick(),
        ..Default::default()
    })
}

fn deepgram(fake: &FakeDeepgram) -> VendorSettings {
    VendorSettings::Deepgram(DeepgramSettings {
        base_url: fake.base_url(),
        api_key: Secret::new(voxline_testkit::vendors::deepgram::KEY),
        limits: quick(),
        ..Default::default()
    })
}

fn elevenlabs(fake: &FakeElevenLabs, limits: VendorLimits) -> VendorSettings {
    VendorSettings::ElevenLabs(ElevenLabsSettings {
        base_url: fake.base_url(),
        api_key: Secret::new(voxline_testkit::vendors::elevenlabs::KEY),
        voices: [("es".to_owned(), "spanish-voice-id".to_owned())].into(),
        limits,
        ..Default::default()
    })
}

async fn gate(namespace: &str) -> Arc<RedisGate> {
    let client = redis::Client::open(redis_url()).unwrap();
    Arc::new(RedisGate::new(
        client.get_connection_manager().await.unwrap(),
        namespace,
    ))
}

async fn engines(chains: [&[&str]; 3], vendors: VendorTable, namespace: &str) -> Engines {
    let names = |c: &[&str]| c.iter().map(|s| s.to_string()).collect();
    let settings = EngineSettings {
        transcribe: names(chains[0]),
        translate: names(chains[1]),
        synthesize: names(chains[2]),
        ..Default::default()
    };
    Engines::from_settings(&settings, &vendors, gate(namespace).await).unwrap()
}

fn namespace() -> String {
    format!("vendortest-{}", uuid::Uuid::new_v4().simple())
}

fn lines(texts: &[&str]) -> Vec<Segment> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| Segment::new(i as u32 + 1, i as f64, i as f64 + 0.9, *t))
        .collect()
}

/// (engine, unit, ok, calls, units) of every call-log total.
fn totals(log: &CallLog) -> Vec<(String, &'static str, bool, i64, f64)> {
    log.totals()
        .into_iter()
        .map(|t| (t.engine, t.unit, t.ok, t.calls, t.units))
        .collect()
}

#[tokio::test]
async fn openai_engines_send_what_openai_documents_and_read_its_replies() {
    let fake = FakeOpenAi::start().await;
    let e = engines(
        [&["openai"], &["openai"], &["openai"]],
        [("openai".to_owned(), openai(&fake))].into(),
        &namespace(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let clip = sample_clip_saying(dir.path(), Some("Hello there. Welcome to the show.")).unwrap();
    let log = CallLog::default();

    let (t, engine) = e.transcribe(&clip, None, 3.0, &log).await.unwrap();
    assert_eq!((engine.as_str(), t.language.as_str()), ("openai", "en"));
    let texts: Vec<_> = t.segments.iter().map(|s| (s.id, s.text.as_str())).collect();
    assert_eq!(
        texts,
        vec![(1, "Hello there."), (2, "Welcome to the show.")]
    );
    let (t, _) = e
        .transcribe(&clip, Some(&lang("en")), 3.0, &log)
        .await
        .unwrap();
    assert_eq!(t.segments.len(), 2);
    assert_eq!(fake.script.seen()[1].body["language"], "en");

    let (out, _) = e
        .translate(&t.segments, &lang("en"), &lang("ja"), &log)
        .await
        .unwrap();
    assert_eq!(out[1].text, "Welcome to the show. (translated)");
    assert_eq!(
        (out[1].id, out[1].start),
        (t.segments[1].id, t.segments[1].start)
    );

    let wav = dir.path().join("line.wav");
    e.synthesize("Hola.", &lang("es"), None, &wav, &log)
        .await
        .unwrap();
    let seconds = voxline_media::audio::duration(&wav).await.unwrap();
    assert!((0.9..1.2).contains(&seconds), "{seconds}");

    assert_eq!(fake.script.problems(), Vec::<String>::new());
    let t = totals(&log);
    assert!(
        t.contains(&("openai".into(), "audio_seconds", true, 2, 6.0)),
        "{t:?}"
    );
    assert!(
        t.iter().any(|r| r.1 == "tokens" && r.2 && r.4 > 0.0),
        "{t:?}"
    );
    // The translation's 32 characters and the line spoken's 5.
    assert!(
        t.contains(&("openai".into(), "characters", true, 2, 37.0)),
        "{t:?}"
    );
}

#[tokio::test]
async fn lost_or_merged_lines_are_asked_again_then_the_next_engine_translates() {
    let fake = FakeOpenAi::start().await;
    let e = engines(
        [&["pocketsphinx"], &["openai", "apertium"], &["espeak-ng"]],
        [("openai".to_owned(), openai(&fake))].into(),
        &namespace(),
    )
    .await;
    let input = lines(&["I like books.", "Thank you very much."]);
    let log = CallLog::default();

    fake.script.push(Fault::LoseLine);
    let (out, engine) = e
        .translate(&input, &lang("en"), &lang("es"), &log)
        .await
        .unwrap();
    assert_eq!((engine.as_str(), out.len()), ("openai", 2));
    assert_eq!(fake.script.count("/chat/completions"), 2);

    fake.script.push_n(2, Fault::MergeLines);
    let log = CallLog::default();
    let (out, engine) = e
        .translate(&input, &lang("en"), &lang("es"), &log)
        .await
        .unwrap();
    assert_eq!((engine.as_str(), out.len()), ("apertium", 2));
    assert_eq!(fake.script.count("/chat/completions"), 4);
    let t = totals(&log);
    assert_eq!((t[0].0.as_str(), t[0].2), ("openai", false), "{t:?}");
    assert!(t.iter().any(|r| r.0 == "apertium" && r.2), "{t:?}");
    assert!(
        log.totals()[0]
            .error
            .as_deref()
            .unwrap()
            .contains("under their ids")
    );
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_honouring_retry_after() {
    let fake = FakeOpenAi::start().await;
    let e = engines(
        [&["pocketsphinx"], &["openai"], &["espeak-ng"]],
        [("openai".to_owned(), openai(&fake))].into(),
        &namespace(),
    )
    .await;
    let input = lines(&["Hello."]);
    let log = CallLog::default();

    // 429 asking for a second, then 500: the third try answers.
    fake.script.push(Fault::RetryAfter(429, "1"));
    fake.script.push(Fault::Status(500));
    let started = Instant::now();
    e.translate(&input, &lang("en"), &lang("es"), &log)
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let seen = fake.script.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen[1].at - seen[0].at >= Duration::from_millis(990));

    // Down for longer than the retries: transient, so the stage retries later.
    fake.script.push_n(3, Fault::Status(503));
    let err = e
        .translate(&input, &lang("en"), &lang("es"), &log)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        err.to_string().contains("503") && err.to_string().contains("3 tries"),
        "{err}"
    );
    assert_eq!(fake.script.count("/chat/completions"), 6);

    // A Retry-After beyond the longest wait allowed gives up at once.
    fake.script.push(Fault::RetryAfter(429, "120"));
    let started = Instant::now();
    let err = e
        .translate(&input, &lang("en"), &lang("es"), &log)
        .await
        .unwrap_err();
    assert!(
        err.is_transient() && err.to_string().contains("120 s"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(fake.script.count("/chat/completions"), 7);
}

#[tokio::test]
async fn refusals_and_malformed_replies_move_to_the_next_engine_at_once() {
    let fake = FakeOpenAi::start().await;
    let e = engines(
        [
            &["pocketsphinx"],
            &["openai", "apertium"],
            &["openai", "espeak-ng"],
        ],
        [("openai".to_owned(), openai(&fake))].into(),
        &namespace(),
    )
    .await;
    let input = lines(&["Thank you very much."]);
    let log = CallLog::default();

    fake.script.push(Fault::Status(401));
    let (_, engine) = e
        .translate(&input, &lang("en"), &lang("es"), &log)
        .await
        .unwrap();
    assert_eq!(engine, "apertium");
    assert_eq!(
        fake.script.count("/chat/completions"),
        1,
        "a refusal is not retried"
    );
    assert!(
        log.totals()[0]
            .error
            .as_deref()
            .unwrap()
            .contains("API key (401")
    );

    fake.script.push(Fault::Status(422));
    let (_, engine) = e
        .translate(&input, &lang("en"), &lang("es"), &log)
        .await
        .unwrap();
    assert_eq!(engine, "apertium");

    fake.script.push(Fault::Malformed);
    let (_, engine) = e
        .translate(&input, &lang("en"), &lang("es"), &log)
        .await
        .unwrap();
    assert_eq!(engine, "apertium");

    // Speech that is not audio at all: the next engine speaks.
    fake.script.push(Fault::Malformed);
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("line.wav");
    let engine = e
        .synthesize("Gracias.", &lang("es"), None, &wav, &log)
        .await
        .unwrap();
    assert_eq!(engine, "espeak-ng");
    assert!(wav.exists());
    assert_eq!(fake.script.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn slow_and_cut_off_replies_are_retried() {
    let fake = FakeOpenAi::start().await;
    let e = engines(
        [&["pocketsphinx"], &["openai"], &["espeak-ng"]],
        [("openai".to_owned(), openai(&fake))].into(),
        &namespace(),
    )
    .await;
    let input = lines(&["Hello."]);
    let log = CallLog::default();
    fake.script.push(Fault::Slow(Duration::from_secs(4)));
    let (_, engine) = e
        .translate(&input, &lang("en"), &lang("es"), &log)
        .await
        .unwrap();
    assert_eq!(engine, "openai");
    assert_eq!(fake.script.count("/chat/completions"), 2);

    // A reply whose connection closes halfway through its body.
    let cut = cut_off_server().await;
    let vendors: VendorTable = [(
        "cut".to_owned(),
        VendorSettings::OpenAi(OpenAiSettings {
            base_url: format!("http://{cut}/v1"),
            limits: quick(),
            ..Default::default()
        }),
    )]
    .into();
    let e = engines(
        [&["pocketsphinx"], &["cut"], &["espeak-ng"]],
        vendors,
        &namespace(),
    )
    .await;
    let err = e
        .translate(&input, &lang("en"), &lang("es"), &log)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("cut off"), "{err}");
}

/// Answers every request with a Content-Length it never delivers.
async fn cut_off_server() -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{\"choices\":[{\"mess")
                    .await;
            });
        }
    });
    address
}

#[tokio::test]
async fn deepgram_transcribes_utterances_and_speaks_with_aura() {
    let fake = FakeDeepgram::start().await;
    let e = engines(
        [&["deepgram"], &["apertium"], &["deepgram", "espeak-ng"]],
        [("deepgram".to_owned(), deepgram(&fake))].into(),
        &namespace(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let clip = sample_clip_saying(dir.path(), Some("Hello there.")).unwrap();
    let log = CallLog::default();
    let (t, engine) = e.transcribe(&clip, None, 3.0, &log).await.unwrap();
    assert_eq!(
        (engine.as_str(), t.language.as_str(), t.segments.len()),
        ("deepgram", "en", 2)
    );
    let (t, _) = e
        .transcribe(&clip, Some(&lang("es")), 3.0, &log)
        .await
        .unwrap();
    assert_eq!(t.language, "es");

    let wav = dir.path().join("line.wav");
    assert_eq!(
        e.synthesize("Hola.", &lang("es"), None, &wav, &log)
            .await
            .unwrap(),
        "deepgram"
    );
    let speak = fake
        .script
        .seen()
        .into_iter()
        .find(|s| s.path == "/v1/speak")
        .unwrap();
    assert_eq!(speak.body["model"], "aura-2-celeste-es");
    // No voice for German: the next engine speaks it.
    assert_eq!(
        e.synthesize("Hallo.", &lang("de"), None, &wav, &log)
            .await
            .unwrap(),
        "espeak-ng"
    );
    assert_eq!(fake.script.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn deepgram_and_elevenlabs_ride_out_faults_and_hand_over_on_odd_replies() {
    let (dg, el) = (FakeDeepgram::start().await, FakeElevenLabs::start().await);
    let e = engines(
        [
            &["deepgram", "pocketsphinx"],
            &["apertium"],
            &["elevenlabs", "deepgram", "espeak-ng"],
        ],
        [
            ("deepgram".to_owned(), deepgram(&dg)),
            ("elevenlabs".to_owned(), elevenlabs(&el, quick())),
        ]
        .into(),
        &namespace(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let clip = sample_clip_saying(dir.path(), Some("Hello there.")).unwrap();
    let en = lang("en");
    let log = CallLog::default();

    // 429 with Retry-After, then an answer.
    dg.script
        .push_for("/v1/listen", Fault::RetryAfter(429, "1"));
    let started = Instant::now();
    let (_, engine) = e.transcribe(&clip, Some(&en), 3.0, &log).await.unwrap();
    assert_eq!(engine, "deepgram");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(dg.script.count("/v1/listen"), 2);

    // JSON without utterances, then a cut-off body: not silence, not a
    // crash; the next engine transcribes.
    for fault in [Fault::WrongShape, Fault::Malformed] {
        dg.script.push_for("/v1/listen", fault);
        let (_, engine) = e.transcribe(&clip, Some(&en), 3.0, &log).await.unwrap();
        assert_eq!(engine, "pocketsphinx");
    }
    let failed: Vec<_> = log
        .totals()
        .into_iter()
        .filter(|t| t.engine == "deepgram" && !t.ok)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].calls, 2);
    assert!(
        failed[0].error.as_deref().unwrap().contains("cannot read"),
        "{failed:?}"
    );

    // ElevenLabs down past its retries, then answering JSON instead of
    // audio: Deepgram speaks; Deepgram's 500s then hand over to espeak-ng.
    let es = lang("es");
    let wav = dir.path().join("line.wav");
    el.script.push_n(3, Fault::Status(503));
    assert_eq!(
        e.synthesize("Hola.", &es, None, &wav, &log).await.unwrap(),
        "deepgram"
    );
    el.script.push(Fault::WrongShape);
    assert_eq!(
        e.synthesize("Hola.", &es, None, &wav, &log).await.unwrap(),
        "deepgram"
    );
    el.script.push_n(3, Fault::Status(500));
    dg.script.push_n(3, Fault::Status(500));
    let engine = e.synthesize("Hola.", &es, None, &wav, &log).await.unwrap();
    assert_eq!(engine, "espeak-ng");
    assert!(voxline_media::audio::read_wav_samples(&wav).unwrap().len() > 4_000);
    assert_eq!(dg.script.problems(), Vec::<String>::new());
    assert_eq!(el.script.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn elevenlabs_speaks_with_the_configured_model_voice_and_settings() {
    let fake = FakeElevenLabs::start().await;
    let e = engines(
        [&["pocketsphinx"], &["apertium"], &["elevenlabs"]],
        [("elevenlabs".to_owned(), elevenlabs(&fake, quick()))].into(),
        &namespace(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("line.wav");
    let log = CallLog::default();
    e.synthesize("Hola a todos.", &lang("es"), None, &wav, &log)
        .await
        .unwrap();
    e.synthesize("Bonjour.", &lang("fr"), None, &wav, &log)
        .await
        .unwrap();
    let seen = fake.script.seen();
    assert_eq!(seen[0].body["voice"], "spanish-voice-id");
    assert_eq!(seen[1].body["voice"], "21m00Tcm4TlvDq8ikWAM");
    let body = &seen[0].body["body"];
    assert_eq!(body["model_id"], "eleven_flash_v2_5");
    assert_eq!(body["language_code"], "es");
    assert_eq!(body["voice_settings"]["stability"], 0.57);
    assert_eq!(body["voice_settings"]["similarity_boost"], 0.75);
    assert_eq!(body["voice_settings"]["style"], 0.22);
    assert_eq!(body["voice_settings"]["use_speaker_boost"], true);
    let samples = voxline_media::audio::read_wav_samples(&wav).unwrap();
    assert!(samples.len() > 40_000, "a second of speech at 48 kHz");
    assert_eq!(
        totals(&log)[0],
        ("elevenlabs".into(), "characters", true, 2, 21.0)
    );
    assert_eq!(fake.script.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn the_concurrency_cap_and_request_rate_hold_across_replicas() {
    let fake = FakeElevenLabs::start().await;
    let ns = namespace();
    let capped = VendorLimits {
        max_concurrency: 1,
        timeout_seconds: 10,
        ..quick()
    };
    let vendors: VendorTable =
        [("elevenlabs".to_owned(), elevenlabs(&fake, capped.clone()))].into();
    // Two "replicas": separate engines and Redis connections, one namespace.
    let a = engines(
        [&["pocketsphinx"], &["apertium"], &["elevenlabs"]],
        vendors.clone(),
        &ns,
    )
    .await;
    let b = engines(
        [&["pocketsphinx"], &["apertium"], &["elevenlabs"]],
        vendors,
        &ns,
    )
    .await;
    fake.script
        .push_n(4, Fault::Slow(Duration::from_millis(400)));
    let dir = tempfile::tempdir().unwrap();
    let log = CallLog::default();
    let speak = |e: &'static Engines, i: usize| {
        let (wav, log) = (dir.path().join(format!("{i}.wav")), log.clone());
        async move { e.synthesize("Hola.", &lang("es"), None, &wav, &log).await }
    };
    let (a, b): (&'static Engines, &'static Engines) =
        (Box::leak(Box::new(a)), Box::leak(Box::new(b)));
    let results =
        futures::future::join_all([speak(a, 0), speak(b, 1), speak(a, 2), speak(b, 3)]).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let mut at: Vec<Instant> = fake.script.seen().iter().map(|s| s.at).collect();
    at.sort();
    for pair in at.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(380),
            "one at a time: {:?}",
            pair[1] - pair[0]
        );
    }

    // 120 a minute: one every half second, whichever replica asks.
    let rated = VendorLimits {
        requests_per_minute: 120,
        max_concurrency: 0,
        ..quick()
    };
    let ns = namespace();
    let vendors: VendorTable = [("elevenlabs".to_owned(), elevenlabs(&fake, rated))].into();
    let a: &'static Engines = Box::leak(Box::new(
        engines(
            [&["pocketsphinx"], &["apertium"], &["elevenlabs"]],
            vendors.clone(),
            &ns,
        )
        .await,
    ));
    let b: &'static Engines = Box::leak(Box::new(
        engines(
            [&["pocketsphinx"], &["apertium"], &["elevenlabs"]],
            vendors,
            &ns,
        )
        .await,
    ));
    let before = fake.script.seen().len();
    let started = Instant::now();
    let results =
        futures::future::join_all([speak(a, 4), speak(b, 5), speak(a, 6), speak(b, 7)]).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(fake.script.seen().len(), before + 4);
    assert!(
        started.elapsed() >= Duration::from_millis(1450),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_vendor_that_serves_no_language_asked_is_skipped() {
    let fake = FakeOpenAi::start().await;
    let groq = VendorSettings::OpenAi(OpenAiSettings {
        base_url: fake.base_url(),
        languages: vec!["en".into(), "de".into()],
        capabilities: vec![Capability::Translate],
        limits: quick(),
        ..Default::default()
    });
    let e = engines(
        [&["pocketsphinx"], &["groq", "apertium"], &["espeak-ng"]],
        [("groq".to_owned(), groq)].into(),
        &namespace(),
    )
    .await;
    let log = CallLog::default();
    let (_, engine) = e
        .translate(&lines(&["Hello."]), &lang("en"), &lang("es"), &log)
        .await
        .unwrap();
    assert_eq!(engine, "apertium");
    assert_eq!(fake.script.seen().len(), 0);
    assert_eq!(log.totals().len(), 1);
    let err: ProviderError = e
        .translate(&lines(&["Hello."]), &lang("ja"), &lang("es"), &log)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no configured engine"), "{err}");
}
