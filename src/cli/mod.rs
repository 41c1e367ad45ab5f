//! The `dysr` command line. Each subcommand file parses its arguments and calls the library; errors
//! end here, printed as one line with a non-zero exit code.

pub mod bench;
pub mod eval;
pub mod play;
pub mod search;
pub mod train;
pub mod upscale;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "dysr",
    version,
    about = "A video player that upscales in real time and adapts its network to the machine's load"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Arguments of `play`, the default subcommand.
    #[command(flatten)]
    pub play: play::PlayArgs,
    /// Also write what happens (inputs opened, rung switches, warnings, the error that ended the
    /// run) with timestamps to this file, in more detail than the terminal gets.
    #[arg(long, global = true)]
    pub log_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Play a video (the default): a window, or --headless for a summary on stdout.
    Play(play::PlayArgs),
    /// Train the supernet (one-shot, sandwich rule), or one subgraph alone with --fixed.
    Train(train::TrainArgs),
    /// Score every subgraph, keep the Pareto front, write the nested ladder to models/.
    Search(search::SearchArgs),
    /// PSNR-Y and SSIM-Y of subgraphs, bicubic and Lanczos on held-out photos.
    Eval(eval::EvalArgs),
    /// Upscale a video or an image x2 with a rung of the shipped ladder, into a file.
    Upscale(upscale::UpscaleArgs),
    /// Measure speed: `dysr bench rungs` times every rung of the ladder.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// The demo clip shipped in `assets/` (Big Buck Bunny, CC-BY 3.0, Blender Foundation).
pub fn demo_clip_path() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/assets/bbb-meadow-360p.mp4").to_owned()
}

/// The target of the line that reports the error ending a run: the log file gets it, the terminal
/// gets the same line from `main` without the log's decoration.
const EXIT_TARGET: &str = "dysr::exit";

/// Warnings and errors to stderr (more with RUST_LOG); with `--log-file`, dysr's info lines too.
fn init_logging(log_file: Option<&std::path::Path>) -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer, fmt};
    // Our warnings; other crates' (winit on a virtual display, font lookup) only when asked for
    // with RUST_LOG.
    let terminal_filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("error,dysr=warn"))
        .add_directive(format!("{EXIT_TARGET}=off").parse()?);
    let terminal = fmt::layer().with_writer(std::io::stderr).with_filter(terminal_filter);
    let file = match log_file {
        None => None,
        Some(path) => {
            let file =
                std::fs::File::create(path).map_err(|e| anyhow::anyhow!("--log-file {}: {e}", path.display()))?;
            Some(
                fmt::layer()
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(file))
                    .with_filter(EnvFilter::new("warn,dysr=info")),
            )
        }
    };
    tracing_subscriber::registry().with(terminal).with(file).init();
    Ok(())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = init_logging(cli.log_file.as_deref()) {
        eprintln!("dysr: error: {error:#}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Some(Command::Play(args)) => play::run(args),
        Some(Command::Train(args)) => train::run(args),
        Some(Command::Search(args)) => search::run(args),
        Some(Command::Eval(args)) => eval::run(args),
        Some(Command::Upscale(args)) => upscale::run(args),
        Some(Command::Bench(command)) => bench::run(command),
        None => play::run(cli.play),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(target: EXIT_TARGET, "{error:#}");
            eprintln!("dysr: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// An engine error in the words of the command line: which flag asked for what is not there.
pub fn engine_error(error: crate::engine::EngineError) -> anyhow::Error {
    use crate::engine::EngineError;
    use crate::model::error::ModelError;
    match error {
        EngineError::NoSuchRung { .. } => anyhow::anyhow!("--{error}"),
        EngineError::Device(ModelError::NoGpu | ModelError::GpuInit(_)) => anyhow::anyhow!("--device gpu: {error}"),
        other => anyhow::Error::msg(other),
    }
}

/// `[-][[HH:]MM:]SS[.frac]` in seconds.
pub(crate) fn parse_time(text: &str) -> Result<f64, String> {
    let form = "a time: seconds, MM:SS or HH:MM:SS, negative to count from the end";
    let (sign, magnitude) = text.strip_prefix('-').map_or((1.0, text), |rest| (-1.0, rest));
    let fields: Vec<&str> = magnitude.split(':').collect();
    let (last, whole) = fields.split_last().filter(|(_, whole)| whole.len() <= 2).ok_or(form)?;
    let seconds: f64 = last.parse().ok().filter(|s: &f64| s.is_finite() && *s >= 0.0).ok_or(form)?;
    // Minutes and seconds after a colon stay below 60, as on a clock.
    if !whole.is_empty() && seconds >= 60.0 {
        return Err(form.to_owned());
    }
    let mut total = 0.0;
    for (index, field) in whole.iter().enumerate() {
        let value: u32 = field.parse().map_err(|_| form)?;
        if index > 0 && value >= 60 {
            return Err(form.to_owned());
        }
        total = total * 60.0 + f64::from(value);
    }
    Ok(sign * (total * 60.0 + seconds))
}

/// The highest CRF x264 takes at 8 bits (a higher one it would quietly take as this).
pub const X264_MAX_CRF: i64 = 51;

/// `text` as a number that `fits`, for clap: a value out of range is refused with the option's
/// name, in one line, before anything is read or written (NaN fits nothing).
pub(crate) fn number_that<T: std::str::FromStr>(
    text: &str,
    fits: impl Fn(&T) -> bool,
    range: &str,
) -> Result<T, String> {
    let value = text.parse::<T>().map_err(|_| format!("not a number (it must be {range})"))?;
    if fits(&value) { Ok(value) } else { Err(format!("it must be {range}")) }
}

pub fn share<T: std::str::FromStr + PartialOrd + From<f32>>(text: &str) -> Result<T, String> {
    number_that(text, |value| *value >= T::from(0.0) && *value <= T::from(1.0), "from 0 to 1")
}

pub fn positive<T: std::str::FromStr + PartialOrd + From<f32>>(text: &str) -> Result<T, String> {
    number_that(text, |value| *value > T::from(0.0) && *value < T::from(f32::INFINITY), "a finite number above 0")
}

pub fn non_negative<T: std::str::FromStr + PartialOrd + From<f32>>(text: &str) -> Result<T, String> {
    number_that(text, |value| *value >= T::from(0.0) && *value < T::from(f32::INFINITY), "a finite number from 0")
}

/// The decay of a moving average: 1 would never move, above it diverges.
pub fn decay(text: &str) -> Result<f32, String> {
    number_that(text, |value| *value > 0.0 && *value < 1.0, "above 0 and below 1")
}

/// A share that cannot be none: a size for scale augmentation (a fraction of the photo's own), a
/// share of places to draw patches from.
pub fn some_share(text: &str) -> Result<f64, String> {
    number_that(text, |value| *value > 0.0 && *value <= 1.0, "above 0 and at most 1")
}

pub fn at_least_one(text: &str) -> Result<usize, String> {
    number_that(text, |value| *value >= 1, "a whole number from 1")
}

/// A frame size `WxH` (`x` or `X`), each side a whole number from 1 to 16384.
pub fn parse_size<T: TryFrom<usize>>(text: &str) -> Result<(T, T), String> {
    let side =
        |v: &str| v.trim().parse::<usize>().ok().filter(|n| (1..=16384).contains(n)).and_then(|n| T::try_from(n).ok());
    match text.split_once(['x', 'X']).map(|(width, height)| (side(width), side(height))) {
        Some((Some(width), Some(height))) => Ok((width, height)),
        _ => Err(format!("'{text}' is not a size like 640x360 (each side 1 to 16384)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_mpv_reads_them() {
        for (text, secs) in [("90", 90.0), ("1:30", 90.0), ("01:02:03.5", 3723.5), ("90:00", 5400.0), ("-1:00", -60.0)]
        {
            assert_eq!(parse_time(text), Ok(secs), "{text}");
        }
        for text in ["", "-", "1:75", "1:2:3:4", "1::3", "x", "1:-5", "inf", "0:60"] {
            assert!(parse_time(text).is_err(), "{text}");
        }
    }

    /// Each number parser takes the ends of its range that belong to it and refuses the rest,
    /// NaN, infinities and text included.
    #[test]
    fn number_parsers_keep_to_their_ranges() {
        assert_eq!(share::<f64>("0"), Ok(0.0));
        assert_eq!(share::<f32>("1"), Ok(1.0));
        for text in ["1.5", "-0.1", "nan", "inf", "half"] {
            assert!(share::<f64>(text).is_err(), "share {text}");
        }
        assert_eq!(positive::<f64>("1e-3"), Ok(1e-3));
        for text in ["0", "-1", "inf", "nan"] {
            assert!(positive::<f64>(text).is_err(), "positive {text}");
        }
        assert_eq!(non_negative::<f64>("0"), Ok(0.0));
        assert!(non_negative::<f64>("inf").is_err() && non_negative::<f64>("-1e-9").is_err());
        assert_eq!(decay("0.999"), Ok(0.999));
        for text in ["0", "1", "2", "nan"] {
            assert!(decay(text).is_err(), "decay {text}");
        }
        assert_eq!(some_share("1"), Ok(1.0));
        assert!(some_share("0").is_err() && some_share("1.5").is_err());
        assert_eq!(at_least_one("1"), Ok(1));
        assert!(at_least_one("0").is_err() && at_least_one("-1").is_err() && at_least_one("1.5").is_err());
        assert_eq!(share::<f64>("1.5").unwrap_err(), "it must be from 0 to 1");
    }
}
