//! Subtitles: the streams embedded in a local input and the `.srt` files beside it (`NAME.srt`,
//! `NAME.LANG.srt`; Windows-1252 ones too), read in full on
//! a thread of their own (subtitles are small; the video's own pipeline never waits for them) and
//! decoded by FFmpeg into timed cues: text, or the pictures of bitmap subtitles (DVD, PGS, DVB),
//! kept run-length coded.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::Receiver;
use ffmpeg::media::Type as MediaType;
use ffmpeg_next as ffmpeg;
use parking_lot::Mutex;

/// One subtitle shown from `start_secs` to `end_secs`: text, or the pictures of a bitmap stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub start_secs: f64,
    pub end_secs: f64,
    pub text: String,
    pub images: Vec<SubtitleImage>,
}

impl Cue {
    fn shown_at(&self, secs: f64) -> bool {
        self.start_secs <= secs && secs < self.end_secs
    }
}

/// A picture of a bitmap subtitle, placed on the stream's canvas.
#[derive(Debug, Clone, PartialEq)]
pub struct SubtitleImage {
    /// Its top-left corner and size on the canvas, in pixels.
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
    /// The canvas the place refers to, when the stream names one (otherwise the video's size).
    pub canvas: Option<(usize, usize)>,
    /// Straight-alpha RGBA colours of the palette.
    palette: Vec<[u8; 4]>,
    /// Row after row, runs of one palette index: (length, index). A subtitle is mostly
    /// transparent, so a film's worth of pictures stays a few MiB.
    runs: Vec<(u16, u8)>,
}

impl SubtitleImage {
    /// From palette indices (`width` a row, rows `stride` apart) and the palette as FFmpeg keeps
    /// it (`0xAARRGGBB`).
    pub fn from_indices(
        place: (usize, usize, usize, usize),
        canvas: Option<(usize, usize)>,
        indices: &[u8],
        stride: usize,
        argb: &[u32],
    ) -> Self {
        let (x, y, width, height) = place;
        let palette = argb
            .iter()
            .map(|&colour| [(colour >> 16) as u8, (colour >> 8) as u8, colour as u8, (colour >> 24) as u8])
            .collect();
        let mut runs: Vec<(u16, u8)> = Vec::new();
        for row in indices.chunks(stride).take(height) {
            for &index in &row[..width] {
                match runs.last_mut() {
                    Some((length, last)) if *last == index && *length < u16::MAX => *length += 1,
                    _ => runs.push((1, index)),
                }
            }
        }
        Self { x, y, width, height, canvas, palette, runs }
    }

    /// Its pixels, RGBA with straight alpha, row after row; an index outside the palette is
    /// transparent.
    pub fn rgba(&self) -> Vec<u8> {
        let mut pixels = Vec::with_capacity(4 * self.width * self.height);
        for &(length, index) in &self.runs {
            let colour = self.palette.get(usize::from(index)).copied().unwrap_or([0; 4]);
            for _ in 0..length {
                pixels.extend_from_slice(&colour);
            }
        }
        pixels
    }
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
        let lines: Vec<&str> = self
            .cues
            .iter()
            .filter(|cue| cue.shown_at(secs) && !cue.text.is_empty())
            .map(|cue| cue.text.as_str())
            .collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    /// The index of the cue with pictures shown at `secs` (the latest to start, when they overlap).
    pub fn image_cue_at(&self, secs: f64) -> Option<usize> {
        self.cues.iter().rposition(|cue| cue.shown_at(secs) && !cue.images.is_empty())
    }

    /// Adds `cue` in time order. A cue that shows until further notice (PGS) ends where the next
    /// one starts; an empty cue closes it and is not kept; a cue read again (after a seek back)
    /// is not added twice.
    fn insert(&mut self, cue: Cue) {
        let place = self.cues.partition_point(|other| other.start_secs < cue.start_secs);
        if let Some(open) =
            place.checked_sub(1).map(|before| &mut self.cues[before]).filter(|other| other.end_secs == f64::INFINITY)
        {
            open.end_secs = cue.start_secs;
        }
        let seen = self.cues[place..]
            .iter()
            .take_while(|other| other.start_secs == cue.start_secs)
            .any(|other| other.text == cue.text && other.images == cue.images);
        if (!cue.text.is_empty() || !cue.images.is_empty()) && cue.end_secs > cue.start_secs && !seen {
            self.cues.insert(place, cue);
        }
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

    /// Which cue of track `track` shows pictures at `secs` (asked every frame; the pictures
    /// themselves only when it changes, by [`Self::images`]).
    pub fn image_cue_at(&self, track: usize, secs: f64) -> Option<usize> {
        self.tracks.lock().get(track)?.image_cue_at(secs)
    }

    pub fn images(&self, track: usize, cue: usize) -> Vec<SubtitleImage> {
        self.tracks
            .lock()
            .get(track)
            .and_then(|track| track.cues.get(cue))
            .map_or_else(Vec::new, |cue| cue.images.clone())
    }

    pub fn is_loaded(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Starts reading the subtitles of the local file `input` and of a sidecar `.srt` with the
    /// same name, in full. (A URL's come from its player's demuxer as they arrive: [`Self::live`].)
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
            let mut tracks = read_tracks(&path, &wanted, embedded_track_name, None, Timeline::Input);
            for sidecar in sidecars(&path) {
                let name = format!(
                    "sidecar {}",
                    sidecar.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
                );
                let encoding = legacy_encoding(&sidecar);
                tracks.extend(read_tracks(&sidecar, &wanted, |_, _| name.clone(), encoding, Timeline::Zero));
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

    /// The subtitle streams of `input` (opened by a player), filled as their packets arrive: the
    /// cues of what has been read so far, kept across seeks. Returns None when it has none; else
    /// the subtitles, the indices of the streams whose packets it takes, and the body of the
    /// thread that decodes `packets` into them.
    pub fn live(
        input: &ffmpeg::format::context::Input,
        packets: Receiver<ffmpeg::Packet>,
    ) -> Option<LiveSubtitles<impl FnOnce() + Send + 'static>> {
        let (mut decoders, tracks) = StreamDecoders::open(
            input,
            embedded_track_name,
            &input_name(input),
            None,
            super::source::timeline_start_secs(input),
        );
        if tracks.is_empty() {
            return None;
        }
        let streams = decoders.stream_indices();
        let subtitles = Arc::new(Subtitles { tracks: Mutex::new(tracks), done: AtomicBool::new(true) });
        let filling = Arc::clone(&subtitles);
        let decode = move || {
            while let Ok(packet) = packets.recv() {
                // Decoded before the lock is taken: the window reads the cues every frame.
                if let Some((track, cue)) = decoders.decode(&packet) {
                    filling.tracks.lock()[track].insert(cue);
                }
            }
        };
        Some(LiveSubtitles { subtitles, streams, decode })
    }
}

/// What [`Subtitles::live`] sets up.
pub struct LiveSubtitles<F> {
    pub subtitles: Arc<Subtitles>,
    /// The input's stream indices whose packets `decode` takes.
    pub streams: Vec<usize>,
    /// The body of the decoding thread.
    pub decode: F,
}

/// "embedded #2 (eng)".
fn embedded_track_name(index: usize, language: Option<&str>) -> String {
    format!("embedded #{index}{}", language.map(|l| format!(" ({l})")).unwrap_or_default())
}

fn input_name(input: &ffmpeg::format::context::Input) -> String {
    // SAFETY: `url` of an open input is null or a C string it owns.
    unsafe {
        let url = (*input.as_ptr()).url;
        if url.is_null() { String::new() } else { std::ffi::CStr::from_ptr(url).to_string_lossy().into_owned() }
    }
}

/// The `.srt` files beside the video at `path` that belong to it, as mpv finds them: `NAME.srt`,
/// then those with a language between, `NAME.en.srt`, `NAME.pt-BR.srt`, by name.
fn sidecars(path: &Path) -> Vec<PathBuf> {
    let (Some(folder), Some(stem)) = (path.parent(), path.file_stem().map(|stem| stem.to_string_lossy().into_owned()))
    else {
        return Vec::new();
    };
    let folder = if folder.as_os_str().is_empty() { Path::new(".") } else { folder };
    let Ok(entries) = std::fs::read_dir(folder) else { return Vec::new() };
    let mut found: Vec<(bool, PathBuf)> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|candidate| candidate.is_file())
        .filter_map(|candidate| {
            let name = candidate.file_name()?.to_str()?.to_owned();
            // "srt", or "en.srt" with a language between.
            let rest = name.strip_prefix(stem.as_str())?.strip_prefix('.')?;
            let (language, extension) = match rest.rsplit_once('.') {
                Some((language, extension)) => (Some(language), extension),
                None => (None, rest),
            };
            let is_language = |tag: &str| {
                (2..=8).contains(&tag.len()) && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            };
            match language {
                _ if !extension.eq_ignore_ascii_case("srt") => None,
                None => Some((false, candidate)),
                Some(tag) if is_language(tag) => Some((true, candidate)),
                Some(_) => None,
            }
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, sidecar)| sidecar).collect()
}

/// The encoding of the text file at `path` when it is not Unicode: Windows-1252, which most
/// subtitle files from before UTF-8 use (FFmpeg reads UTF-8 and, by their byte-order mark,
/// UTF-16; it drops every cue of a file in another encoding unless told which).
fn legacy_encoding(path: &Path) -> Option<&'static str> {
    let bytes = std::fs::read(path).ok()?;
    let utf16 = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
    (!utf16 && std::str::from_utf8(&bytes).is_err()).then_some("CP1252")
}

/// What a file's cue times count from.
enum Timeline {
    /// The file's own start time, as the video's do: its embedded tracks.
    Input,
    /// Zero, the start of the video's timeline: a sidecar, whose times are the video's as shown.
    Zero,
}

/// Every subtitle stream of the file at `path`, decoded (text in `encoding` where it is given,
/// else UTF-8); streams FFmpeg cannot read are skipped with a warning.
fn read_tracks(
    path: &Path,
    wanted: &dyn Fn() -> bool,
    name: impl Fn(usize, Option<&str>) -> String,
    encoding: Option<&str>,
    timeline: Timeline,
) -> Vec<Track> {
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
    let start_secs = match timeline {
        Timeline::Input => super::source::timeline_start_secs(&input),
        Timeline::Zero => 0.0,
    };
    let (mut decoders, mut tracks) =
        StreamDecoders::open(&input, name, &path.display().to_string(), encoding, start_secs);
    if tracks.is_empty() {
        return Vec::new();
    }
    for (_, packet) in input.packets() {
        if !wanted() {
            return Vec::new();
        }
        if let Some((track, cue)) = decoders.decode(&packet) {
            tracks[track].insert(cue);
        }
    }
    tracks
}

/// Makes the decoder of `context` convert its text from `encoding` to UTF-8 (FFmpeg's
/// `sub_charenc`, through iconv).
fn set_text_encoding(context: &mut ffmpeg::codec::Context, encoding: &str) -> Result<(), ffmpeg::Error> {
    let value = std::ffi::CString::new(encoding).map_err(|_| ffmpeg::Error::InvalidData)?;
    // SAFETY: sets a string option of the codec context, not yet opened, through FFmpeg's API.
    let status =
        unsafe { ffmpeg::ffi::av_opt_set(context.as_mut_ptr().cast(), c"sub_charenc".as_ptr(), value.as_ptr(), 0) };
    if status < 0 { Err(ffmpeg::Error::from(status)) } else { Ok(()) }
}

/// The subtitle streams of an input, each with its decoder; `tracks[k]` takes the cues of the
/// `k`th.
struct StreamDecoders {
    streams: Vec<(usize, ffmpeg::Rational, ffmpeg::decoder::Subtitle)>,
    /// Taken off every cue time: where the timeline starts on the input's clock.
    start_secs: f64,
}

impl StreamDecoders {
    /// Decoders of the subtitle streams of `input` (text in `encoding` where it is given, times
    /// from `start_secs` on the input's clock) and their tracks, empty; a stream FFmpeg cannot
    /// decode is left out with a warning naming `input_name`.
    fn open(
        input: &ffmpeg::format::context::Input,
        name: impl Fn(usize, Option<&str>) -> String,
        input_name: &str,
        encoding: Option<&str>,
        start_secs: f64,
    ) -> (Self, Vec<Track>) {
        let mut streams = Vec::new();
        let mut tracks = Vec::new();
        for stream in input.streams() {
            if stream.parameters().medium() != MediaType::Subtitle {
                continue;
            }
            let opened = ffmpeg::codec::Context::from_parameters(stream.parameters())
                .and_then(|mut context| {
                    if let Some(encoding) = encoding {
                        set_text_encoding(&mut context, encoding)?;
                    }
                    Ok(context)
                })
                .and_then(|context| context.decoder().subtitle());
            match opened {
                Ok(decoder) => {
                    tracks.push(Track {
                        name: name(stream.index(), stream.metadata().get("language")),
                        cues: Vec::new(),
                    });
                    streams.push((stream.index(), stream.time_base(), decoder));
                }
                Err(error) => tracing::warn!(
                    "{input_name}: subtitle stream #{}: {}",
                    stream.index(),
                    super::error::ffmpeg_cause(&error)
                ),
            }
        }
        (Self { streams, start_secs }, tracks)
    }

    /// The input's indices of the streams decoded, in track order.
    fn stream_indices(&self) -> Vec<usize> {
        self.streams.iter().map(|(index, ..)| *index).collect()
    }

    /// Decodes `packet` (of any stream): the cue it shows and the track it belongs to, None when
    /// it is not one of these streams' or shows nothing.
    fn decode(&mut self, packet: &ffmpeg::Packet) -> Option<(usize, Cue)> {
        let k = self.streams.iter().position(|(index, ..)| *index == packet.stream())?;
        let (_, time_base, decoder) = &mut self.streams[k];
        let mut subtitle = ffmpeg::Subtitle::new();
        if !matches!(decoder.decode(packet, &mut subtitle), Ok(true)) {
            return None;
        }
        let at = packet.pts()? as f64 * f64::from(*time_base) - self.start_secs;
        let start_secs = at + f64::from(subtitle.start()) / 1000.0;
        let end_secs = match (packet.duration(), subtitle.end()) {
            (duration, _) if duration > 0 => at + duration as f64 * f64::from(*time_base),
            (_, u32::MAX) => f64::INFINITY,
            (_, end) => at + f64::from(end) / 1000.0,
        };
        // SAFETY: reading plain fields of the open decoder.
        let canvas = unsafe { ((*decoder.as_ptr()).width, (*decoder.as_ptr()).height) };
        let canvas = (canvas.0 > 0 && canvas.1 > 0).then_some((canvas.0 as usize, canvas.1 as usize));
        let mut text = Vec::new();
        let mut images = Vec::new();
        for rect in subtitle.rects() {
            match rect {
                ffmpeg::subtitle::Rect::Text(line) => text.push(line.get().to_owned()),
                ffmpeg::subtitle::Rect::Ass(ass) => text.push(ass_dialogue_text(ass.get())),
                ffmpeg::subtitle::Rect::Bitmap(bitmap) => images.extend(bitmap_image(&bitmap, canvas)),
                ffmpeg::subtitle::Rect::None(_) => {}
            }
        }
        text.retain(|line| !line.trim().is_empty());
        Some((k, Cue { start_secs, end_secs, text: text.join("\n"), images }))
    }
}

/// The picture of a bitmap rect, None when it is empty or its planes are missing.
fn bitmap_image(bitmap: &ffmpeg::subtitle::Bitmap, canvas: Option<(usize, usize)>) -> Option<SubtitleImage> {
    let (width, height) = (bitmap.width() as usize, bitmap.height() as usize);
    // SAFETY: a bitmap rect FFmpeg decoded holds `height` rows of `linesize[0]` palette indices
    // in `data[0]` and `nb_colors` 32-bit colours in `data[1]`.
    unsafe {
        let rect = &*bitmap.as_ptr();
        let stride = usize::try_from(rect.linesize[0]).ok()?;
        let colours = usize::try_from(rect.nb_colors).ok()?;
        if width == 0 || height == 0 || stride < width || rect.data[0].is_null() || rect.data[1].is_null() {
            return None;
        }
        let indices = std::slice::from_raw_parts(rect.data[0], stride * (height - 1) + width);
        let palette = std::slice::from_raw_parts(rect.data[1].cast::<u32>(), colours);
        Some(SubtitleImage::from_indices((bitmap.x(), bitmap.y(), width, height), canvas, indices, stride, palette))
    }
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

    /// A sidecar in Windows-1252 (the accents not UTF-8) reads as the text it is; UTF-8 and
    /// UTF-16 files are left to FFmpeg.
    #[test]
    fn a_windows_1252_sidecar_reads_as_its_text() {
        let dir = std::env::temp_dir().join(format!("dysr-srt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let legacy = dir.join("legacy.srt");
        std::fs::write(&legacy, b"1\r\n00:00:00,100 --> 00:00:01,900\r\nCaf\xe9 cr\xe8me \x80 5\r\n\r\n").unwrap();
        let unicode = dir.join("unicode.srt");
        std::fs::write(&unicode, "1\n00:00:00,100 --> 00:00:01,900\nCaf\u{e9}\n\n").unwrap();
        assert_eq!((legacy_encoding(&legacy), legacy_encoding(&unicode)), (Some("CP1252"), None));
        let tracks =
            read_tracks(&legacy, &|| true, |_, _| "sidecar".to_owned(), legacy_encoding(&legacy), Timeline::Zero);
        let texts: Vec<&str> = tracks.iter().flat_map(|track| &track.cues).map(|cue| cue.text.as_str()).collect();
        assert_eq!(texts, ["Caf\u{e9} cr\u{e8}me \u{20ac} 5"]);
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A file whose clock starts at 100 s shows its embedded cue at 1 s into the video, where the
    /// player's timeline has it; a sidecar's cue at 1 s stays at 1 s (its first cue is not a start
    /// to count from).
    #[test]
    fn embedded_cues_count_from_the_inputs_start_and_sidecar_cues_from_zero() {
        let dir = std::env::temp_dir().join(format!("dysr-srt-start-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (sidecar, video) = (dir.join("cue.srt"), dir.join("late-clock.mkv"));
        std::fs::write(&sidecar, "1\n00:00:01,000 --> 00:00:02,000\nhello\n\n").unwrap();
        let made = std::process::Command::new("ffmpeg")
            .args([
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=64x48:rate=25:duration=3",
                "-i",
            ])
            .arg(&sidecar)
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-c:s", "srt", "-output_ts_offset", "100"])
            .arg(&video)
            .status()
            .expect("ffmpeg runs");
        assert!(made.success());
        let first_cue = |tracks: Vec<Track>| (tracks[0].cues[0].start_secs, tracks[0].cues[0].end_secs);
        let embedded = read_tracks(&video, &|| true, embedded_track_name, None, Timeline::Input);
        let beside = read_tracks(&sidecar, &|| true, |_, _| "sidecar".to_owned(), None, Timeline::Zero);
        for (start, end) in [first_cue(embedded), first_cue(beside)] {
            assert!((start - 1.0).abs() < 1e-3 && (end - 2.0).abs() < 1e-3, "{start}..{end}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    /// `NAME.srt` comes first, then `NAME.LANG.srt` by name; other names are not the video's.
    #[test]
    fn sidecars_are_found_with_or_without_a_language() {
        let dir = std::env::temp_dir().join(format!("dysr-sidecars-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["film.mkv", "film.fr.srt", "film.SRT", "film.en.srt", "film.pt-BR.srt", "film2.srt", "film.en.txt"]
        {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        std::fs::write(dir.join("film.a.very.long.srt"), b"").unwrap();
        let names: Vec<String> = sidecars(&dir.join("film.mkv"))
            .iter()
            .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["film.SRT", "film.en.srt", "film.fr.srt", "film.pt-BR.srt"]);
        std::fs::remove_dir_all(&dir).ok();
    }

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
                Cue { start_secs: 0.0, end_secs: 2.0, text: "one".to_owned(), images: Vec::new() },
                Cue { start_secs: 1.0, end_secs: 3.0, text: "two".to_owned(), images: Vec::new() },
            ],
        };
        assert_eq!(track.text_at(0.5).as_deref(), Some("one"));
        assert_eq!(track.text_at(1.5).as_deref(), Some("one\ntwo"));
        assert_eq!(track.text_at(2.5).as_deref(), Some("two"));
        assert_eq!(track.text_at(3.0), None);
    }

    /// Run-length coding keeps every pixel: a 5x3 picture with runs across rows, a wider stride
    /// than its rows, and an index past the palette (transparent).
    #[test]
    fn a_picture_comes_back_pixel_for_pixel() {
        #[rustfmt::skip]
        let indices = [
            0, 0, 1, 1, 1, 9, 9,
            1, 1, 1, 0, 2, 9, 9,
            2, 2, 2, 2, 7,
        ];
        let palette = [0x0000_0000, 0xFFFF_FF00, 0x80_10_20_30];
        let image = SubtitleImage::from_indices((4, 6, 5, 3), Some((64, 48)), &indices, 7, &palette);
        let expected: Vec<u8> = [0, 0, 1, 1, 1, 1, 1, 1, 0, 2, 2, 2, 2, 2, 7]
            .iter()
            .flat_map(|&index| match index {
                0 => [0, 0, 0, 0],
                1 => [255, 255, 0, 255],
                2 => [0x10, 0x20, 0x30, 0x80],
                _ => [0, 0, 0, 0],
            })
            .collect();
        assert_eq!(image.rgba(), expected);
        assert_eq!(image.runs.len(), 5);
    }

    /// A cue with pictures is found by time; one without an end (PGS) is closed by the next.
    #[test]
    fn picture_cues_are_found_by_time() {
        let image = SubtitleImage::from_indices((0, 0, 1, 1), None, &[1], 1, &[0, 0xFFFF_FFFF]);
        let cue = |start_secs, end_secs| Cue { start_secs, end_secs, text: String::new(), images: vec![image.clone()] };
        let track = Track { name: "t".to_owned(), cues: vec![cue(1.0, 2.0), cue(3.0, 4.0)] };
        assert_eq!(track.image_cue_at(0.5), None);
        assert_eq!(track.image_cue_at(1.5), Some(0));
        assert_eq!(track.image_cue_at(3.5), Some(1));
        assert_eq!(track.text_at(1.5), None, "pictures are not text");
    }

    /// Cues arrive out of order after a seek back, again, or without an end (PGS): they are kept
    /// in time order, once each, and an open one is closed by the next (an empty clear included).
    #[test]
    fn inserted_cues_stay_ordered_once_each_and_close_open_ones() {
        let text =
            |start_secs, end_secs, text: &str| Cue { start_secs, end_secs, text: text.to_owned(), images: Vec::new() };
        let mut track = Track { name: "t".to_owned(), cues: Vec::new() };
        track.insert(text(5.0, 6.0, "later"));
        track.insert(text(1.0, f64::INFINITY, "open"));
        track.insert(text(1.0, f64::INFINITY, "open"));
        assert_eq!(track.cues.iter().map(|cue| cue.text.as_str()).collect::<Vec<_>>(), ["open", "later"]);
        track.insert(text(3.0, 3.0, ""));
        assert_eq!(track.cues.len(), 2, "an empty cue is not kept");
        assert_eq!(track.cues[0].end_secs, 3.0, "the clear ends the open cue");
        assert_eq!(track.text_at(2.0).as_deref(), Some("open"));
        assert_eq!(track.text_at(4.0), None);
    }
}
