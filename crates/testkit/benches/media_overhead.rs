//! What Voxline's machinery costs on real media (issue #8): the wall time
//! to dub a clip of about a minute into Spanish with the default offline
//! engines (pocketsphinx, apertium, espeak-ng, ffmpeg), the whole system in
//! this process (gateway, workers, PostgreSQL, Redis, local storage), against
//! the floor: the same engines and commands chained by a shell script with
//! files in a temp dir (`bench/floor/dub.sh`, which lists what it leaves
//! out). Reports the medians and minima, the overhead ratio, the real-time
//! factor of each, and where the time goes stage by stage; figures to
//! target/bench/media.json, the last dubs to target/bench/media/.
//!
//! `cargo bench -p voxline-testkit --bench media_overhead`.
//! `VOXLINE_BENCH_RUNS=N` measured runs of each (3), `VOXLINE_BENCH_WARMUP=0`
//! skips the untimed first run of each.

// The system runs in this process: with the allocator it ships with.
#[global_allocator]
static ALLOCATOR: voxline_gateway::Allocator = voxline_gateway::Allocator;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use voxline_testkit::{TestEnv, TestSystem, ffprobe_json, sample_clip_saying, spawn_system};

/// Short common sentences at the sample clip's slow rate: about 60 s.
const NARRATION: &str = "Welcome to the show. Today we talk about music. I like to read books. \
Thank you very much. My friend has a small dog. We walk in the park every day. The weather is \
good this morning. I drink coffee with milk. She works in a big city. He plays the guitar at \
night. The children go to school by bus. We eat dinner at home. I want to learn a new language. \
The house has a red door. They watch a movie on Sunday. My mother makes good bread. The train \
leaves at nine. I like the sea in summer. Good night and see you soon.";

const STAGES: &[&str] = &["transcribe", "translate", "synthesize", "render"];

/// CPU seconds used so far: by this process and its reaped children (the
/// engines, the floor script), and by the whole machine (PostgreSQL, Redis
/// and whatever else runs meanwhile too).
#[derive(Clone, Copy)]
struct Cpu {
    tree: f64,
    machine: f64,
    /// Time the hypervisor gave this machine's CPUs to others.
    steal: f64,
}

impl Cpu {
    fn now() -> Self {
        // Clock ticks of 1/100 s (USER_HZ).
        let ticks = |fields: &[&str]| {
            fields
                .iter()
                .filter_map(|f| f.parse::<f64>().ok())
                .sum::<f64>()
                / 100.0
        };
        let own = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the command's closing parenthesis; utime is the 14th field.
        let after = own.rsplit_once(')').map_or("", |(_, rest)| rest);
        let f: Vec<&str> = after.split_whitespace().collect();
        let tree = f.get(11..15).map_or(0.0, ticks);
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let cpu: Vec<&str> = stat
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .collect();
        // Everything but idle and iowait (guest time is already in user).
        let machine = cpu.get(0..3).map_or(0.0, ticks) + cpu.get(5..7).map_or(0.0, ticks);
        let steal = cpu.get(7..8).map_or(0.0, ticks);
        Self {
            tree,
            machine,
            steal,
        }
    }

    fn cells(&self) -> String {
        format!("{:.1} / {:.1} / {:.1}", self.tree, self.machine, self.steal)
    }

    fn since(self, start: Cpu) -> Cpu {
        Cpu {
            tree: self.tree - start.tree,
            machine: self.machine - start.machine,
            steal: self.steal - start.steal,
        }
    }
}

/// One Voxline dub, timed from the client and from the job's own clock.
struct Voxline {
    /// Upload start to the job seen completed (polled every 100 ms).
    wall: f64,
    /// POST /v1/jobs answered to the job seen completed.
    created_client: f64,
    /// The job's `created_at` to its `finished_at`.
    created_server: f64,
    /// Seconds each stage's run took (started_at to finished_at).
    stages: Vec<(String, f64)>,
    cpu: Cpu,
    view: Value,
}

/// One run of the floor script.
struct Floor {
    wall: f64,
    /// The script's times.tsv: seconds per step, then the fit's figures.
    figures: Vec<(String, f64)>,
    cpu: Cpu,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn seconds(view: &Value, from: &str, to: &str) -> Option<f64> {
    let at = |k: &str| chrono::DateTime::parse_from_rfc3339(view[k].as_str()?).ok();
    Some((at(to)? - at(from)?).num_microseconds()? as f64 / 1e6)
}

async fn dub_with_voxline(sys: &TestSystem, clip: &Path) -> anyhow::Result<Voxline> {
    let cpu = Cpu::now();
    let started = Instant::now();
    let job = sys.dub(clip, &["es"]).await?;
    let created = Instant::now();
    let id = job["id"].as_str().unwrap_or_default().to_owned();
    let deadline = created + Duration::from_secs(900);
    let view = loop {
        let (_, view) = sys.get(&format!("/v1/jobs/{id}")).await?;
        match view["status"].as_str() {
            Some("completed") => break view,
            Some("failed" | "cancelled") => anyhow::bail!("job {id} ended: {view:#}"),
            _ => {}
        }
        anyhow::ensure!(Instant::now() < deadline, "job {id} did not end: {view}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let done = Instant::now();
    let cpu = Cpu::now().since(cpu);
    let stages = view["tasks"][0]["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            Some((
                s["stage"].as_str()?.to_owned(),
                seconds(s, "started_at", "finished_at")?,
            ))
        })
        .collect();
    Ok(Voxline {
        wall: (done - started).as_secs_f64(),
        created_client: (done - created).as_secs_f64(),
        created_server: seconds(&view, "created_at", "finished_at").unwrap_or(f64::NAN),
        stages,
        cpu,
        view,
    })
}

async fn dub_with_floor(clip: &Path, out: &Path) -> anyhow::Result<Floor> {
    let _ = std::fs::remove_dir_all(out);
    let cpu = Cpu::now();
    let started = Instant::now();
    let status = tokio::process::Command::new("bash")
        .arg(root().join("bench/floor/dub.sh"))
        .arg(clip)
        .arg(out)
        .stdout(std::process::Stdio::null())
        .status()
        .await?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = Cpu::now().since(cpu);
    anyhow::ensure!(status.success(), "bench/floor/dub.sh failed: {status}");
    let figures = std::fs::read_to_string(out.join("times.tsv"))?
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('\t')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect();
    Ok(Floor { wall, figures, cpu })
}

/// Checks a dub as a user would: a Spanish AAC track first, as long as the clip.
fn check_dub(path: &Path, clip_seconds: f64) -> anyhow::Result<()> {
    let probe = ffprobe_json(path)?;
    let first_audio = probe["streams"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["codec_type"] == "audio"))
        .cloned()
        .unwrap_or_default();
    anyhow::ensure!(
        first_audio["codec_name"] == "aac" && first_audio["tags"]["language"] == "spa",
        "{}: no Spanish AAC track first: {probe}",
        path.display()
    );
    let length: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap_or("0")
        .parse()?;
    anyhow::ensure!(
        (length - clip_seconds).abs() < 0.2,
        "{} lasts {length} s, the clip {clip_seconds} s",
        path.display()
    );
    Ok(())
}

/// The MD5 of a dub's first audio track, decoded: the same for two dubs
/// when both made the same soundtrack.
fn audio_md5(path: &Path) -> anyhow::Result<String> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-f", "md5", "-"])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "ffmpeg could not decode {}",
        path.display()
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Downloads one of a task's artifacts.
async fn artifact(view: &Value, kind: &str, to: &Path) -> anyhow::Result<()> {
    let url = view["tasks"][0]["artifacts"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["kind"] == kind))
        .and_then(|a| a["download_url"].as_str())
        .ok_or_else(|| anyhow::anyhow!("no {kind} artifact"))?;
    std::fs::write(
        to,
        reqwest::get(url).await?.error_for_status()?.bytes().await?,
    )?;
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs = env_number("VOXLINE_BENCH_RUNS", 3).max(1);
    let warmup = env_number("VOXLINE_BENCH_WARMUP", 1) > 0;
    let sys = spawn_system(TestEnv::new().await?).await?;
    let media = sys.env.path("media");
    let clip = sample_clip_saying(&media, Some(NARRATION))?;
    let probe = ffprobe_json(&clip)?;
    let clip_seconds: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap_or("0")
        .parse()?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load_before = load_average();
    println!(
        "clip: {clip_seconds:.2} s, {} words, {:.1} MB; {cores} cores, load average {load_before}",
        NARRATION.split_whitespace().count(),
        std::fs::metadata(&clip)?.len() as f64 / 1e6
    );
    let keep = root().join("target/bench/media");
    std::fs::create_dir_all(keep.join("voxline"))?;
    let floor_out = keep.join("floor");

    if warmup {
        let f = dub_with_floor(&clip, &floor_out).await?;
        check_dub(&floor_out.join("dub.mp4"), clip_seconds)?;
        let v = dub_with_voxline(&sys, &clip).await?;
        println!(
            "warm-up (untimed): floor {:.1} s, Voxline {:.1} s",
            f.wall, v.wall
        );
    }
    // Interleaved, so a change in the machine's load hits both alike.
    let (mut ours, mut floors) = (Vec::new(), Vec::new());
    for i in 1..=runs {
        let v = dub_with_voxline(&sys, &clip).await?;
        let f = dub_with_floor(&clip, &floor_out).await?;
        println!(
            "run {i}: Voxline {:.2} s, floor {:.2} s; CPU s (this tree / machine / stolen): Voxline {}, floor {}",
            v.wall,
            f.wall,
            v.cpu.cells(),
            f.cpu.cells()
        );
        ours.push(v);
        floors.push(f);
    }
    let load_after = load_average();

    // The last dubs, checked and kept; Voxline's subtitles against the
    // floor's. The floor gives each line one cue; Voxline shapes lines
    // into cues to the norms (split, wrapped, timed to be read), so the
    // two must say the same words, not in the same cues.
    let last = &ours.last().expect("a run").view;
    let voxline_dub = keep.join("voxline/dub.mp4");
    artifact(last, "dub", &voxline_dub).await?;
    artifact(last, "subtitles_srt", &keep.join("voxline/subtitles.srt")).await?;
    check_dub(&voxline_dub, clip_seconds)?;
    check_dub(&floor_out.join("dub.mp4"), clip_seconds)?;
    let (voxline_words, voxline_cues) = subtitle_words(&keep.join("voxline/subtitles.srt"))?;
    let (floor_words, floor_cues) = subtitle_words(&floor_out.join("subtitles.srt"))?;
    let same_subtitles = voxline_words == floor_words;
    let same_audio = audio_md5(&voxline_dub)? == audio_md5(&floor_out.join("dub.mp4"))?;

    let walls = |w: &[f64]| (median(w), min(w));
    let ours_wall: Vec<f64> = ours.iter().map(|r| r.wall).collect();
    let floor_wall: Vec<f64> = floors.iter().map(|r| r.wall).collect();
    let (om, on) = walls(&ours_wall);
    let (fm, fnn) = walls(&floor_wall);
    println!();
    println!(
        "| clip (s) | Voxline wall, median / min (s) | floor wall, median / min (s) | overhead (Voxline / floor) | real-time factor, Voxline | real-time factor, floor |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| {clip_seconds:.1} | {om:.2} / {on:.2} | {fm:.2} / {fnn:.2} | {:.2}× (min / min {:.2}×) | {:.3} | {:.3} |",
        om / fm,
        on / fnn,
        om / clip_seconds,
        fm / clip_seconds
    );

    // Where the time goes (medians over the measured runs).
    let stage = |r: &Voxline, name: &str| {
        r.stages
            .iter()
            .filter(|(s, _)| s == name)
            .map(|(_, t)| t)
            .sum::<f64>()
    };
    let step = |r: &Floor, name: &str| {
        r.figures
            .iter()
            .find(|(s, _)| s == name)
            .map_or(0.0, |(_, t)| *t)
    };
    let upload: Vec<f64> = ours.iter().map(|r| r.wall - r.created_client).collect();
    let server: Vec<f64> = ours.iter().map(|r| r.created_server).collect();
    let client: Vec<f64> = ours.iter().map(|r| r.created_client).collect();
    let gaps: Vec<f64> = ours
        .iter()
        .map(|r| r.created_server - r.stages.iter().map(|(_, t)| t).sum::<f64>())
        .collect();
    println!();
    println!("| part | Voxline (s) | floor (s) |");
    println!("|---|---|---|");
    println!(
        "| upload and job creation | {:.2} | {:.2} (ffprobe) |",
        median(&upload),
        median(&floors.iter().map(|r| step(r, "probe")).collect::<Vec<_>>())
    );
    let mut stage_medians = serde_json::Map::new();
    for name in STAGES {
        let v = median(&ours.iter().map(|r| stage(r, name)).collect::<Vec<_>>());
        let f = median(&floors.iter().map(|r| step(r, name)).collect::<Vec<_>>());
        println!("| {name} | {v:.2} | {f:.2} |");
        stage_medians.insert((*name).into(), json!({"voxline": v, "floor": f}));
    }
    println!(
        "| between stages (queue pick-up, commits) | {:.2} | 0 |",
        median(&gaps)
    );
    let cpu_of = |v: &[Cpu], pick: fn(&Cpu) -> f64| median(&v.iter().map(pick).collect::<Vec<_>>());
    let our_cpu: Vec<Cpu> = ours.iter().map(|r| r.cpu).collect();
    let floor_cpu: Vec<Cpu> = floors.iter().map(|r| r.cpu).collect();
    println!(
        "| CPU: this process tree / machine-wide / stolen | {:.1} / {:.1} / {:.1} | {:.1} / {:.1} / {:.1} |",
        cpu_of(&our_cpu, |c| c.tree),
        cpu_of(&our_cpu, |c| c.machine),
        cpu_of(&our_cpu, |c| c.steal),
        cpu_of(&floor_cpu, |c| c.tree),
        cpu_of(&floor_cpu, |c| c.machine),
        cpu_of(&floor_cpu, |c| c.steal)
    );
    println!(
        "| job created → completed: server clock / client | {:.2} / {:.2} | |",
        median(&server),
        median(&client)
    );
    let stretch = &last["tasks"][0]["stats"]["stretch"];
    let floor_last = floors.last().expect("a run");
    println!();
    println!(
        "lines dubbed: Voxline {}, floor {}; fastest tempo: Voxline {:.3}, floor {:.3}; subtitles' words {} (cues: Voxline {voxline_cues}, floor {floor_cues}); Spanish audio, decoded, {}",
        stretch["lines"],
        step(floor_last, "lines"),
        stretch["max_tempo"].as_f64().unwrap_or(f64::NAN),
        step(floor_last, "max_tempo"),
        if same_subtitles {
            "identical"
        } else {
            "differ"
        },
        if same_audio { "identical" } else { "differs" }
    );
    println!("load average before {load_before}, after {load_after}");

    let figures = json!({
        "clip_seconds": clip_seconds,
        "narration_words": NARRATION.split_whitespace().count(),
        "runs": runs,
        "warmup": warmup,
        "cores": cores,
        "load_average": {"before": load_before, "after": load_after},
        "voxline": {
            "wall_s": ours_wall,
            "wall_median_s": om,
            "wall_min_s": on,
            "created_to_completed_server_s": server,
            "created_to_completed_client_s": client,
            "upload_and_creation_s": upload,
            "between_stages_s": gaps,
            "stage_runs_s": ours
                .iter()
                .map(|r| r.stages.iter().map(|(s, t)| json!({"stage": s, "seconds": t})).collect::<Vec<_>>())
                .collect::<Vec<_>>(),
            "real_time_factor": om / clip_seconds,
            "cpu_tree_s": our_cpu.iter().map(|c| c.tree).collect::<Vec<_>>(),
            "cpu_machine_s": our_cpu.iter().map(|c| c.machine).collect::<Vec<_>>(),
            "cpu_stolen_s": our_cpu.iter().map(|c| c.steal).collect::<Vec<_>>(),
            "stretch": stretch,
        },
        "floor": {
            "wall_s": floor_wall,
            "wall_median_s": fm,
            "wall_min_s": fnn,
            "real_time_factor": fm / clip_seconds,
            "lines": step(floor_last, "lines"),
            "max_tempo": step(floor_last, "max_tempo"),
            "cpu_tree_s": floor_cpu.iter().map(|c| c.tree).collect::<Vec<_>>(),
            "cpu_machine_s": floor_cpu.iter().map(|c| c.machine).collect::<Vec<_>>(),
            "cpu_stolen_s": floor_cpu.iter().map(|c| c.steal).collect::<Vec<_>>(),
        },
        "stages_median_s": stage_medians,
        "overhead_ratio_median": om / fm,
        "overhead_ratio_min": on / fnn,
        "same_subtitles": same_subtitles,
        "same_dub_audio": same_audio,
    });
    let out = root().join("target/bench/media.json");
    std::fs::write(&out, serde_json::to_string_pretty(&figures)?)?;
    println!("figures: target/bench/media.json; the last dubs: target/bench/media/");
    sys.stop().await
}

/// The words an SRT file shows, in order, and its number of cues.
fn subtitle_words(path: &Path) -> anyhow::Result<(Vec<String>, usize)> {
    let cues = voxline_media::subtitles::parse_srt(&std::fs::read_to_string(path)?)?;
    let words = cues
        .iter()
        .flat_map(|c| c.text.split_whitespace().map(str::to_owned))
        .collect();
    Ok((words, cues.len()))
}
