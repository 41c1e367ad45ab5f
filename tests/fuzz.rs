//! Mutation fuzzing on stable Rust: small seed files of each container the tests make (MP4, MKV,
//! WebM, MPEG-TS, AVI), an HLS playlist, and the model's manifest and weights, damaged by bit
//! flips, byte runs, truncation and duplicated or swapped chunks. Every case must end in playback
//! or one clear line naming the input: no panic, no hang, no pipeline thread left.
//!
//! The cases run in child processes (this binary again, with `--child`), many per child so FFmpeg
//! and the model start once; the parent gives each case 10 s and restarts a child that panics,
//! aborts or hangs from the case after. The mutations follow from the seed and the case number
//! alone, so a failure is replayed with `DYSR_FUZZ_SEED=S DYSR_FUZZ_ONLY=KIND:CASE`, and the
//! damaged file is kept in `$CARGO_TARGET_DIR/fuzz-failures/` to become a regression case in
//! `tests/fuzz-regressions/` (each of those is played by `make test` too).
//!
//! `make test` runs a fixed number of cases with seed 1; `make fuzz` runs many more
//! (`DYSR_FUZZ_CASES`, `DYSR_FUZZ_SEED`).

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use common::{generated, media_dir, path_str};
use dysr::media::PipelineEvent;
use dysr::player::presenter::StreamState;
use dysr::player::{AudioMode, Player, PlayerOptions};
use dysr::threads::live_pipeline_threads;

/// A case that takes longer than this is a hang.
const CASE_LIMIT: Duration = Duration::from_secs(10);
/// Cases per container in `make test` (3,750 cases in all, well under a minute on two cores).
const DEFAULT_CASES: usize = 600;

/// What a seed file is and how a damaged copy of it is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mp4,
    Mkv,
    Webm,
    Ts,
    Avi,
    Hls,
    Manifest,
    Weights,
}

const KINDS: [Kind; 8] =
    [Kind::Mp4, Kind::Mkv, Kind::Webm, Kind::Ts, Kind::Avi, Kind::Hls, Kind::Manifest, Kind::Weights];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Mp4 => "mp4",
            Kind::Mkv => "mkv",
            Kind::Webm => "webm",
            Kind::Ts => "ts",
            Kind::Avi => "avi",
            Kind::Hls => "m3u8",
            Kind::Manifest => "json",
            Kind::Weights => "bpk",
        }
    }

    fn parse(name: &str) -> Option<Kind> {
        KINDS.into_iter().find(|kind| kind.name() == name)
    }

    /// How many of `cases` this kind gets: a playlist that lost its end tag waits a few seconds
    /// as a live one does, and a damaged manifest rarely gets past its parser.
    fn share(self, cases: usize) -> usize {
        match self {
            Kind::Hls => cases / 4,
            Kind::Manifest | Kind::Weights => cases / 2,
            _ => cases,
        }
    }

    /// The undamaged file, made once per test process.
    #[rustfmt::skip] // the arguments grouped option by option
    fn seed_file(self) -> PathBuf {
        // Tiny and short, so a case costs milliseconds; bit-exact, so the seeds are the same on every run.
        let clip = |name: &str, codecs: &[&str]| {
            let mut args = vec![
                "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=0.6",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=0.6",
                "-pix_fmt", "yuv420p", "-g", "3", "-threads", "1", "-fflags", "+bitexact", "-flags", "+bitexact",
            ];
            args.extend(codecs);
            generated(name, &args)
        };
        match self {
            Kind::Mp4 => clip("fuzz-seed.mp4", &["-c:v", "libx264", "-preset", "ultrafast", "-bf", "1", "-c:a", "aac"]),
            Kind::Mkv => clip("fuzz-seed.mkv", &["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=none", "-c:a", "libopus"]),
            Kind::Webm => clip("fuzz-seed.webm", &["-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus"]),
            Kind::Ts => clip("fuzz-seed.ts", &["-c:v", "mpeg2video", "-c:a", "mp2"]),
            Kind::Avi => clip("fuzz-seed.avi", &["-c:v", "mpeg4", "-c:a", "libmp3lame"]),
            Kind::Hls => {
                let segment = Kind::Ts.seed_file();
                let playlist = media_dir().join("fuzz-seed.m3u8");
                let name = segment.file_name().unwrap().to_string_lossy();
                let text = format!(
                    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:0.6,\n{name}\n#EXTINF:0.6,\n{name}\n#EXT-X-ENDLIST\n"
                );
                std::fs::write(&playlist, text).unwrap();
                playlist
            }
            Kind::Manifest => dysr::model::manifest::default_manifest_path(),
            Kind::Weights => dysr::model::manifest::default_manifest_path().with_extension("bpk"),
        }
    }
}

/// The `case`-th damaged copy of `bytes` for fuzz seed `seed`: one to three mutations.
fn mutate(bytes: &[u8], seed: u64, kind: Kind, case: usize) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed ^ ((kind as u64) << 56) ^ case as u64);
    let mut out = bytes.to_vec();
    for _ in 0..rng.random_range(1..=3) {
        if out.len() < 2 {
            break;
        }
        let len = out.len();
        let chunk = |rng: &mut StdRng| {
            let size = rng.random_range(1..=(len / 4).clamp(1, 4096));
            let start = rng.random_range(0..=len - size);
            start..start + size
        };
        match rng.random_range(0..5) {
            // Bit flips: up to 8, anywhere.
            0 => {
                for _ in 0..rng.random_range(1..=8) {
                    let at = rng.random_range(0..len);
                    out[at] ^= 1 << rng.random_range(0..8);
                }
            }
            // A run of one byte value (zeros, 0xff or random) over a chunk.
            1 => {
                let range = chunk(&mut rng);
                let value = [0, 0xff, rng.random()][rng.random_range(0..3)];
                out[range].fill(value);
            }
            2 => out.truncate(rng.random_range(0..len)),
            // A chunk copied in again somewhere.
            3 => {
                let range = chunk(&mut rng);
                let copy = out[range].to_vec();
                let at = rng.random_range(0..=len);
                out.splice(at..at, copy);
            }
            // Two chunks of the same size swapped.
            _ => {
                let first = chunk(&mut rng);
                let size = first.len();
                let second = rng.random_range(0..=len - size);
                let (a, b) = (out[first.clone()].to_vec(), out[second..second + size].to_vec());
                out[second..second + size].copy_from_slice(&a);
                out[first].copy_from_slice(&b);
            }
        }
    }
    out
}

/// What one case ended in, when it ended well.
enum Outcome {
    Played(u64),
    Refused,
}

/// Tries one damaged file; `Err` is a broken contract (the panic hook covers panics).
fn try_case(kind: Kind, path: &Path) -> Result<Outcome, String> {
    let input = path_str(path);
    let one_clear_line = |message: String| {
        if message.contains('\n') || message.trim().is_empty() {
            Err(format!("not one line: {message:?}"))
        } else if !message.contains(&input) {
            Err(format!("does not name the input: {message}"))
        } else {
            Ok(Outcome::Refused)
        }
    };
    match kind {
        Kind::Manifest | Kind::Weights => {
            // The weights are looked for beside the manifest: copy the other file next to the damaged one.
            let manifest = path.with_extension("json");
            match dysr::adaptation::adaptive::adaptive_factory(&manifest, dysr::adaptation::Mode::Adaptive, None, 1) {
                Ok(_) => Ok(Outcome::Played(0)),
                Err(error) => one_clear_line(error.to_string()),
            }
        }
        _ => {
            // A playlist that lost its end tag is live: it ends after a few reloads without news.
            let options = PlayerOptions {
                audio: AudioMode::Silent,
                no_sync: true,
                network_timeout: Duration::from_secs(2),
                ..Default::default()
            };
            let result = match Player::open(&input, options) {
                Ok(mut player) => {
                    play_to_end(&mut player).map_or_else(one_clear_line, |frames| Ok(Outcome::Played(frames)))
                }
                Err(error) => one_clear_line(error.to_string()),
            };
            match live_pipeline_threads() {
                0 => result,
                left => Err(format!("{left} pipeline threads left running")),
            }
        }
    }
}

/// Drives `player` to its end; the frames presented, or the fatal error with the input named.
fn play_to_end(player: &mut Player) -> Result<u64, String> {
    let deadline = Instant::now() + CASE_LIMIT;
    while player.state() != StreamState::Eof && Instant::now() < deadline {
        let wait = player.update(Instant::now());
        for event in player.take_events() {
            if let PipelineEvent::Fatal(cause) = event {
                return Err(format!("{}: {cause}", player.info().input));
            }
        }
        if wait.is_none() {
            player.wait(Duration::from_millis(2));
        }
    }
    Ok(player.telemetry().frames_presented)
}

/// Where a damaged file of `kind` is written, in a folder of its own named after `purpose`: for
/// the model's two files, beside an undamaged copy of the other one (they are loaded together).
fn case_path(kind: Kind, purpose: &str) -> PathBuf {
    // The manifest names its weights file: both keep the shipped names.
    let (own, sibling) = match kind {
        Kind::Manifest => (Kind::Manifest.seed_file(), Kind::Weights.seed_file()),
        Kind::Weights => (Kind::Weights.seed_file(), Kind::Manifest.seed_file()),
        // Beside the seeds (a playlist's entries name the MPEG-TS seed).
        _ => return media_dir().join(format!("{purpose}-case.{}", kind.name())),
    };
    let dir = media_dir().join(format!("{purpose}-{}", kind.name()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&sibling, dir.join(sibling.file_name().unwrap())).unwrap();
    dir.join(own.file_name().unwrap())
}

/// The child: the listed cases of `kind`, one report line each on stdout.
fn child(kind: Kind, seed: u64, cases: impl Iterator<Item = usize>) {
    let case_now = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(usize::MAX));
    let hook_case = std::sync::Arc::clone(&case_now);
    std::panic::set_hook(Box::new(move |info| {
        let case = hook_case.load(std::sync::atomic::Ordering::SeqCst);
        let message = info.to_string().replace('\n', " ");
        println!("fail {case} panic: {message}");
        std::io::stdout().flush().ok();
        std::process::abort();
    }));
    let original = std::fs::read(kind.seed_file()).expect("the seed file");
    let path = case_path(kind, "fuzz");
    let mut stdout = std::io::stdout();
    for case in cases {
        case_now.store(case, std::sync::atomic::Ordering::SeqCst);
        std::fs::write(&path, mutate(&original, seed, kind, case)).unwrap();
        let line = match try_case(kind, &path) {
            Ok(Outcome::Played(frames)) => format!("ok {case} played {frames}"),
            Ok(Outcome::Refused) => format!("ok {case} refused"),
            Err(broken) => format!("fail {case} {broken}"),
        };
        writeln!(stdout, "{line}").unwrap();
        stdout.flush().unwrap();
    }
}

/// A failure the parent saw: which case and what happened.
#[derive(Debug)]
struct Failure {
    kind: Kind,
    case: usize,
    what: String,
}

/// Runs `cases` of `kind` in children, restarting after a crash or hang; the failures.
fn run_kind(kind: Kind, seed: u64, cases: &[usize]) -> (Vec<Failure>, usize, usize) {
    let (mut failures, mut played, mut refused) = (Vec::new(), 0, 0);
    let mut next = 0;
    while next < cases.len() {
        let list = cases[next..].iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        let mut child = spawn_child(kind, seed, &list);
        let lines = report_lines(&mut child);
        loop {
            let case = cases[next];
            match lines.recv_timeout(CASE_LIMIT) {
                Ok(line) => {
                    let mut words = line.splitn(3, ' ');
                    let (verdict, reported, rest) =
                        (words.next().unwrap_or(""), words.next().unwrap_or(""), words.next().unwrap_or(""));
                    if reported != case.to_string() {
                        failures.push(Failure { kind, case, what: format!("unexpected report {line:?}") });
                    } else if verdict == "ok" {
                        if rest.starts_with("played") { played += 1 } else { refused += 1 }
                    } else {
                        failures.push(Failure { kind, case, what: rest.to_owned() });
                    }
                    next += 1;
                    // After a failure the child's state is suspect (threads left, a panic): a new one goes on.
                    if verdict != "ok" || next == cases.len() {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    failures.push(Failure { kind, case, what: format!("no answer within {} s", CASE_LIMIT.as_secs()) });
                    next += 1;
                    break;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = child.wait().map(|status| status.to_string()).unwrap_or_default();
                    failures.push(Failure { kind, case, what: format!("the child died ({status})") });
                    next += 1;
                    break;
                }
            }
        }
        child.kill().ok();
        child.wait().ok();
    }
    (failures, played, refused)
}

fn spawn_child(kind: Kind, seed: u64, cases: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--child", kind.name(), &seed.to_string(), cases])
        .env(common::MEDIA_DIR_VARIABLE, media_dir())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a fuzz child")
}

/// The child's stdout, a line at a time, on a channel (so the parent can wait with a limit).
fn report_lines(child: &mut Child) -> crossbeam_channel::Receiver<String> {
    let (sender, receiver) = crossbeam_channel::unbounded();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Keeps the damaged file of a failure where it can be turned into a regression case.
fn keep(failure: &Failure, seed: u64) -> PathBuf {
    let dir =
        PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into())).join("fuzz-failures");
    std::fs::create_dir_all(&dir).unwrap();
    let original = std::fs::read(failure.kind.seed_file()).unwrap();
    let path = dir.join(format!("s{seed}-{}-{}.{}", failure.kind.name(), failure.case, failure.kind.name()));
    std::fs::write(&path, mutate(&original, seed, failure.kind, failure.case)).unwrap();
    path
}

/// Plays each file in `tests/fuzz-regressions/`: inputs the fuzzer once broke the player with.
fn regressions() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut failures = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else { return failures };
    let mut paths: Vec<_> = entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect();
    paths.sort();
    for path in paths {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let Some(kind) = Kind::parse(extension) else { continue };
        kind.seed_file();
        let case = case_path(kind, "regression");
        std::fs::copy(&path, &case).unwrap();
        let started = Instant::now();
        match try_case(kind, &case) {
            Ok(_) if started.elapsed() < CASE_LIMIT => println!("regression {}: ok", path.display()),
            Ok(_) => failures.push(format!("{}: took {:?}", path.display(), started.elapsed())),
            Err(broken) => failures.push(format!("{}: {broken}", path.display())),
        }
    }
    failures
}

/// `cargo test FILTER` passes its filter on to every test binary: one that "fuzz" does not contain
/// skips this one (the values of libtest's options are not filters).
fn filtered_out(args: &[String]) -> bool {
    const TAKES_VALUE: [&str; 5] = ["--test-threads", "--skip", "--format", "--color", "--logfile"];
    let mut filters = Vec::new();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if TAKES_VALUE.contains(&word.as_str()) {
            words.next();
        } else if !word.starts_with('-') {
            filters.push(word.as_str());
        }
    }
    !filters.is_empty() && !filters.iter().any(|filter| "fuzz".contains(filter))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let kind = Kind::parse(&args[2]).expect("a kind");
        let seed = args[3].parse().expect("a seed");
        child(kind, seed, args[4].split(',').map(|case| case.parse().expect("a case number")));
        return;
    }
    if filtered_out(&args[1..]) {
        return;
    }
    let seed: u64 = std::env::var("DYSR_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let cases: usize = std::env::var("DYSR_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_CASES);
    let only = std::env::var("DYSR_FUZZ_ONLY").ok();
    let started = Instant::now();
    // Seeds are made here, once, before the children (which find them in the same folder).
    let plan: Vec<(Kind, Vec<usize>)> = match only.as_deref().and_then(|only| only.split_once(':')) {
        Some((kind, case)) => {
            vec![(Kind::parse(kind).expect("DYSR_FUZZ_ONLY=KIND:CASE"), vec![case.parse().expect("a case number")])]
        }
        None => KINDS.into_iter().map(|kind| (kind, (0..kind.share(cases)).collect())).collect(),
    };
    for (kind, _) in &plan {
        kind.seed_file();
    }
    let mut failures = regressions();
    // One worker per core, each taking whole kinds.
    let workers = dysr::host::cores().max(1);
    let results: Vec<(Vec<Failure>, usize, usize)> = std::thread::scope(|scope| {
        let shares: Vec<Vec<&(Kind, Vec<usize>)>> =
            (0..workers).map(|w| plan.iter().skip(w).step_by(workers).collect()).collect();
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| {
                scope.spawn(move || {
                    share.into_iter().map(|(kind, cases)| run_kind(*kind, seed, cases)).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|handle| handle.join().unwrap()).collect()
    });
    let (mut played, mut refused, mut total) = (0, 0, 0);
    for (kind_failures, kind_played, kind_refused) in results {
        played += kind_played;
        refused += kind_refused;
        total += kind_played + kind_refused + kind_failures.len();
        for failure in kind_failures {
            let kept = keep(&failure, seed);
            failures.push(format!(
                "{} case {} (replay: DYSR_FUZZ_SEED={seed} DYSR_FUZZ_ONLY={}:{}; file {}): {}",
                failure.kind.name(),
                failure.case,
                failure.kind.name(),
                failure.case,
                kept.display(),
                failure.what
            ));
        }
    }
    println!(
        "fuzz seed {seed}: {total} cases in {:.0} s: {played} played, {refused} refused with one line, {} failed",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("{failure}");
        }
        std::process::exit(1);
    }
}
