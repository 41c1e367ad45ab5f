//! Opening an input: a local file or a URL, with FFmpeg's protocols restricted to what that kind of
//! input needs, blocking network calls bounded by a timeout and interruptible on close, and the
//! decoders set up before any thread starts, so a bad input is reported once, at open.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ffmpeg::codec::threading;
use ffmpeg::media::Type as MediaType;
use ffmpeg_next as ffmpeg;

use super::error::{MediaError, ffmpeg_cause};
use super::geometry::DisplayGeometry;

/// Protocols a network input may use. `file` is absent on purpose: a remote playlist must never make
/// the player read local files.
const NETWORK_PROTOCOL_WHITELIST: &str = "http,https,tls,tcp,udp,rtp,rtsp,rtmp,crypto,httpproxy,data";
/// Protocols a local input may use: the file itself (and playlists next to it), nothing remote.
const LOCAL_PROTOCOL_WHITELIST: &str = "file";
/// The input that names standard input, as in mpv (`yt-dlp -o - URL | dysr play -`).
pub const STDIN: &str = "-";
/// Protocols standard input may use: the pipe alone.
const STDIN_PROTOCOL_WHITELIST: &str = "pipe";
/// Every blocking network read or connect gives up after this long.
/// How long a network connect or read may block before the input counts as failed.
pub const DEFAULT_NETWORK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The streams dysr plays from an input.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    /// What the user gave us (path or URL), used in every message about this input.
    pub input: String,
    /// File name (or last URL segment) for the window title.
    pub title: String,
    pub duration_secs: Option<f64>,
    /// The container's start time, which every time the player speaks of (pts, seeks, chapters,
    /// embedded cues) counts from, as in mpv: a broadcast recording whose clock starts at 3600 s
    /// plays from 0.
    pub start_secs: f64,
    pub video: VideoStreamInfo,
    pub audio: Option<AudioStreamInfo>,
    /// What the media-info dialog lists: (what, value) rows for the container and every stream.
    pub details: Vec<(String, String)>,
    /// Every audio stream's index, in file order (`#` cycles through them).
    pub audio_streams: Vec<usize>,
    /// The input's chapters, in time order (PgUp / PgDn move between them).
    pub chapters: Vec<Chapter>,
}

impl StreamInfo {
    /// `secs` on this input's timeline: a negative time counts back from its end (from 0 when its
    /// length is unknown), as `--start -30` does.
    pub fn time_at(&self, secs: f64) -> f64 {
        if secs < 0.0 { self.duration_secs.map_or(0.0, |duration| (duration + secs).max(0.0)) } else { secs }
    }
}

/// A chapter: where it starts and its title (empty when it has none).
#[derive(Debug, Clone, PartialEq)]
pub struct Chapter {
    pub start_secs: f64,
    pub title: String,
}

/// Going back within this many seconds of a chapter's start goes to the one before, as in mpv.
pub const CHAPTER_BACK_THRESHOLD_SECS: f64 = 5.0;

/// Which of `chapters` (in time order) PgDn (`forward`) or PgUp goes to from `position_secs`:
/// forward, the next to start; back, the start of the one playing, or of the one before when that
/// start is less than [`CHAPTER_BACK_THRESHOLD_SECS`] behind. None before the first chapter going
/// back, or after the last going forward.
pub fn chapter_from(chapters: &[Chapter], position_secs: f64, forward: bool) -> Option<usize> {
    // A seek lands a little before or after its target: a chapter started within a frame or two
    // is the one playing.
    const LANDING_SECS: f64 = 0.1;
    let playing = chapters.iter().rposition(|chapter| chapter.start_secs <= position_secs + LANDING_SECS);
    if forward {
        return Some(playing.map_or(0, |index| index + 1)).filter(|&index| index < chapters.len());
    }
    let playing = playing?;
    if position_secs - chapters[playing].start_secs >= CHAPTER_BACK_THRESHOLD_SECS {
        Some(playing)
    } else {
        Some(playing.saturating_sub(1))
    }
}

#[derive(Debug, Clone)]
pub struct VideoStreamInfo {
    pub index: usize,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub frames_per_sec: f64,
    pub time_base: ffmpeg::Rational,
    /// Rotation, flip and sample aspect from the container.
    pub geometry: DisplayGeometry,
    /// A cover picture (a song's album art): one picture for the whole input.
    pub still: bool,
}

#[derive(Debug, Clone)]
pub struct AudioStreamInfo {
    pub index: usize,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub time_base: ffmpeg::Rational,
}

/// An audio stream as a decoder needs it, kept so that a player can switch to it without opening
/// its input again.
#[derive(Clone)]
pub struct AudioTrack {
    pub index: usize,
    parameters: ffmpeg::codec::Parameters,
    time_base: ffmpeg::Rational,
}

impl AudioTrack {
    fn of(stream: &ffmpeg::format::stream::Stream) -> Self {
        Self { index: stream.index(), parameters: stream.parameters().clone(), time_base: stream.time_base() }
    }

    /// A decoder for this track of `input`, and what it plays.
    pub fn open(&self, input: &str) -> Result<(AudioStreamInfo, ffmpeg::decoder::Audio), MediaError> {
        let context = decoder_context(input, &self.parameters, self.time_base, "audio")?;
        let decoder = context.decoder().audio().map_err(|e| MediaError::DecoderSetup {
            input: input.to_owned(),
            kind: "audio",
            cause: ffmpeg_cause(&e),
        })?;
        let info = AudioStreamInfo {
            index: self.index,
            codec: codec_name(self.parameters.id()),
            sample_rate: decoder.rate(),
            channels: decoder.channels(),
            time_base: self.time_base,
        };
        Ok((info, decoder))
    }
}

/// An opened input with its decoders, ready to be handed to the pipeline threads.
pub struct MediaSource {
    pub info: StreamInfo,
    pub input: ffmpeg::format::context::Input,
    pub video_decoder: ffmpeg::decoder::Video,
    pub audio_decoder: Option<ffmpeg::decoder::Audio>,
    /// Every audio stream, in file order (as [`StreamInfo::audio_streams`]).
    pub audio_tracks: Vec<AudioTrack>,
    /// Set on close: interrupts any blocking FFmpeg I/O on this input.
    pub abort: Arc<AtomicBool>,
}

/// True when `input` names a network resource rather than a local path.
pub fn is_url(input: &str) -> bool {
    input.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+') && scheme != "file"
    })
}

impl MediaSource {
    /// Opens `input` (a path or a URL) and sets up its decoders.
    pub fn open(input: &str) -> Result<Self, MediaError> {
        Self::open_with(input, DEFAULT_NETWORK_TIMEOUT, None)
    }

    /// [`Self::open`] with network connects and reads bounded by `network_timeout`, playing the
    /// `audio_track`th audio stream (from 0, in file order) instead of FFmpeg's best when the input
    /// has that many.
    pub fn open_with(
        input: &str,
        network_timeout: std::time::Duration,
        audio_track: Option<usize>,
    ) -> Result<Self, MediaError> {
        super::init_ffmpeg();
        let network = is_url(input);
        let from_stdin = input == STDIN;
        if from_stdin && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            // Reading would wait for the keyboard; nothing was piped in.
            return Err(MediaError::Open {
                input: input.to_owned(),
                cause: "standard input is a terminal: pipe a video into it".to_owned(),
            });
        }
        if !network && !from_stdin {
            let path = Path::new(input.strip_prefix("file://").unwrap_or(input));
            match std::fs::metadata(path) {
                Err(_) => return Err(MediaError::NotFound { input: input.to_owned() }),
                Ok(meta) if meta.is_file() && meta.len() == 0 => {
                    return Err(MediaError::Empty { input: input.to_owned() });
                }
                Ok(_) => {}
            }
        }

        let mut options = if network {
            network_options(network_timeout)
        } else {
            let mut local = ffmpeg::Dictionary::new();
            local.set(
                "protocol_whitelist",
                if from_stdin { STDIN_PROTOCOL_WHITELIST } else { LOCAL_PROTOCOL_WHITELIST },
            );
            local
        };
        // A live HLS playlist that stops growing ends after this many reloads without a new
        // segment (one per target duration) instead of FFmpeg's 1000: about the network timeout in
        // seconds, at least 3.
        let live_reloads = network_timeout.as_secs().max(3).to_string();
        options.set("m3u8_hold_counters", &live_reloads);
        let abort = Arc::new(AtomicBool::new(false));
        let abort_flag = Arc::clone(&abort);
        let open_error = |e: ffmpeg::Error| MediaError::Open { input: input.to_owned(), cause: ffmpeg_cause(&e) };
        let ctx = ffmpeg::format::input_with_interrupt_and_dictionary(
            if from_stdin { "pipe:0" } else { input },
            move || abort_flag.load(Ordering::Relaxed),
            options,
        )
        .map_err(open_error)?;

        let video_stream = ctx
            .streams()
            .best(MediaType::Video)
            .ok_or_else(|| MediaError::NoVideoStream { input: input.to_owned() })?;
        let video_decoder = open_video_decoder(input, &video_stream)?;
        let video = VideoStreamInfo {
            index: video_stream.index(),
            codec: codec_name(video_stream.parameters().id()),
            width: video_decoder.width(),
            height: video_decoder.height(),
            frames_per_sec: frames_per_sec(&video_stream),
            time_base: video_stream.time_base(),
            geometry: display_geometry(&video_stream, video_decoder.aspect_ratio()),
            still: video_stream.disposition().contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC),
        };

        // A broken or unsupported audio track does not stop playback: the picture plays on the
        // silent clock, and the reason is logged.
        let audio_tracks: Vec<AudioTrack> = ctx
            .streams()
            .filter(|stream| stream.parameters().medium() == MediaType::Audio)
            .map(|stream| AudioTrack::of(&stream))
            .collect();
        let audio_streams: Vec<usize> = audio_tracks.iter().map(|track| track.index).collect();
        let chosen_audio = audio_track
            .and_then(|track| audio_tracks.get(track))
            .cloned()
            .or_else(|| ctx.streams().best(MediaType::Audio).map(|stream| AudioTrack::of(&stream)));
        let (audio, audio_decoder) = match chosen_audio.map(|track| track.open(input)) {
            None => (None, None),
            Some(Ok((info, decoder))) => (Some(info), Some(decoder)),
            Some(Err(e)) => {
                tracing::warn!("{e}; playing without sound");
                (None, None)
            }
        };

        let duration_secs = (ctx.duration() > 0).then(|| ctx.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE));
        let start_secs = timeline_start_secs(&ctx);
        let mut chapters: Vec<Chapter> = ctx
            .chapters()
            .map(|chapter| Chapter {
                start_secs: chapter.start() as f64 * f64::from(chapter.time_base()) - start_secs,
                title: chapter.metadata().get("title").unwrap_or_default().to_owned(),
            })
            .collect();
        chapters.sort_by(|a, b| a.start_secs.total_cmp(&b.start_secs));
        let details = media_details(&ctx, (video.index, &video_decoder), duration_secs, chapters.len());
        let info = StreamInfo {
            input: input.to_owned(),
            title: title_of(input),
            duration_secs,
            start_secs,
            video,
            audio,
            details,
            audio_streams,
            chapters,
        };
        Ok(Self { info, input: ctx, video_decoder, audio_decoder, audio_tracks, abort })
    }
}

/// FFmpeg's options for reading from the network: only network protocols, and every connect and
/// read given up after `network_timeout`.
fn network_options(network_timeout: std::time::Duration) -> ffmpeg::Dictionary<'static> {
    let mut options = ffmpeg::Dictionary::new();
    options.set("protocol_whitelist", NETWORK_PROTOCOL_WHITELIST);
    let micros = network_timeout.as_micros().max(1).to_string();
    options.set("rw_timeout", &micros);
    options.set("timeout", &micros);
    options
}

/// The first `limit` bytes at `url` (a remote playlist), read with the protocols a network input
/// may use, each connect and read given up after `network_timeout`.
pub fn read_url(url: &str, network_timeout: std::time::Duration, limit: usize) -> Result<Vec<u8>, MediaError> {
    super::init_ffmpeg();
    let failed = |cause: String| MediaError::Open { input: url.to_owned(), cause };
    let c_url = std::ffi::CString::new(url).map_err(|_| failed("the URL holds a NUL character".to_owned()))?;
    let options = network_options(network_timeout);
    let mut io: *mut ffmpeg::ffi::AVIOContext = std::ptr::null_mut();
    // SAFETY: FFmpeg's I/O API on a context this function owns and closes; the dictionary is
    // handed over and freed here whatever FFmpeg left in it.
    unsafe {
        let mut dictionary = options.disown();
        let status = ffmpeg::ffi::avio_open2(
            &mut io,
            c_url.as_ptr(),
            ffmpeg::ffi::AVIO_FLAG_READ,
            std::ptr::null(),
            &mut dictionary,
        );
        ffmpeg::ffi::av_dict_free(&mut dictionary);
        if status < 0 {
            return Err(failed(ffmpeg_cause(&ffmpeg::Error::from(status))));
        }
        let mut body = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let outcome = loop {
            let read = ffmpeg::ffi::avio_read(io, chunk.as_mut_ptr(), chunk.len() as i32);
            if read == ffmpeg::ffi::AVERROR_EOF || read == 0 {
                break Ok(());
            }
            if read < 0 {
                break Err(failed(ffmpeg_cause(&ffmpeg::Error::from(read))));
            }
            body.extend_from_slice(&chunk[..read as usize]);
            if body.len() >= limit {
                body.truncate(limit);
                break Ok(());
            }
        };
        ffmpeg::ffi::avio_closep(&mut io);
        outcome.map(|()| body)
    }
}

/// The container's start time in seconds (0 when it has none): what the player's timeline counts
/// from.
pub fn timeline_start_secs(ctx: &ffmpeg::format::context::Input) -> f64 {
    // SAFETY: reading a plain integer field of an open format context.
    let start = unsafe { (*ctx.as_ptr()).start_time };
    if start == ffmpeg::ffi::AV_NOPTS_VALUE { 0.0 } else { start as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE) }
}

/// The container and each stream as the media-info dialog lists them.
fn media_details(
    ctx: &ffmpeg::format::context::Input,
    (video_index, video): (usize, &ffmpeg::decoder::Video),
    duration_secs: Option<f64>,
    chapters: usize,
) -> Vec<(String, String)> {
    let mut rows = vec![("container".to_owned(), format!("{} ({})", ctx.format().name(), ctx.format().description()))];
    if let Some(secs) = duration_secs {
        rows.push(("duration".to_owned(), format!("{secs:.3} s")));
    }
    if ctx.bit_rate() > 0 {
        rows.push(("bitrate".to_owned(), format!("{} kb/s", ctx.bit_rate() / 1000)));
    }
    if chapters > 0 {
        rows.push(("chapters".to_owned(), chapters.to_string()));
    }
    let tag = |name: &str| -> String { name.trim_start_matches("Unspecified").to_lowercase() };
    for stream in ctx.streams() {
        let parameters = stream.parameters();
        let label = format!("stream #{} {:?}", stream.index(), parameters.medium()).to_lowercase();
        // SAFETY: plain fields of the stream's codec parameters.
        let (bit_rate, width, height, rate, channels) = unsafe {
            let p = &*parameters.as_ptr();
            (p.bit_rate, p.width, p.height, p.sample_rate, p.ch_layout.nb_channels)
        };
        let bitrate = if bit_rate > 0 { format!(", {} kb/s", bit_rate / 1000) } else { String::new() };
        let language = stream.metadata().get("language").map(|language| format!(" [{language}]")).unwrap_or_default();
        let value = match parameters.medium() {
            MediaType::Video if stream.disposition().contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC) => {
                format!(
                    "{} {width}x{height}, cover picture{}",
                    codec_name(parameters.id()),
                    if stream.index() == video_index { "" } else { " (not played)" }
                )
            }
            MediaType::Video if stream.index() == video_index => format!(
                "{} {width}x{height}, {:.3} frames/s, {:?}{bitrate}; colour: matrix {}, range {}, primaries {}, transfer {}",
                codec_name(parameters.id()),
                f64::from(stream.avg_frame_rate()),
                video.format(),
                tag(&format!("{:?}", video.color_space())),
                tag(&format!("{:?}", video.color_range())),
                tag(&format!("{:?}", video.color_primaries())),
                tag(&format!("{:?}", video.color_transfer_characteristic())),
            ),
            MediaType::Video => format!("{} {width}x{height} (not played){bitrate}", codec_name(parameters.id())),
            MediaType::Audio => {
                format!("{} {rate} Hz, {channels} channels{bitrate}{language}", codec_name(parameters.id()))
            }
            _ => format!("{}{language}", codec_name(parameters.id())),
        };
        rows.push((label, value));
    }
    rows
}

fn codec_name(id: ffmpeg::codec::Id) -> String {
    match id {
        ffmpeg::codec::Id::None => "unknown".to_owned(),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn decoder_context(
    input: &str,
    parameters: &ffmpeg::codec::Parameters,
    time_base: ffmpeg::Rational,
    kind: &'static str,
) -> Result<ffmpeg::codec::Context, MediaError> {
    if ffmpeg::decoder::find(parameters.id()).is_none() {
        return Err(MediaError::NoDecoder { input: input.to_owned(), kind, codec: codec_name(parameters.id()) });
    }
    let setup_error =
        |e: ffmpeg::Error| MediaError::DecoderSetup { input: input.to_owned(), kind, cause: ffmpeg_cause(&e) };
    let mut context = ffmpeg::codec::Context::from_parameters(parameters.clone()).map_err(setup_error)?;
    // The packet time base lets the decoder compute best-effort timestamps in stream units.
    unsafe {
        (*context.as_mut_ptr()).pkt_timebase = time_base.into();
    }
    Ok(context)
}

fn open_video_decoder(
    input: &str,
    stream: &ffmpeg::format::stream::Stream,
) -> Result<ffmpeg::decoder::Video, MediaError> {
    let mut context = decoder_context(input, &stream.parameters(), stream.time_base(), "video")?;
    // Frame threading: FFmpeg decodes several frames at once on all cores.
    context.set_threading(threading::Config { kind: threading::Type::Frame, count: 0, ..Default::default() });
    context.decoder().video().map_err(|e| MediaError::DecoderSetup {
        input: input.to_owned(),
        kind: "video",
        cause: ffmpeg_cause(&e),
    })
}

/// The stream's nominal frame rate; 25 when the container does not say.
fn frames_per_sec(stream: &ffmpeg::format::stream::Stream) -> f64 {
    const FALLBACK_FRAMES_PER_SEC: f64 = 25.0;
    [stream.avg_frame_rate(), stream.rate()]
        .into_iter()
        .map(f64::from)
        .find(|fps| fps.is_finite() && *fps > 0.0 && *fps < 1000.0)
        .unwrap_or(FALLBACK_FRAMES_PER_SEC)
}

/// How `stream` is displayed: its display matrix (phone clips carry a rotation) and its sample
/// aspect (`decoder_aspect`, else the container's).
fn display_geometry(stream: &ffmpeg::format::stream::Stream, decoder_aspect: ffmpeg::Rational) -> DisplayGeometry {
    let (degrees, hflip) = display_matrix(stream).map_or((0.0, false), display_rotation);
    // SAFETY: reading a plain field of a valid stream of an open input.
    let container_aspect = ffmpeg::Rational::from(unsafe { (*stream.as_ptr()).sample_aspect_ratio });
    let aspect = [decoder_aspect, container_aspect]
        .into_iter()
        .find(|r| r.numerator() > 0 && r.denominator() > 0)
        .map_or(1.0, f64::from);
    DisplayGeometry::new(degrees, hflip, aspect)
}

/// The display matrix of `stream`, if it has one: 3x3, row-major, as FFmpeg stores it.
pub fn display_matrix(stream: &ffmpeg::format::stream::Stream) -> Option<[i32; 9]> {
    stream.side_data().find(|data| data.kind() == ffmpeg::codec::packet::side_data::Type::DisplayMatrix).and_then(
        |data| {
            let values: Vec<i32> =
                data.data().chunks_exact(4).map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect();
            <[i32; 9]>::try_from(values).ok()
        },
    )
}

/// A display matrix's counter-clockwise rotation in degrees and whether it mirrors the picture
/// (FFmpeg's `av_display_rotation_get`, with a mirror taken out first). The matrix is 3x3,
/// row-major, its 2x2 part in 16.16 fixed point.
fn display_rotation(matrix: [i32; 9]) -> (f64, bool) {
    let fixed = |v: i32| f64::from(v) / 65536.0;
    let (mut a, b, mut c, d) = (fixed(matrix[0]), fixed(matrix[1]), fixed(matrix[3]), fixed(matrix[4]));
    let hflip = a * d - b * c < 0.0;
    if hflip {
        (a, c) = (-a, -c);
    }
    let (scale_0, scale_1) = (a.hypot(c), b.hypot(d));
    if scale_0 == 0.0 || scale_1 == 0.0 {
        return (0.0, false);
    }
    (-(b / scale_1).atan2(a / scale_0).to_degrees(), hflip)
}

/// The name to show for `input`: a file's name, a URL's last path segment (without its query).
fn title_of(input: &str) -> String {
    if input == STDIN {
        return "standard input".to_owned();
    }
    // `?` and `#` end a URL's path, and are just characters of a file's name.
    let without_query = if is_url(input) { input.split(['?', '#']).next().unwrap_or(input) } else { input };
    without_query
        .trim_end_matches('/')
        .rsplit(['/', '\\'])
        .next()
        .filter(|name| !name.is_empty())
        .unwrap_or(input)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chapter_keys_move_as_in_mpv() {
        let chapters: Vec<Chapter> =
            [2.0, 60.0, 120.0].iter().map(|&start_secs| Chapter { start_secs, title: String::new() }).collect();
        let go = |position: f64, forward: bool| chapter_from(&chapters, position, forward);
        assert_eq!((go(0.0, true), go(0.0, false)), (Some(0), None), "before the first");
        assert_eq!((go(30.0, true), go(30.0, false)), (Some(1), Some(0)));
        assert_eq!(
            (go(61.0, false), go(59.95, false)),
            (Some(0), Some(0)),
            "just into the second (or landed just before it)"
        );
        assert_eq!(go(59.95, true), Some(2), "a seek that landed just before the second is in it");
        assert_eq!((go(130.0, true), go(130.0, false)), (None, Some(2)), "in the last");
        assert_eq!(go(3.0, false), Some(0), "the first chapter starts again");
        assert_eq!(chapter_from(&[], 10.0, true), None);
    }

    #[test]
    fn urls_are_told_from_paths() {
        assert!(is_url("http://example.org/a.mp4"));
        assert!(is_url("rtsp://cam/stream"));
        assert!(!is_url("file:///tmp/a.mp4"));
        assert!(!is_url("/tmp/a.mp4"));
        assert!(!is_url("C:\\videos\\a.mp4"));
        assert!(!is_url("weird name ://x"));
    }

    /// A matrix that turns the picture `degrees` counter-clockwise, as `av_display_rotation_get`
    /// reads it.
    #[test]
    fn display_matrices_give_the_rotation() {
        let matrix = |degrees: f64| {
            let (sin, cos) = (-degrees.to_radians()).sin_cos();
            let fixed = |v: f64| (v * 65536.0).round() as i32;
            [fixed(cos), fixed(sin), 0, fixed(-sin), fixed(cos), 0, 0, 0, 1 << 30]
        };
        for degrees in [0.0, 90.0, -90.0, 180.0] {
            let (got, hflip) = display_rotation(matrix(degrees));
            assert!(
                (got - degrees).abs() < 1e-3 || (got.abs() - 180.0).abs() < 1e-3 && degrees == 180.0,
                "{degrees}: {got}"
            );
            assert!(!hflip);
        }
        let mut mirrored = matrix(0.0);
        mirrored[0] = -mirrored[0];
        assert_eq!(display_rotation(mirrored), (0.0, true));
    }

    #[test]
    fn titles_are_the_last_path_segment() {
        assert_eq!(title_of("/a/b/clip.mp4"), "clip.mp4");
        assert_eq!(title_of("https://host/v/clip.m3u8?token=1"), "clip.m3u8");
        assert_eq!(title_of("clip.mkv"), "clip.mkv");
        assert_eq!(title_of("/music/Song #1 (what?).mkv"), "Song #1 (what?).mkv");
    }
}
