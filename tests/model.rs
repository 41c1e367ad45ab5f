//! The shipped model: it loads, its ladder is what the manifest says (quality as recorded, every
//! rung better than bicubic), a manifest that does not match its weights is refused, and
//! `dysr upscale` turns any RGB image into one twice the size.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::prelude::Device;
use dysr::model::evaluate::{Method, default_validation_dir, evaluate, load_validation};
use dysr::model::manifest::{Manifest, ManifestError, default_manifest_path};

/// An empty folder of its own for a test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = common::media_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of the shipped manifest and weights in a folder of its own, the manifest edited by `edit`.
fn copy_of_shipped(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let dir = scratch(name);
    let shipped = default_manifest_path();
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&shipped).unwrap()).unwrap();
    let weights = json["weights"].as_str().unwrap().to_owned();
    std::fs::copy(shipped.parent().unwrap().join(&weights), dir.join(&weights)).unwrap();
    edit(&mut json);
    let path = dir.join("dysr-x2.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    path
}

fn load(path: &Path) -> Result<(), ManifestError> {
    Manifest::load_with_weights(path, &Device::flex()).map(|_| ())
}

#[test]
fn the_shipped_ladder_scores_as_recorded_and_every_rung_beats_bicubic() {
    let model =
        Manifest::load_with_weights(&default_manifest_path(), &Device::flex()).expect("the shipped model loads");
    let images = load_validation(&default_validation_dir()).expect("validation photos");
    let bicubic = evaluate(&Method::Bicubic, &images);
    let mut previous_psnr = bicubic.psnr_y;
    for rung in &model.manifest.ladder {
        let row =
            evaluate(&Method::Subgraph { name: rung.name.clone(), model: &model.supernet, spec: rung.spec }, &images);
        assert!(
            (row.psnr_y - rung.val_psnr_y).abs() < 0.01,
            "{}: measured {} but the manifest says {}",
            rung.name,
            row.psnr_y,
            rung.val_psnr_y
        );
        assert!(
            row.psnr_y > previous_psnr,
            "{} ({:.3} dB) is not better than the rung below ({previous_psnr:.3} dB)",
            rung.name,
            row.psnr_y
        );
        previous_psnr = row.psnr_y;
    }
    let ladder = &model.manifest.ladder;
    assert!((5..=8).contains(&ladder.len()));
    assert!(ladder.windows(2).all(|pair| pair[0].spec.is_nested_in(&pair[1].spec)));
}

#[test]
fn a_manifest_whose_supernet_is_not_the_weights_is_refused() {
    let path = copy_of_shipped("mismatch", |json| {
        json["supernet"]["max_width"] = 48.into();
        json["supernet"]["widths"] = serde_json::json!([8, 16, 24, 32, 40, 48]);
    });
    let error = load(&path).expect_err("refused").to_string();
    assert!(error.contains("do not match") && error.contains("dysr-x2.bpk"), "{error}");
}

#[test]
fn missing_or_corrupt_weights_are_refused() {
    let path = copy_of_shipped("missing", |_| {});
    let weights = path.parent().unwrap().join("dysr-x2.bpk");
    std::fs::remove_file(&weights).unwrap();
    let error = load(&path).expect_err("refused").to_string();
    assert!(error.contains("missing"), "{error}");

    let shipped_bytes = std::fs::read(default_manifest_path().parent().unwrap().join("dysr-x2.bpk")).unwrap();
    std::fs::write(&weights, &shipped_bytes[..shipped_bytes.len() / 2]).unwrap();
    let error = load(&path).expect_err("a truncated file is refused").to_string();
    assert!(error.contains("do not match"), "{error}");

    std::fs::write(&weights, b"this is not a burnpack file at all").unwrap();
    let error = load(&path).expect_err("garbage is refused").to_string();
    assert!(error.contains("not a burnpack file"), "{error}");
}

#[test]
fn broken_manifests_are_refused_with_the_reason() {
    let dir = scratch("broken");
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, "{ not json").unwrap();
    assert!(matches!(Manifest::load(&garbage), Err(ManifestError::Parse { .. })));
    assert!(matches!(Manifest::load(&dir.join("absent.json")), Err(ManifestError::Read { .. })));

    let unordered = copy_of_shipped("unordered", |json| json["ladder"].as_array_mut().unwrap().swap(0, 1));
    let error = Manifest::load(&unordered).expect_err("refused").to_string();
    assert!(error.contains("nested"), "{error}");

    let wrong_costs = copy_of_shipped("costs", |json| json["ladder"][0]["macs_per_lr_pixel"] = 1.into());
    let error = Manifest::load(&wrong_costs).expect_err("refused").to_string();
    assert!(error.contains("costs"), "{error}");
}

fn dysr(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dysr")).args(args).output().expect("run dysr")
}

#[test]
fn upscale_doubles_an_odd_sized_rgb_image() {
    let dir = scratch("upscale");
    let input = dir.join("odd.png");
    let image =
        image::RgbImage::from_fn(37, 23, |x, y| image::Rgb([(x * 7) as u8, (y * 11) as u8, ((x + y) * 3) as u8]));
    image.save(&input).unwrap();
    // A PNG, or a JPEG where the output's name says so.
    for (name, format) in [("odd-x2.png", image::ImageFormat::Png), ("odd-x2.JPG", image::ImageFormat::Jpeg)] {
        let output = dir.join(name);
        let run = dysr(&["upscale", input.to_str().unwrap(), "-o", output.to_str().unwrap(), "--rung", "0"]);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let reader = image::ImageReader::open(&output).unwrap().with_guessed_format().unwrap();
        assert_eq!(reader.format(), Some(format), "{name}: written as its name says");
        let upscaled = reader.decode().unwrap().to_rgb8();
        assert_eq!(upscaled.dimensions(), (74, 46));
        // Colours survive: each output pixel is close to the input pixel it came from.
        let (mut total, mut count) = (0i64, 0i64);
        for (x, y, pixel) in upscaled.enumerate_pixels() {
            let source = image.get_pixel(x / 2, y / 2);
            total += pixel.0.iter().zip(source.0).map(|(a, b)| (i64::from(*a) - i64::from(b)).abs()).sum::<i64>();
            count += 3;
        }
        assert!(total / count < 12, "{name}: mean difference {}", total / count);
    }
}

#[test]
fn upscale_failures_name_the_cause_and_leave_no_output() {
    let dir = scratch("upscale-fail");
    let output = dir.join("out.png");
    let missing = dir.join("missing.png");
    let run = dysr(&["upscale", missing.to_str().unwrap(), "-o", output.to_str().unwrap()]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("missing.png") && stderr.trim_end().lines().count() == 1, "{stderr}");
    assert!(!output.exists());

    let input = dir.join("small.png");
    image::RgbImage::new(8, 8).save(&input).unwrap();
    let run = dysr(&["upscale", input.to_str().unwrap(), "-o", output.to_str().unwrap(), "--rung", "99"]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("--rung 99"));
    assert!(!output.exists());

    // An image is not written under a video's name.
    let video = dir.join("small-x2.mkv");
    let run = dysr(&["upscale", input.to_str().unwrap(), "-o", video.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success() && stderr.contains("small-x2.mkv") && stderr.contains(".jpg"), "{stderr}");
    assert!(!video.exists());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "only the input is left in the folder");
}

/// `$DYSR_MODELS` says where the model is: a copy there is used, and an empty folder is named in
/// the error.
#[test]
fn dysr_models_points_at_the_model_folder() {
    let copy = copy_of_shipped("models-env", |_| {});
    let dir = scratch("models-env-run");
    let input = dir.join("in.png");
    image::RgbImage::from_fn(9, 7, |x, y| image::Rgb([(x * 20) as u8, (y * 30) as u8, 90])).save(&input).unwrap();
    let output = dir.join("out.png");
    let run_with = |models: &Path| {
        Command::new(env!("CARGO_BIN_EXE_dysr"))
            .args(["upscale", input.to_str().unwrap(), "-o", output.to_str().unwrap()])
            .env("DYSR_MODELS", models)
            .output()
            .expect("run dysr")
    };
    let run = run_with(copy.parent().unwrap());
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(image::open(&output).unwrap().to_rgb8().dimensions(), (18, 14));

    let empty = scratch("models-env-empty");
    std::fs::remove_file(&output).unwrap();
    let run = run_with(&empty);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains(&empty.join("dysr-x2.json").display().to_string()));
    assert!(!output.exists());
}

#[test]
fn eval_per_photo_lists_each_photo_with_its_gain_over_bicubic() {
    let dir = scratch("eval-per-photo");
    for (name, step) in [("stripes", 3u32), ("rings", 5)] {
        image::RgbImage::from_fn(48, 40, |x, y| image::Rgb([((x * x + y * y) / step % 256) as u8, (x * 9) as u8, 60]))
            .save(dir.join(format!("{name}.png")))
            .unwrap();
    }
    let run = dysr(&["eval", "--photos", dir.to_str().unwrap(), "--per-photo", "--device", "cpu"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let rungs = Manifest::load(&default_manifest_path()).unwrap().ladder.len();
    // bicubic, Lanczos, every rung, then the peers when their weights are on this machine
    let peers = stdout.lines().filter(|line| line.starts_with("anime4k")).count();
    for name in ["stripes", "rings"] {
        let line = stdout
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{stdout}"));
        // the photo, bicubic's PSNR, then every other method's as "PSNR +gain"
        assert_eq!(line.split_whitespace().count(), 2 + 2 * (1 + rungs + peers), "{line}");
    }
}

/// `dysr eval --trained` refuses a subgraph its run's supernet does not have (it panicked), and
/// `--lr-crf` a CRF outside x264's 0-51 (x264 took 99 as 51).
#[test]
fn eval_refuses_a_subgraph_outside_the_run_and_a_crf_outside_x264s_range() {
    let rig = TrainingRig::new("eval-outside");
    rig.train("1", false, &["--scales", "1"]);
    let run = rig.out.to_str().unwrap();
    let outside = dysr(&["eval", "--trained", run, "--spec", "d1w8,d9w8", "--device", "cpu"]);
    assert!(!outside.status.success());
    let stderr = String::from_utf8_lossy(&outside.stderr);
    assert!(
        stderr.contains("d9w8 is not a subgraph of that run's supernet") && stderr.trim_end().lines().count() == 1,
        "{stderr}"
    );
    let crf = dysr(&["eval", "--lr-crf", "99"]);
    assert!(!crf.status.success());
    assert!(String::from_utf8_lossy(&crf.stderr).contains("invalid value '99' for '--lr-crf"));
}

/// A training photo and a validation photo in folders of their own under a scratch folder, and
/// a runner of `dysr train` on them into `out` (`steps`, resuming or not, then `extra` arguments).
struct TrainingRig {
    photos: PathBuf,
    validation: PathBuf,
    out: PathBuf,
}

impl TrainingRig {
    fn new(name: &str) -> Self {
        let dir = scratch(name);
        let (photos, validation, out) = (dir.join("photos"), dir.join("validation"), dir.join("out"));
        for folder in [&photos.join("train"), &validation] {
            std::fs::create_dir_all(folder).unwrap();
        }
        let photo = |x: u32, y: u32| {
            image::Rgb([((x * x + 3 * y * y) / 7 % 256) as u8, (x * 5 % 256) as u8, (y * 3 % 256) as u8])
        };
        image::RgbImage::from_fn(96, 80, photo).save(photos.join("train/a.png")).unwrap();
        image::RgbImage::from_fn(64, 48, |x, y| photo(y, x)).save(validation.join("b.png")).unwrap();
        Self { photos, validation, out }
    }

    fn train(&self, steps: &str, resume: bool, extra: &[&str]) {
        let mut args = vec!["train", "--photos", self.photos.to_str().unwrap(), "--out", self.out.to_str().unwrap()];
        args.extend(["--validation", self.validation.to_str().unwrap(), "--steps", steps, "--eval-every", "2"]);
        args.extend(["--batch", "2", "--patch", "16", "--degraded-variants", "0", "--device", "cpu"]);
        args.extend(extra);
        if resume {
            args.push("--resume");
        }
        let run = dysr(&args);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    }

    /// The rows of `val-log.csv`.
    fn validation_rows(&self) -> Vec<Vec<String>> {
        let log = std::fs::read_to_string(self.out.join("val-log.csv")).unwrap();
        log.lines().skip(1).map(|line| line.split(',').map(str::to_owned).collect()).collect()
    }
}

/// `dysr train` refuses a number out of its option's range (each of these once panicked or
/// trained on nonsense) and a patch no photo has room for, naming the option or the photos and
/// the cause, before anything is written.
#[test]
fn training_refuses_bad_numbers_and_a_patch_larger_than_every_photo() {
    let rig = TrainingRig::new("train-refused");
    let run = |extra: &[&str]| {
        let mut args = vec!["train", "--photos", rig.photos.to_str().unwrap(), "--out", rig.out.to_str().unwrap()];
        args.extend(["--validation", rig.validation.to_str().unwrap(), "--steps", "2", "--device", "cpu"]);
        args.extend(["--degraded-variants", "0"]);
        args.extend(extra);
        let run = dysr(&args);
        assert!(!run.status.success(), "{extra:?} refused");
        assert!(!rig.out.exists(), "{extra:?}: nothing written");
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{extra:?}: {stderr}");
        stderr
    };
    for (option, value) in [
        ("--degraded-share", "1.5"),
        ("--degraded-share", "nan"),
        ("--favour-ladder", "-0.5"),
        ("--distill", "2"),
        ("--scales", "0"),
        ("--ema", "2"),
        ("--batch", "0"),
        ("--patch", "0"),
        ("--checkpoint-every", "0"),
        ("--learning-rate", "-1"),
        ("--min-learning-rate", "inf"),
        ("--bench-steps", "0"),
    ] {
        let stderr = run(&[&format!("{option}={value}")]);
        assert!(stderr.contains(&format!("invalid value '{value}' for '{option}")), "{option} {value}: {stderr}");
    }
    // The photo is 96x80: its LR 48x40.
    let stderr = run(&["--patch", "41", "--batch", "2"]);
    assert!(
        stderr.contains("no photo has room for a 41x41 LR patch") && stderr.trim_end().lines().count() == 1,
        "{stderr}"
    );
}

/// `dysr train --eval-every` scores the largest and smallest subgraph on the validation photos as
/// it goes, and a resumed run carries the log on.
#[test]
fn training_logs_validation_scores_and_resumes_the_log() {
    let rig = TrainingRig::new("train-eval");
    rig.train("4", false, &[]);
    rig.train("6", true, &[]);
    let rows = rig.validation_rows();
    let steps_and_specs: Vec<(&str, &str)> = rows.iter().map(|row| (row[0].as_str(), row[1].as_str())).collect();
    assert_eq!(
        steps_and_specs,
        [("2", "d6w40"), ("2", "d0w8"), ("4", "d6w40"), ("4", "d0w8"), ("6", "d6w40"), ("6", "d0w8")],
        "{rows:?}"
    );
    assert!(rows.iter().all(|row| row[2].parse::<f64>().is_ok_and(|psnr| psnr.is_finite() && psnr > 0.0)), "{rows:?}");
}

/// `dysr train --ema` keeps an average of the weights across a resume, saves it, and scores it
/// beside the weights; `--eval-crf` scores both on compressed LR too.
#[test]
fn training_keeps_an_average_of_the_weights() {
    let rig = TrainingRig::new("train-ema");
    let extra = ["--ema", "0.9", "--fixed", "d1w8", "--scales", "1", "--eval-crf", "28"];
    rig.train("2", false, &extra);
    rig.train("4", true, &extra);
    assert!(rig.out.join("weights-ema.bpk").is_file() && rig.out.join("ema.bin").is_file());
    let specs: Vec<String> = rig.validation_rows().into_iter().map(|row| row[1].clone()).collect();
    let scored = ["d1w8", "d1w8@crf28", "d1w8-ema", "d1w8-ema@crf28"];
    assert_eq!(specs, [scored, scored].concat(), "{specs:?}");
    // `dysr eval` scores the averaged weights as training scored them.
    let validation = rig.validation.to_str().unwrap();
    let run = dysr(&[
        "eval",
        "--trained",
        rig.out.to_str().unwrap(),
        "--weights",
        "averaged",
        "--spec",
        "d1w8",
        "--photos",
        validation,
        "--json",
        "--device",
        "cpu",
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let row = stdout.lines().find(|line| line.contains("\"d1w8\"")).unwrap_or_else(|| panic!("{stdout}"));
    let psnr = serde_json::from_str::<serde_json::Value>(row).unwrap()["psnr_y"].as_f64().unwrap();
    let logged: f64 = rig.validation_rows().iter().rfind(|row| row[1] == "d1w8-ema").unwrap()[2].parse().unwrap();
    assert!((psnr - logged).abs() < 1e-3, "eval {psnr} vs the training log {logged}");
}

/// `dysr train --reparam` trains through re-parameterised branches, saves them beside their fold
/// and resumes from them; resuming such a run without the flag is refused with the file's name.
#[test]
fn training_with_reparameterised_blocks_resumes() {
    let rig = TrainingRig::new("train-reparam");
    let extra = ["--reparam", "--fixed", "d2w8", "--scales", "1"];
    rig.train("2", false, &extra);
    let branches = std::fs::metadata(rig.out.join("reparam.bin")).expect("the branches are saved").len();
    rig.train("4", true, &extra);
    assert_eq!(std::fs::metadata(rig.out.join("reparam.bin")).unwrap().len(), branches);
    let rows = rig.validation_rows();
    assert!(rows.iter().all(|row| row[2].parse::<f64>().is_ok_and(|psnr| psnr.is_finite() && psnr > 0.0)), "{rows:?}");
    let out = rig.out.to_str().unwrap();
    let run = dysr(&[
        "train",
        "--photos",
        rig.photos.to_str().unwrap(),
        "--out",
        out,
        "--steps",
        "6",
        "--batch",
        "2",
        "--patch",
        "16",
        "--fixed",
        "d2w8",
        "--resume",
    ]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("adam-state.bin") && stderr.trim_end().lines().count() == 1, "{stderr}");
}

/// `dysr train --fixed SPEC --init-from RUN` starts from SPEC cut out of the average of RUN's
/// weights; with `--learn tail` only its tail learns. A SPEC deeper and wider than RUN's supernet
/// grows out of its largest subgraph; a width between RUN's widths is refused with one line,
/// before anything is written.
#[test]
fn a_fixed_run_starts_from_a_cut_of_a_supernet_and_can_train_its_tail_alone() {
    use burn::module::Param;
    use dysr::model::supernet::{ElasticConv, SubgraphSpec};
    use dysr::training::train::{TrainedWeights, load_trained};
    let source = TrainingRig::new("train-init-source");
    source.train("2", false, &["--ema", "0.9", "--scales", "1"]);
    let tuned = TrainingRig::new("train-init-tail");
    let from = source.out.to_str().unwrap();
    tuned.train("2", false, &["--fixed", "d2w8", "--init-from", from, "--learn", "tail", "--scales", "1"]);
    let device = Device::flex();
    let (supernet, _) = load_trained(&source.out, TrainedWeights::Averaged, &device).unwrap();
    let cut = supernet.extract(SubgraphSpec { depth: 2, width: 8 });
    let (network, _) = load_trained(&tuned.out, TrainedWeights::Last, &device).unwrap();
    let values = |conv: &ElasticConv| {
        [
            conv.weight.val().into_data().try_to_vec::<f32>().unwrap(),
            conv.bias.val().into_data().try_to_vec::<f32>().unwrap(),
        ]
        .concat()
    };
    assert_eq!(values(&network.head), values(&cut.head));
    assert_eq!(network.body.iter().map(values).collect::<Vec<_>>(), cut.body.iter().map(values).collect::<Vec<_>>());
    assert_ne!(values(&network.tail), values(&cut.tail));

    // Deeper and wider than the run: its largest subgraph grown, the added layers at zero (passing
    // their input through), the added channels not reaching the old ones.
    let grown = TrainingRig::new("train-init-grown");
    grown.train("2", false, &["--fixed", "d8w48", "--init-from", from, "--learn", "tail", "--scales", "1"]);
    let (network, _) = load_trained(&grown.out, TrainedWeights::Last, &device).unwrap();
    assert_eq!(network.spec(), SubgraphSpec { depth: 8, width: 48 });
    let largest = supernet.extract(SubgraphSpec { depth: 6, width: 40 });
    let leading = |conv: &ElasticConv, inputs| ElasticConv {
        weight: Param::from_tensor(conv.weight.val().slice([0..40, 0..inputs])),
        bias: Param::from_tensor(conv.bias.val().narrow(0, 0, 40)),
    };
    assert_eq!(values(&leading(&network.head, 1)), values(&largest.head));
    for (layer, trained) in network.body.iter().zip(&largest.body) {
        assert_eq!(values(&leading(layer, 40)), values(trained));
        assert_eq!(layer.weight.val().slice([0..40, 40..48]).abs().sum().into_scalar::<f32>(), 0.0);
    }
    assert!(network.body[6..].iter().all(|layer| values(layer).iter().all(|&v| v == 0.0)));

    let between = dysr(&[
        "train",
        "--photos",
        tuned.photos.to_str().unwrap(),
        "--out",
        tuned.out.join("between").to_str().unwrap(),
        "--fixed",
        "d2w12",
        "--init-from",
        from,
    ]);
    assert!(!between.status.success());
    let stderr = String::from_utf8_lossy(&between.stderr);
    assert!(stderr.contains("d2w12 is not a subgraph") && stderr.trim_end().lines().count() == 1, "{stderr}");
    assert!(!tuned.out.join("between").exists(), "nothing written");
}

#[test]
fn the_player_upscales_video_with_a_rung() {
    use dysr::engine::neural::rung_factory;
    use dysr::player::{PlayerOptions, headless};
    let clip = scratch("video").join("clip.mp4");
    let made = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x90:rate=25:duration=1",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&clip)
        .status()
        .expect("ffmpeg");
    assert!(made.success());
    let upscaler =
        Some(rung_factory(&default_manifest_path(), 1, dysr::model::device::DeviceChoice::Cpu).expect("rung 1"));
    let summary =
        headless::run(clip.to_str().unwrap(), PlayerOptions { no_sync: true, upscaler, ..Default::default() })
            .expect("plays");
    assert_eq!(summary.frames_presented, 25);
    assert_eq!((summary.output_width, summary.output_height), (320, 180));
    assert!(summary.upscaler.starts_with("r1 "), "{}", summary.upscaler);
    assert!(rung_factory(&default_manifest_path(), 99, dysr::model::device::DeviceChoice::Cpu).is_err());
}

/// A network of another kind (`--body pairs`, `preact`, `half-resolution`) trains, resumes and is scored by `dysr
/// eval --trained` as training scored it; `dysr search` refuses it, as the player cannot run it.
#[test]
fn a_network_of_another_kind_is_scored_and_not_searched() {
    for body in ["pairs", "preact", "half-resolution"] {
        let rig = TrainingRig::new(&format!("train-{body}"));
        let extra = ["--fixed", "d2w8", "--body", body, "--scales", "1"];
        rig.train("2", false, &extra);
        rig.train("4", true, &extra);
        let run = rig.out.to_str().unwrap();
        let validation = rig.validation.to_str().unwrap();
        let eval = dysr(&["eval", "--trained", run, "--spec", "d2w8", "--photos", validation, "--json"]);
        assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
        let stdout = String::from_utf8_lossy(&eval.stdout);
        let row = stdout.lines().find(|line| line.contains("\"d2w8\"")).unwrap_or_else(|| panic!("{stdout}"));
        let psnr = serde_json::from_str::<serde_json::Value>(row).unwrap()["psnr_y"].as_f64().unwrap();
        let logged: f64 = rig.validation_rows().iter().rfind(|row| row[1] == "d2w8").unwrap()[2].parse().unwrap();
        assert!((psnr - logged).abs() < 1e-3, "{body}: eval {psnr} vs the training log {logged}");
        let search = dysr(&["search", "--trained", run, "--photos", validation]);
        assert!(!search.status.success());
        let stderr = String::from_utf8_lossy(&search.stderr);
        assert!(stderr.contains("the player does not run") && stderr.trim_end().lines().count() == 1, "{stderr}");
    }
}
