//! `s`: the presented frame saved as a PNG with a JSON sidecar saying what made it, for testers'
//! reports. Both files are written under temporary names and renamed, so a reader never sees half
//! of one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::adaptation::{Adaptation, Mode};
use crate::engine::neural::presented_rgba;
use crate::engine::picture::Picture;

/// What the sidecar records about a saved frame.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Sidecar {
    /// The input (path or URL).
    pub source: String,
    /// The frame's time in the stream.
    pub time_secs: f64,
    /// The decoded frame's size.
    pub source_size: [u32; 2],
    /// The saved picture's size.
    pub picture_size: [u32; 2],
    /// The size the picture had on screen, in pixels.
    pub displayed_size: [u32; 2],
    /// Whether the network made the picture (else it is bicubic x2 of the decoded frame).
    pub sr: bool,
    /// The ladder level that made it ("r3", "floor"), its SR time and the injected load, when the
    /// ladder's telemetry has the frame.
    pub level: Option<String>,
    pub sr_ms: Option<f64>,
    pub load_percent: Option<u8>,
    /// adaptive, locked rK or bicubic.
    pub mode: Option<String>,
    /// The upscaler's own description.
    pub upscaler: String,
}

impl Sidecar {
    /// The sidecar of `picture` (shown at `displayed_size`), with the ladder's record of the frame.
    pub fn of(
        picture: &Picture,
        source: &str,
        upscaler: String,
        displayed_size: [u32; 2],
        adaptation: Option<&Adaptation>,
    ) -> Self {
        let (width, height) = picture.size();
        let frame = adaptation.and_then(|adaptation| adaptation.frame_at(picture.pts_secs));
        Self {
            source: source.to_owned(),
            time_secs: picture.pts_secs,
            source_size: [picture.frame.width(), picture.frame.height()],
            picture_size: [width, height],
            displayed_size,
            sr: picture.is_upscaled(),
            level: frame.map(|(_, level)| level.name.clone()),
            sr_ms: frame.map(|(sample, _)| sample.sr_ms),
            load_percent: adaptation.map(|adaptation| adaptation.controls.load.level()),
            mode: adaptation.map(|adaptation| match adaptation.controls.mode() {
                Mode::Adaptive => "adaptive".to_owned(),
                Mode::Locked(rung) => format!("locked r{rung}"),
                Mode::Bicubic => "bicubic".to_owned(),
            }),
            upscaler,
        }
    }
}

/// Saves `picture` into `dir` as `dysr-<name>-<time>.png` with `<same>.json` beside it (a number
/// added when the name is taken); returns the PNG's path.
pub fn save(picture: Arc<Picture>, sidecar: &Sidecar, dir: &Path) -> Result<PathBuf, super::UiError> {
    let stem = if sidecar.source == crate::media::source::STDIN {
        "stdin".to_owned()
    } else {
        Path::new(&sidecar.source)
            .file_stem()
            .map_or_else(|| "frame".to_owned(), |stem| stem.to_string_lossy().into_owned())
    };
    let millis = (sidecar.time_secs.max(0.0) * 1000.0).round() as u64;
    let base = format!(
        "dysr-{stem}-{:02}-{:02}-{:02}.{:03}",
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1000 % 60,
        millis % 1000
    );
    let png = (1..)
        .map(|n| dir.join(if n == 1 { format!("{base}.png") } else { format!("{base}-{n}.png") }))
        .find(|path| !path.exists() && !path.with_extension("json").exists())
        .expect("a free name");
    let image =
        presented_rgba(&picture).map_err(|e| super::UiError::Snapshot { path: png.clone(), cause: e.to_string() })?;
    let write_error = |path: &Path, cause: String| super::UiError::Snapshot { path: path.to_owned(), cause };
    let partial_png = dir.join(format!(".{base}.partial.png"));
    image::save_buffer_with_format(
        &partial_png,
        &image.pixels,
        image.width,
        image.height,
        image::ExtendedColorType::Rgba8,
        image::ImageFormat::Png,
    )
    .map_err(|e| write_error(&png, e.to_string()))?;
    let json = png.with_extension("json");
    let partial_json = dir.join(format!(".{base}.partial.json"));
    let text = serde_json::to_string_pretty(sidecar).expect("plain data");
    let written = std::fs::write(&partial_json, text)
        .and_then(|()| std::fs::rename(&partial_png, &png))
        .and_then(|()| std::fs::rename(&partial_json, &json));
    if let Err(error) = written {
        for path in [&partial_png, &partial_json, &png] {
            let _ = std::fs::remove_file(path);
        }
        return Err(write_error(&json, error.to_string()));
    }
    Ok(png)
}
