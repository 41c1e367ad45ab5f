//! Text subtitles: the text streams embedded in a local input and a sidecar `.srt` beside it, read
//! in full on a thread of their own (subtitles are small; the video's own pipeline never waits for
//! them) and decoded by FFmpeg into timed cues. Bitmap subtitles (DVD, PGS) are not drawn.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ffmpeg::media::Type as MediaType;
use ffmpeg_next as ffmpeg;
use parking_lot::Mutex;

/// One subtitle shown from `start_secs` to `end_secs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub start_secs: f64,
    pub end_secs: f64,
    pub text: String,
}

/// A subtitle track: where it came from and its cues in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// "embedded #2 (eng)" or "sidecar clip.srt".
    pub name: String,
    pub cues: Vec<Cue>,
}

impl Track {
    /// The text shown at `secs` (cues that overlap are stacked), None when nothing is.
    pub fn text_at(&self, secs: f64) -> Option<String> {
        let lines: Vec<&str> = self.cues.iter().filter(|cue| cue.start_secs <= secs && secs < cue.end_secs).map(|cue| cue.text.as_str()).collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }
}

/// The tracks of an input, filled in by a loader thread; `done` once it has finished.
#[derive(Default)]
pub struct Subtitles {
    tracks: Mutex<Vec<Track>>,
    done: AtomicBool,
}

impl Subtitles {
    pub fn track_count(&self) -> usize {
        self.tracks.lock().len()
    }

    pub fn track_name(&self, track: usize) -> Option<String> {
        self.tracks.lock().get(track).map(|track| track.name.clone())
    }

    /// Track `track`'s text at `secs` (read in place: the window asks every frame).
    pub fn text_at(&self, track: usize, secs: f64) -> Option<String> {
        self.tracks.lock().get(track)?.text_at(secs)
    }

    pub fn is_loaded(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Starts reading the text subtitles of `input` (a local file; URLs have none read) and of a
    /// sidecar `.srt` with the same name.
    pub fn load(input: &str) -> Arc<Subtitles> {
        let subtitles = Arc::new(Subtitles::default());
        let path = PathBuf::from(input.strip_prefix("file://").unwrap_or(input));
        if super::source::is_url(input) || !path.is_file() {
            subtitles.done.store(true, Ordering::Release);
            return subtitles;
        }
        let filling = Arc::clone(&subtitles);
        let spawned = std::thread::Builder::new().name("subtitles".to_owned()).spawn(move || {
            // Nobody waits for them once the player that asked is gone.
            let wanted = || Arc::strong_count(&filling) > 1;
            let mut tracks = read_text_tracks(&path, &wanted, |index, language| format!("embedded #{index}{}", language.map(|l| format!(" ({l})")).unwrap_or_default()));
            let sidecar = path.with_extension("srt");
            if sidecar.is_file() {
                let name = format!("sidecar {}", sidecar.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
                tracks.extend(read_text_tracks(&sidecar, &wanted, |_, _| name.clone()));
            }
            *filling.tracks.lock() = tracks;
            filling.done.store(true, Ordering::Release);
        });
        if let Err(error) = spawned {
            tracing::warn!("{input}: subtitles not read: {error}");
            subtitles.done.store(true, Ordering::Release);
        }
        subtitles
    }
}

/// Every text subtitle stream of the file at `path`, decoded; streams FFmpeg cannot read are
/// skipped with a warning.
fn read_text_tracks(path: &Path, wanted: &dyn Fn() -> bool, name: impl Fn(usize, Option<&str>) -> String) -> Vec<Track> {
    super::init_ffmpeg();
    let mut options = ffmpeg::Dictionary::new();
    options.set("protocol_whitelist", "file");
    let mut input = match ffmpeg::format::input_with_dictionary(&path, options) {
        Ok(input) => input,
        Err(error) => {
            tracing::warn!("{}: subtitles not read: {}", path.display(), super::error::ffmpeg_cause(&error));
            return Vec::new();
        }
    };
    let mut decoders = Vec::new();
    for stream in input.streams() {
        if stream.parameters().medium() != MediaType::Subtitle {
            continue;
        }
        let opened = ffmpeg::codec::Context::from_parameters(stream.parameters()).and_then(|context| context.decoder().subtitle());
        match opened {
            Ok(decoder) => {
                let track = Track { name: name(stream.index(), stream.metadata().get("language")), cues: Vec::new() };
                decoders.push((stream.index(), stream.time_base(), decoder, track));
            }
            Err(error) => tracing::warn!("{}: subtitle stream #{}: {}", path.display(), stream.index(), super::error::ffmpeg_cause(&error)),
        }
    }
    if decoders.is_empty() {
        return Vec::new();
    }
    for (stream, packet) in input.packets() {
        if !wanted() {
            return Vec::new();
        }
        let Some((_, time_base, decoder, track)) = decoders.iter_mut().find(|(index, ..)| *index == stream.index()) else { continue };
        let mut subtitle = ffmpeg::Subtitle::new();
        if !matches!(decoder.decode(&packet, &mut subtitle), Ok(true)) {
            continue;
        }
        let Some(pts) = packet.pts() else { continue };
        let at = pts as f64 * f64::from(*time_base);
        let start_secs = at + f64::from(subtitle.start()) / 1000.0;
        let end_secs = if packet.duration() > 0 { at + packet.duration() as f64 * f64::from(*time_base) } else { at + f64::from(subtitle.end()) / 1000.0 };
        let text: Vec<String> = subtitle
            .rects()
            .filter_map(|rect| match rect {
                ffmpeg::subtitle::Rect::Text(text) => Some(text.get().to_owned()),
                ffmpeg::subtitle::Rect::Ass(ass) => Some(ass_dialogue_text(ass.get())),
                _ => None,
            })
            .filter(|text| !text.trim().is_empty())
            .collect();
        if !text.is_empty() && end_secs > start_secs {
            track.cues.push(Cue { start_secs, end_secs, text: text.join("\n") });
        }
    }
    decoders
        .into_iter()
        .map(|(.., mut track)| {
            track.cues.sort_by(|a, b| a.start_secs.total_cmp(&b.start_secs));
            track
        })
        .collect()
}

/// The plain text of an ASS dialogue event as FFmpeg gives it ("ReadOrder,Layer,Style,Name,
/// MarginL,MarginR,MarginV,Effect,Text"): the text field, override tags `{...}` removed, `\N`
/// and `\n` as line breaks, `\h` as a space.
pub fn ass_dialogue_text(event: &str) -> String {
    let text = event.splitn(9, ',').nth(8).unwrap_or(event);
    let mut plain = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match (c, in_tag) {
            ('{', _) => in_tag = true,
            ('}', true) => in_tag = false,
            (_, true) => {}
            _ => plain.push(c),
        }
    }
    plain.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ass_events_become_plain_text() {
        assert_eq!(ass_dialogue_text("0,0,Default,,0,0,0,,Hello"), "Hello");
        assert_eq!(ass_dialogue_text("3,0,Default,Bob,0,0,0,,{\\i1}Two,{\\i0} lines\\Nhere"), "Two, lines\nhere");
        assert_eq!(ass_dialogue_text("1,0,Default,,0,0,0,,a\\hb"), "a b");
    }

    #[test]
    fn overlapping_cues_stack() {
        let track = Track {
            name: "t".to_owned(),
            cues: vec![
                Cue { start_secs: 0.0, end_secs: 2.0, text: "one".to_owned() },
                Cue { start_secs: 1.0, end_secs: 3.0, text: "two".to_owned() },
            ],
        };
        assert_eq!(track.text_at(0.5).as_deref(), Some("one"));
        assert_eq!(track.text_at(1.5).as_deref(), Some("one\ntwo"));
        assert_eq!(track.text_at(2.5).as_deref(), Some("two"));
        assert_eq!(track.text_at(3.0), None);
    }
}
