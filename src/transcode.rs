//! `dysr upscale` for videos: a whole file x2 through one rung of the ladder into a new file.
//!
//! Three stages overlap, each on its own thread: demux + decode, SR (the rung's luma, bicubic
//! chroma, into 4:2:0 at twice the size: 8-bit, or 10-bit from a deeper input) and encode + mux
//! (the caller's thread). Audio and
//! subtitle streams are copied as they are. The output is written under a temporary name beside
//! the target and renamed only when complete; an error or an interrupt removes it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};
use ffmpeg::format::Pixel;
use ffmpeg::media::Type as MediaType;
use ffmpeg::software::scaling::{Context as SwsContext, Flags};
use ffmpeg_next as ffmpeg;
use thiserror::Error;

use crate::engine::neural::{NeuralUpscaler, engine_factory, load_ladder};
use crate::engine::picture::{planar_format, set_yuv_colour, yuv_tags};
use crate::engine::{EngineError, SCALE, Upscaler};
use crate::media::deinterlace::Deinterlacer;
use crate::media::error::{MediaError, ffmpeg_cause};
use crate::media::hdr::Hdr10;
use crate::media::seek::PacketReader;
use crate::media::source::{MediaSource, display_matrix};
use crate::model::device::DeviceChoice;

/// Frames in flight between two stages: enough to ride out a slow frame, few enough to bound memory.
const QUEUE_FRAMES: usize = 4;
/// How often the encode thread looks at the interrupt flag while it waits.
const POLL: Duration = Duration::from_millis(100);

/// Set from the SIGINT/SIGTERM handler: every stage stops and the partial output is removed.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_signal: libc::c_int) {
    // Only an atomic store: all a signal handler may safely do.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Makes Ctrl-C (and SIGTERM) end [`upscale_video`] cleanly instead of killing the process with a
/// half-written file.
pub fn stop_on_interrupt() {
    let handler = on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Which network makes the luma.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RungChoice {
    /// This rung of the ladder.
    Index(usize),
    /// The best rung whose SR alone keeps this many frames per second on the input's frames.
    MinFps(f64),
    /// No network: bicubic x2 (the baseline that `--bench` compares against).
    Bicubic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VideoCodec {
    /// H.264 (libx264).
    X264,
    /// H.265 (libx265).
    X265,
}

impl VideoCodec {
    fn encoder_name(self) -> &'static str {
        match self {
            VideoCodec::X264 => "libx264",
            VideoCodec::X265 => "libx265",
        }
    }

    fn codec_id(self) -> ffmpeg::codec::Id {
        match self {
            VideoCodec::X264 => ffmpeg::codec::Id::H264,
            VideoCodec::X265 => ffmpeg::codec::Id::HEVC,
        }
    }

    /// The format's name, as people know it.
    fn format_name(self) -> &'static str {
        match self {
            VideoCodec::X264 => "H.264",
            VideoCodec::X265 => "H.265",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TranscodeOptions {
    pub input: String,
    pub output: PathBuf,
    pub rung: RungChoice,
    pub manifest: PathBuf,
    pub device: DeviceChoice,
    pub codec: VideoCodec,
    pub crf: u8,
    pub preset: String,
    /// The part of the input to upscale, in seconds on its timeline (negative: before its end);
    /// None: from its start, to its end.
    pub start_secs: Option<f64>,
    pub end_secs: Option<f64>,
}

/// What a finished run did and how fast each stage was.
#[derive(Debug, Clone)]
pub struct TranscodeReport {
    pub frames: u64,
    pub input_size: (u32, u32),
    pub output_size: (u32, u32),
    /// The rung that made the luma (name and spec), None for bicubic.
    pub rung: Option<String>,
    pub wall_secs: f64,
    /// Busy time per frame of each stage, in ms.
    pub decode_ms: f64,
    pub sr_ms: f64,
    pub encode_ms: f64,
    /// Streams copied into the output, and those left out (with why), as "#index codec".
    pub copied: Vec<String>,
    pub left_out: Vec<String>,
}

impl TranscodeReport {
    pub fn frames_per_sec(&self) -> f64 {
        self.frames as f64 / self.wall_secs.max(1e-9)
    }
}

#[derive(Debug, Error)]
pub enum TranscodeError {
    #[error(transparent)]
    Input(#[from] MediaError),
    #[error("{input}: cannot read: {cause}")]
    Read { input: String, cause: String },
    #[error("{}: {cause}", path.display())]
    Output { path: PathBuf, cause: String },
    #[error("{encoder}: {cause}")]
    Encoder { encoder: &'static str, cause: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("interrupted: {} was not written", path.display())]
    Interrupted { path: PathBuf },
    #[error("{input}: nothing to upscale from {start_secs:.3} s to {end_secs:.3} s")]
    EmptySpan { input: String, start_secs: f64, end_secs: f64 },
}

/// The part of the input a run upscales, in seconds on the input's timeline.
#[derive(Debug, Clone, Copy)]
struct Span {
    start_secs: f64,
    end_secs: Option<f64>,
}

impl Span {
    /// `options`' start and end on the timeline of the input `info` describes.
    fn of(options: &TranscodeOptions, info: &crate::media::StreamInfo) -> Result<Self, TranscodeError> {
        let duration_secs = info.duration_secs;
        let span = Self {
            start_secs: options.start_secs.map_or(0.0, |secs| info.time_at(secs)),
            end_secs: options.end_secs.map(|secs| info.time_at(secs)),
        };
        // The end of what there is: the end asked for, within the input's length where it is known.
        let end_secs = match (span.end_secs, duration_secs) {
            (Some(end), Some(duration)) => Some(end.min(duration)),
            (end, duration) => end.or(duration),
        };
        match end_secs {
            Some(end_secs) if end_secs <= span.start_secs => {
                Err(TranscodeError::EmptySpan { input: options.input.clone(), start_secs: span.start_secs, end_secs })
            }
            _ => Ok(span),
        }
    }

    fn is_whole(&self) -> bool {
        self.start_secs == 0.0 && self.end_secs.is_none()
    }

    /// How long it lasts, when the input's length or the end is known.
    fn secs(&self, duration_secs: Option<f64>) -> Option<f64> {
        self.end_secs.or(duration_secs).map(|end| (end - self.start_secs).max(0.0))
    }
}

/// Reports progress: the expected frame count (when the container says) once, then each frame.
pub trait Progress {
    fn start(&self, expected_frames: Option<u64>, rung: Option<&str>);
    fn frame_done(&self);
}

/// What the decode and SR threads hand the encode thread.
enum ToEncoder {
    /// A packet of a copied stream (input stream index), in the input's time base.
    Copy(ffmpeg::Packet, usize),
    /// An upscaled picture, pts in the video stream's time base.
    Frame(ffmpeg::frame::Video),
    Failed(TranscodeError),
}

/// Timestamps this close to either end of a span count as inside it (rounding in the container).
const SPAN_TOLERANCE_SECS: f64 = 0.001;

/// The output's timeline: its 0 is the span's start on the input's clock, in each stream's time base.
struct OutputClock {
    zero: Vec<i64>,
    time_bases: Vec<f64>,
    length_secs: Option<f64>,
}

/// Where an output timestamp falls against the span.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    Before,
    Inside,
    After,
}

impl OutputClock {
    fn new(source: &MediaSource, span: Span) -> Self {
        let zero_secs = source.info.start_secs + span.start_secs;
        let time_bases: Vec<f64> = source.input.streams().map(|stream| f64::from(stream.time_base())).collect();
        Self {
            zero: time_bases.iter().map(|time_base| (zero_secs / time_base).round() as i64).collect(),
            time_bases,
            length_secs: span.end_secs.map(|end| end - span.start_secs),
        }
    }

    /// Stream `index`'s timestamp `ts` on the output's timeline.
    fn rebase(&self, index: usize, ts: Option<i64>) -> Option<i64> {
        ts.map(|ts| ts - self.zero[index])
    }

    /// Where an output timestamp of stream `index` falls (one without a time counts as inside).
    fn place(&self, index: usize, ts: Option<i64>) -> Place {
        let secs = ts.map_or(0.0, |ts| ts as f64 * self.time_bases[index]);
        if secs < -SPAN_TOLERANCE_SECS {
            Place::Before
        } else if self.length_secs.is_some_and(|length| secs >= length - SPAN_TOLERANCE_SECS) {
            Place::After
        } else {
            Place::Inside
        }
    }
}

/// Removes the partial output unless the run completes.
struct PartialFile {
    path: PathBuf,
    done: bool,
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether FFmpeg knows a container for `output`'s name.
/// Whether `output`'s container can hold `codec`'s video: None where its name names no container.
fn container_holds(output: &Path, codec: VideoCodec) -> Option<bool> {
    let name = std::ffi::CString::new(output.to_string_lossy().as_bytes()).ok()?;
    // SAFETY: lookups in FFmpeg's static tables of muxers and of what each holds.
    unsafe {
        let muxer = ffmpeg::ffi::av_guess_format(std::ptr::null(), name.as_ptr(), std::ptr::null());
        if muxer.is_null() {
            return None;
        }
        // 0: it cannot; 1: it can; negative: FFmpeg does not know, and writing will tell.
        Some(ffmpeg::ffi::avformat_query_codec(muxer, codec.codec_id().into(), ffmpeg::ffi::FF_COMPLIANCE_NORMAL) != 0)
    }
}

/// `dir/.name.partial.ext`: hidden, beside the target (so the rename is atomic), with the target's
/// extension (which picks the container).
fn partial_path(output: &Path) -> PathBuf {
    let stem = output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let extension = output.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
    output.with_file_name(format!(".{stem}.partial.{extension}"))
}

/// Upscales the video stream of `options.input` x2 into `options.output`, copying audio and
/// subtitles.
pub fn upscale_video(options: &TranscodeOptions, progress: &dyn Progress) -> Result<TranscodeReport, TranscodeError> {
    let started = Instant::now();
    let output_error = |cause: String| TranscodeError::Output { path: options.output.clone(), cause };
    match container_holds(&options.output, options.codec) {
        None => {
            return Err(output_error(
                "its extension names no container FFmpeg can write (try .mkv or .mp4)".to_owned(),
            ));
        }
        Some(false) => {
            let flag = clap::ValueEnum::to_possible_value(&options.codec).expect("every codec is a choice");
            return Err(output_error(format!(
                "this container cannot hold {} video (--codec {}): try .mkv or .mp4",
                options.codec.format_name(),
                flag.get_name()
            )));
        }
        Some(true) => {}
    }
    let mut source = MediaSource::open(&options.input)?;
    let video_index = source.info.video.index;
    let (width, height) = (source.info.video.width, source.info.video.height);
    let (out_w, out_h) = (width * SCALE, height * SCALE);
    // 10-bit out of a deeper input (HDR, 10-bit SDR), as the player's own planes.
    let out_format = planar_format(source.video_decoder.format());
    let (upscaler, rung) = choose_upscaler(options, width, height)?.unzip();
    // HDR10's metadata comes with the first frame; the packets read for it are read again.
    let pq = source.video_decoder.color_transfer_characteristic() == ffmpeg::color::TransferCharacteristic::SMPTE2084;
    let mut packets = PacketReader::default();
    let hdr = pq.then(|| Hdr10::of_first_frame(&mut source, &mut packets)).flatten();

    let partial = PartialFile { path: partial_path(&options.output), done: false };
    let mut output = ffmpeg::format::output(&partial.path).map_err(|e| output_error(ffmpeg_cause(&e)))?;
    let output_format = output.format();

    // Output streams: the upscaled video first, then every audio and subtitle stream the
    // container can hold.
    let input_stream = source.input.stream(video_index).expect("the video stream");
    let video_time_base = input_stream.time_base();
    let span = Span::of(options, &source.info)?;
    let expected_frames = expected_frames(&input_stream, source.info.duration_secs, span);
    let frame_rate = Some(input_stream.avg_frame_rate())
        .filter(|rate| rate.numerator() > 0 && rate.denominator() > 0)
        .unwrap_or_else(|| ffmpeg::Rational::new((source.info.video.frames_per_sec * 1000.0).round() as i32, 1000));
    let encoder_name = options.codec.encoder_name();
    let encoder_error = |cause: String| TranscodeError::Encoder { encoder: encoder_name, cause };
    let codec = ffmpeg::encoder::find_by_name(encoder_name)
        .ok_or_else(|| encoder_error("not in this FFmpeg build".to_owned()))?;
    let mut encoder = {
        let mut context = ffmpeg::codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(|e| encoder_error(ffmpeg_cause(&e)))?;
        let decoder = &source.video_decoder;
        context.set_width(out_w);
        context.set_height(out_h);
        context.set_format(out_format);
        context.set_aspect_ratio(decoder.aspect_ratio());
        context.set_time_base(video_time_base);
        context.set_frame_rate(Some(frame_rate));
        // The codes mean what the input's did (an RGB input's become full-range BT.601 YUV).
        let (matrix, range) = yuv_tags(decoder.format(), decoder.color_space(), decoder.color_range());
        context.set_colorspace(matrix);
        context.set_color_range(range);
        context.set_color_primaries(decoder.color_primaries());
        context.set_color_transfer_characteristic(decoder.color_transfer_characteristic());
        if output_format.flags().contains(ffmpeg::format::Flags::GLOBAL_HEADER) {
            context.set_flags(ffmpeg::codec::Flags::GLOBAL_HEADER);
        }
        let mut settings = ffmpeg::Dictionary::new();
        settings.set("crf", &options.crf.to_string());
        settings.set("preset", &options.preset);
        let hdr_params = hdr.as_ref().map(|hdr| hdr_encoder_params(hdr, options.codec)).unwrap_or_default();
        if options.codec == VideoCodec::X265 {
            // x265 prints its settings to stderr itself unless told not to.
            let params: Vec<String> = std::iter::once("log-level=error".to_owned()).chain(hdr_params).collect();
            settings.set("x265-params", &params.join(":"));
        } else if !hdr_params.is_empty() {
            settings.set("x264-params", &hdr_params.join(":"));
        }
        context.open_with(settings).map_err(|e| {
            encoder_error(format!(
                "cannot open with CRF {} and preset {}: {}",
                options.crf,
                options.preset,
                ffmpeg_cause(&e)
            ))
        })?
    };
    let mut video_out = output.add_stream(codec).map_err(|e| output_error(ffmpeg_cause(&e)))?;
    video_out.set_parameters(&encoder);
    if options.codec == VideoCodec::X265 && matches!(output_format.name(), "mp4" | "mov") {
        // Apple's players take HEVC in MP4 and MOV only as `hvc1` (parameter sets in the header,
        // where the global header puts them); FFmpeg writes `hev1` unless told.
        // SAFETY: setting a plain field of the parameters of a stream being set up.
        unsafe { (*video_out.parameters().as_mut_ptr()).codec_tag = u32::from_le_bytes(*b"hvc1") };
    }
    if let Some(hdr) = &hdr {
        add_hdr_side_data(hdr, &mut video_out).map_err(|e| output_error(ffmpeg_cause(&e)))?;
    }
    // A phone clip's rotation travels, so players turn the upscaled picture as they turned the input.
    if let Some(matrix) = display_matrix(&input_stream) {
        set_display_matrix(&mut video_out, matrix).map_err(|e| output_error(ffmpeg_cause(&e)))?;
    }

    let mut copied = Vec::new();
    let mut left_out = Vec::new();
    // Input stream index -> output stream index, for copied streams.
    let mut copy_map = vec![None; source.input.nb_streams() as usize];
    for stream in source.input.streams() {
        let parameters = stream.parameters();
        let label = format!("#{} {:?}", stream.index(), parameters.id()).to_lowercase();
        if stream.index() == video_index {
            continue;
        }
        let holds = match parameters.medium() {
            // SAFETY: plain queries of FFmpeg's muxer table.
            MediaType::Audio | MediaType::Subtitle => unsafe {
                ffmpeg::ffi::avformat_query_codec(
                    output_format.as_ptr(),
                    parameters.id().into(),
                    ffmpeg::ffi::FF_COMPLIANCE_NORMAL,
                ) != 0
            },
            // Fonts for the subtitles and the like: Matroska keeps them (its codec table does not list them).
            MediaType::Attachment => output_format.name() == "matroska",
            _ => {
                left_out.push(format!("{label} (not audio, subtitles or an attachment)"));
                continue;
            }
        };
        if !holds {
            left_out.push(format!("{label} (the {} container cannot hold it)", output_format.name()));
            continue;
        }
        let mut copy = output
            .add_stream(ffmpeg::encoder::find(ffmpeg::codec::Id::None))
            .map_err(|e| output_error(ffmpeg_cause(&e)))?;
        copy.set_parameters(parameters);
        // The input container's codec tag may mean nothing in the output's.
        unsafe { (*copy.parameters().as_mut_ptr()).codec_tag = 0 };
        copy.set_metadata(stream.metadata().to_owned());
        copy_map[stream.index()] = Some(copy.index());
        copied.push(label);
    }
    output.set_metadata(source.input.metadata().to_owned());
    output.write_header().map_err(|e| output_error(ffmpeg_cause(&e)))?;
    let output_time_bases: Vec<ffmpeg::Rational> = output.streams().map(|s| s.time_base()).collect();
    let input_time_bases: Vec<ffmpeg::Rational> = source.input.streams().map(|s| s.time_base()).collect();

    progress.start(expected_frames, rung.as_deref());
    let stop = Arc::new(AtomicBool::new(false));
    let (to_encoder, from_stages) = bounded::<ToEncoder>(4 * QUEUE_FRAMES);
    let (to_sr, from_decoder) = bounded::<ffmpeg::frame::Video>(QUEUE_FRAMES);
    let copy_streams: Vec<bool> = copy_map.iter().map(Option::is_some).collect();
    let decode = {
        let (stop, to_encoder) = (Arc::clone(&stop), to_encoder.clone());
        crate::threads::spawn("upscale-decode", move || {
            decode_stage(source, packets, span, copy_streams, to_sr, to_encoder, &stop)
        })
        .map_err(|e| output_error(format!("cannot start a thread: {e}")))?
    };
    let sr = {
        let stop = Arc::clone(&stop);
        crate::threads::spawn("upscale-sr", move || {
            sr_stage(upscaler, (out_format, out_w, out_h), from_decoder, to_encoder, &stop)
        })
        .map_err(|e| output_error(format!("cannot start a thread: {e}")))?
    };

    // Encode and mux here until both stages have hung up.
    let mut frames = 0u64;
    let mut encode_busy = Duration::ZERO;
    // x264 leaves packet durations unset; without one, MP4 gives the last frame no time and
    // players drop it.
    let frame_duration = nominal_frame_duration(frame_rate, video_time_base);
    let write_packets = |encoder: &mut ffmpeg::encoder::Video,
                         output: &mut ffmpeg::format::context::Output|
     -> Result<(), TranscodeError> {
        let mut packet = ffmpeg::Packet::empty();
        while encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            if packet.duration() == 0 {
                packet.set_duration(frame_duration);
            }
            packet.rescale_ts(video_time_base, output_time_bases[0]);
            packet.write_interleaved(output).map_err(|e| output_error(ffmpeg_cause(&e)))?;
        }
        Ok(())
    };
    let outcome = loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            break Err(TranscodeError::Interrupted { path: options.output.clone() });
        }
        match from_stages.recv_timeout(POLL) {
            Ok(ToEncoder::Copy(mut packet, input_index)) => {
                let Some(output_index) = copy_map[input_index] else { continue };
                packet.set_stream(output_index);
                packet.set_position(-1);
                packet.rescale_ts(input_time_bases[input_index], output_time_bases[output_index]);
                if let Err(error) = packet.write_interleaved(&mut output) {
                    break Err(output_error(ffmpeg_cause(&error)));
                }
            }
            Ok(ToEncoder::Frame(frame)) => {
                let busy = Instant::now();
                let sent = encoder
                    .send_frame(&frame)
                    .map_err(|e| encoder_error(ffmpeg_cause(&e)))
                    .and_then(|()| write_packets(&mut encoder, &mut output));
                encode_busy += busy.elapsed();
                if let Err(error) = sent {
                    break Err(error);
                }
                frames += 1;
                progress.frame_done();
            }
            Ok(ToEncoder::Failed(error)) => break Err(error),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break Ok(()),
        }
    };
    stop.store(true, Ordering::SeqCst);
    drop(from_stages);
    let decode_busy = decode.join().unwrap_or_default();
    let sr_busy = sr.join().unwrap_or_default();
    outcome?;

    let busy = Instant::now();
    encoder.send_eof().map_err(|e| encoder_error(ffmpeg_cause(&e)))?;
    write_packets(&mut encoder, &mut output)?;
    encode_busy += busy.elapsed();
    output.write_trailer().map_err(|e| output_error(ffmpeg_cause(&e)))?;
    drop(output);
    if frames == 0 {
        return Err(TranscodeError::Read {
            input: options.input.clone(),
            cause: "no video frame could be decoded".to_owned(),
        });
    }
    std::fs::rename(&partial.path, &options.output).map_err(|e| output_error(format!("cannot write: {e}")))?;
    let mut partial = partial;
    partial.done = true;
    let per_frame = |busy: Duration| busy.as_secs_f64() * 1e3 / frames as f64;
    Ok(TranscodeReport {
        frames,
        input_size: (width, height),
        output_size: (out_w, out_h),
        rung,
        wall_secs: started.elapsed().as_secs_f64(),
        decode_ms: per_frame(decode_busy),
        sr_ms: per_frame(sr_busy),
        encode_ms: per_frame(encode_busy),
        copied,
        left_out,
    })
}

/// One frame at `frame_rate`, in `time_base` units (at least 1).
/// Gives the output `stream` a display matrix: `matrix` without its translation, which is in the
/// input's pixels (players read only the rotation and the mirror).
fn set_display_matrix(
    stream: &mut ffmpeg::format::stream::StreamMut,
    mut matrix: [i32; 9],
) -> Result<(), ffmpeg::Error> {
    (matrix[6], matrix[7]) = (0, 0);
    let bytes: Vec<u8> = matrix.iter().flat_map(|value| value.to_ne_bytes()).collect();
    add_side_data(stream, ffmpeg::ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX, &bytes)
}

/// Gives an output stream being set up side data of `kind`: a copy of `bytes`.
fn add_side_data(
    stream: &mut ffmpeg::format::stream::StreamMut,
    kind: ffmpeg::ffi::AVPacketSideDataType,
    bytes: &[u8],
) -> Result<(), ffmpeg::Error> {
    // SAFETY: FFmpeg allocates the side data and hands back `bytes.len()` writable bytes, or null.
    unsafe {
        let data = ffmpeg::ffi::av_stream_new_side_data(stream.as_mut_ptr(), kind, bytes.len());
        if data.is_null() {
            return Err(ffmpeg::Error::Other { errno: libc::ENOMEM });
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
    }
    Ok(())
}

/// The encoder's parameters that write `hdr` into the bitstream's SEI (x265's and x264's names
/// differ).
fn hdr_encoder_params(hdr: &Hdr10, codec: VideoCodec) -> Vec<String> {
    let x265 = codec == VideoCodec::X265;
    let mut params = Vec::new();
    if let Some(mastering) = hdr.mastering() {
        // Chromaticities in 0.00002 and luminances in 0.0001 cd/m² (SMPTE ST 2086), green first.
        let scaled = |value: ffmpeg::ffi::AVRational, unit: f64| {
            (f64::from(value.num) / f64::from(value.den.max(1)) / unit).round() as u64
        };
        let xy =
            |pair: [ffmpeg::ffi::AVRational; 2]| format!("({},{})", scaled(pair[0], 0.00002), scaled(pair[1], 0.00002));
        let [red, green, blue] = mastering.display_primaries;
        let value = format!(
            "G{}B{}R{}WP{}L({},{})",
            xy(green),
            xy(blue),
            xy(red),
            xy(mastering.white_point),
            scaled(mastering.max_luminance, 0.0001),
            scaled(mastering.min_luminance, 0.0001)
        );
        params.push(format!("{}={value}", if x265 { "master-display" } else { "mastering-display" }));
    }
    if let Some(light) = hdr.light_level() {
        params.push(format!("{}={},{}", if x265 { "max-cll" } else { "cll" }, light.max_cll, light.max_fall));
    }
    params
}

/// Writes `hdr` into an output stream's side data, where the container keeps it.
fn add_hdr_side_data(hdr: &Hdr10, stream: &mut ffmpeg::format::stream::StreamMut) -> Result<(), ffmpeg::Error> {
    use ffmpeg::ffi::AVPacketSideDataType::{AV_PKT_DATA_CONTENT_LIGHT_LEVEL, AV_PKT_DATA_MASTERING_DISPLAY_METADATA};
    for (kind, bytes) in
        [(AV_PKT_DATA_MASTERING_DISPLAY_METADATA, &hdr.mastering), (AV_PKT_DATA_CONTENT_LIGHT_LEVEL, &hdr.light_level)]
    {
        if let Some(bytes) = bytes {
            add_side_data(stream, kind, bytes)?;
        }
    }
    Ok(())
}

fn nominal_frame_duration(frame_rate: ffmpeg::Rational, time_base: ffmpeg::Rational) -> i64 {
    let secs = f64::from(frame_rate.invert());
    ((secs / f64::from(time_base)).round() as i64).max(1)
}

/// The frame count the container states, or duration x frame rate.
fn expected_frames(stream: &ffmpeg::format::stream::Stream, duration_secs: Option<f64>, span: Span) -> Option<u64> {
    if span.is_whole() && stream.frames() > 0 {
        return Some(stream.frames() as u64);
    }
    let rate = f64::from(stream.avg_frame_rate());
    span.secs(duration_secs).filter(|_| rate.is_finite() && rate > 0.0).map(|secs| (secs * rate).round() as u64)
}

/// An upscaler and the name of its rung ("r3 (d4w16)").
type NamedUpscaler = (Box<dyn Upscaler>, String);

/// The upscaler for the luma and the rung's name; with `--min-fps`, the best rung whose time on a
/// frame of the input's size keeps that rate (the smallest when none does).
fn choose_upscaler(
    options: &TranscodeOptions,
    width: u32,
    height: u32,
) -> Result<Option<NamedUpscaler>, TranscodeError> {
    let model = match options.rung {
        RungChoice::Bicubic => return Ok(None),
        RungChoice::Index(index) => load_ladder(&options.manifest, Some(index))?,
        RungChoice::MinFps(_) => load_ladder(&options.manifest, None)?,
    };
    let ladder = &model.manifest.ladder;
    let make = |index: usize| -> Result<NamedUpscaler, TranscodeError> {
        let rung = &ladder[index];
        let engines = engine_factory(&model.supernet, rung.spec, options.device)?;
        Ok((Box::new(NeuralUpscaler::new(engines(), &rung.name)), format!("{} ({})", rung.name, rung.spec)))
    };
    let (upscaler, name) = match options.rung {
        RungChoice::Index(index) => make(index)?,
        RungChoice::MinFps(min_fps) => {
            // Timing does not depend on the picture: a gradient of the input's size will do.
            let frame = crate::media::gradient_frame(width, height);
            let mut chosen = None;
            for index in (0..ladder.len()).rev() {
                let (mut upscaler, name) = make(index)?;
                upscaler.upscale_luma(&frame)?;
                let timing = Instant::now();
                upscaler.upscale_luma(&frame)?;
                let fps = 1.0 / timing.elapsed().as_secs_f64();
                tracing::info!("{name}: {fps:.1} frames/s at {width}x{height}");
                if fps >= min_fps || index == 0 {
                    if fps < min_fps {
                        tracing::warn!(
                            "no rung keeps {min_fps} frames/s at {width}x{height}; the smallest makes {fps:.1}"
                        );
                    }
                    chosen = Some((upscaler, name));
                    break;
                }
            }
            chosen.expect("the ladder has a rung 0")
        }
        RungChoice::Bicubic => unreachable!("returned above"),
    };
    Ok(Some((upscaler, name)))
}

/// Demuxes the input: video packets to the decoder, whose frames go to SR; packets of copied
/// streams straight to the encode thread; only what falls in `span`. Every timestamp is moved so
/// the output starts at 0 (the input's start time, as [`crate::media::StreamInfo::start_secs`],
/// and the span's start taken off, as ffmpeg does), and packets the input marks to be discarded
/// (before an MP4's edit list starts) are left out, as the decoder leaves out their frames.
/// Returns its busy time.
fn decode_stage(
    mut source: MediaSource,
    mut packets: PacketReader,
    span: Span,
    copy_streams: Vec<bool>,
    to_sr: Sender<ffmpeg::frame::Video>,
    to_encoder: Sender<ToEncoder>,
    stop: &AtomicBool,
) -> Duration {
    let started = Instant::now();
    let mut waiting = Duration::ZERO;
    let video_index = source.info.video.index;
    let input = source.info.input.clone();
    let mut delivered = false;
    let clock = OutputClock::new(&source, span);
    if span.start_secs > 0.0 {
        // From a keyframe at or before the start; what precedes the start is decoded, not kept.
        if let Err(error) = packets.seek_to_keyframe_before(&mut source.input, video_index, span.start_secs) {
            tracing::warn!(
                "{input}: seek to {:.3} s failed: {}; reading from the start",
                span.start_secs,
                ffmpeg_cause(&error)
            );
        }
    }
    // Interlaced frames are deinterlaced as the player does: scaled x2, their fields would be lost.
    let mut deinterlacer = Deinterlacer::new(source.info.video.time_base);
    let mut progressive = Vec::new();
    let name = input.clone();
    let mut send_frames = |decoder: &mut ffmpeg::decoder::Video, waiting: &mut Duration, end: bool| -> bool {
        let mut frame = ffmpeg::frame::Video::empty();
        while decoder.receive_frame(&mut frame).is_ok() {
            let pts = clock.rebase(video_index, frame.timestamp());
            frame.set_pts(pts);
            if let Err(error) =
                deinterlacer.push(std::mem::replace(&mut frame, ffmpeg::frame::Video::empty()), &mut progressive)
            {
                tracing::warn!("{name}: a frame could not be deinterlaced: {}", ffmpeg_cause(&error));
            }
        }
        if end && let Err(error) = deinterlacer.finish(&mut progressive) {
            tracing::warn!("{name}: deinterlacing the last frame: {}", ffmpeg_cause(&error));
        }
        for frame in progressive.drain(..) {
            match clock.place(video_index, frame.pts()) {
                Place::Before => continue,
                Place::After => return false,
                Place::Inside => {}
            }
            let blocked = Instant::now();
            if to_sr.send(frame).is_err() {
                return false;
            }
            *waiting += blocked.elapsed();
        }
        true
    };
    loop {
        if stop.load(Ordering::Relaxed) {
            return started.elapsed().saturating_sub(waiting);
        }
        let mut packet = match packets.read(&mut source.input) {
            Ok(packet) => packet,
            Err(ffmpeg::Error::Eof) => break,
            // A demuxer resyncs past a corrupt packet.
            Err(ffmpeg::Error::InvalidData) => continue,
            Err(error) if delivered => {
                tracing::warn!(
                    "{input}: read error after the first packets: {}; the output ends there",
                    ffmpeg_cause(&error)
                );
                break;
            }
            Err(error) => {
                let _ = to_encoder.send(ToEncoder::Failed(TranscodeError::Read { input, cause: ffmpeg_cause(&error) }));
                return started.elapsed().saturating_sub(waiting);
            }
        };
        delivered = true;
        let index = packet.stream();
        if index == video_index {
            // A corrupt packet is skipped; the decoder recovers at the next keyframe.
            if source.video_decoder.send_packet(&packet).is_ok()
                && !send_frames(&mut source.video_decoder, &mut waiting, false)
            {
                return started.elapsed().saturating_sub(waiting);
            }
        } else if copy_streams.get(index).copied().unwrap_or(false) {
            // SAFETY: reading a plain integer field of a packet just read.
            if unsafe { (*ffmpeg::packet::Ref::as_ptr(&packet)).flags } & ffmpeg::ffi::AV_PKT_FLAG_DISCARD != 0 {
                continue;
            }
            packet.set_pts(clock.rebase(index, packet.pts()));
            packet.set_dts(clock.rebase(index, packet.dts()));
            if clock.place(index, packet.pts().or(packet.dts())) != Place::Inside {
                continue;
            }
            let blocked = Instant::now();
            if to_encoder.send(ToEncoder::Copy(packet, index)).is_err() {
                return started.elapsed().saturating_sub(waiting);
            }
            waiting += blocked.elapsed();
        }
    }
    // The decoder's last frames (none when it cannot drain), then the deinterlacer's.
    let _ = source.video_decoder.send_eof();
    send_frames(&mut source.video_decoder, &mut waiting, true);
    started.elapsed().saturating_sub(waiting)
}

/// Upscales each frame into `format` (4:2:0): the network's luma, the chroma bicubic x2. Returns
/// its busy time.
fn sr_stage(
    mut upscaler: Option<Box<dyn Upscaler>>,
    out: (Pixel, u32, u32),
    frames: Receiver<ffmpeg::frame::Video>,
    to_encoder: Sender<ToEncoder>,
    stop: &AtomicBool,
) -> Duration {
    let mut busy = Duration::ZERO;
    let mut scalers = FrameScalers::default();
    for frame in frames {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let working = Instant::now();
        let made = upscale_frame(&frame, upscaler.as_mut(), &mut scalers, out);
        busy += working.elapsed();
        let message = match made {
            Ok(picture) => ToEncoder::Frame(picture),
            Err(error) => ToEncoder::Failed(error),
        };
        let failed = matches!(message, ToEncoder::Failed(_));
        if to_encoder.send(message).is_err() || failed {
            break;
        }
    }
    busy
}

/// The SR stage's swscale contexts, each kept while the input's format and size hold.
#[derive(Default)]
struct FrameScalers {
    /// The whole picture bicubic x2 into the output's format: without a network, or from an input
    /// whose planes are not the output's.
    whole: Option<(SwsContext, (Pixel, u32, u32))>,
    /// One chroma plane bicubic x2, run on each: the network makes the luma, so swscale need not
    /// (two thirds of the picture's samples).
    chroma: Option<(SwsContext, (Pixel, u32, u32))>,
}

/// The context `slot` holds for `key`, made anew (bicubic, x2) when the key has changed.
fn scaler_for(
    slot: &mut Option<(SwsContext, (Pixel, u32, u32))>,
    key: (Pixel, u32, u32),
    (out_format, out_w, out_h): (Pixel, u32, u32),
) -> Result<&mut SwsContext, ffmpeg::Error> {
    if slot.as_ref().is_none_or(|(_, made_for)| *made_for != key) {
        let flags = Flags::BICUBIC | Flags::ACCURATE_RND | Flags::FULL_CHR_H_INT;
        let mut context = SwsContext::get(key.0, key.1, key.2, out_format, out_w, out_h, flags)?;
        set_yuv_colour(&mut context, key.0);
        *slot = Some((context, key));
    }
    Ok(&mut slot.as_mut().expect("made above").0)
}

/// The one-plane format of the chroma of `input`'s frames where they are already laid out as the
/// output's (`out`: 4:2:0 planar, same depth), so each plane can be scaled on its own.
fn chroma_plane_format(input: Pixel, out: Pixel) -> Option<Pixel> {
    match (input, out) {
        // YUVJ420P is YUV420P in full range; its codes are kept as they are either way.
        (Pixel::YUV420P | Pixel::YUVJ420P, Pixel::YUV420P) => Some(Pixel::GRAY8),
        (Pixel::YUV420P10LE, Pixel::YUV420P10LE) => Some(Pixel::GRAY10LE),
        _ => None,
    }
}

/// Scales chroma plane `plane` of the 4:2:0 `source` into the same plane of `target` with
/// `context` (made for one plane of the source's chroma size and the target's).
fn scale_plane(
    context: &mut SwsContext,
    source: &ffmpeg::frame::Video,
    target: &mut ffmpeg::frame::Video,
    plane: usize,
) {
    let rows = source.height().div_ceil(2) as std::ffi::c_int;
    // SAFETY: both frames own their planes, and `context` was made for these two planes' formats
    // and sizes, so swscale reads and writes within them; it reads four pointers and strides from
    // each array, the unused ones null and zero as for any one-plane format.
    unsafe {
        let (source, target) = (source.as_ptr(), target.as_mut_ptr());
        let mut from = [std::ptr::null::<u8>(); 4];
        let mut to = [std::ptr::null_mut::<u8>(); 4];
        let (mut from_stride, mut to_stride) = ([0; 4], [0; 4]);
        from[0] = (*source).data[plane].cast_const();
        from_stride[0] = (*source).linesize[plane];
        to[0] = (*target).data[plane];
        to_stride[0] = (*target).linesize[plane];
        ffmpeg::ffi::sws_scale(
            context.as_mut_ptr(),
            from.as_ptr(),
            from_stride.as_ptr(),
            0,
            rows,
            to.as_ptr(),
            to_stride.as_ptr(),
        );
    }
}

fn upscale_frame(
    frame: &ffmpeg::frame::Video,
    upscaler: Option<&mut Box<dyn Upscaler>>,
    scalers: &mut FrameScalers,
    (out_format, out_w, out_h): (Pixel, u32, u32),
) -> Result<ffmpeg::frame::Video, TranscodeError> {
    let key = (frame.format(), frame.width(), frame.height());
    let convert_error = |e: ffmpeg::Error| EngineError::Convert {
        width: key.1,
        height: key.2,
        format: format!("{:?}", key.0),
        cause: ffmpeg_cause(&e),
    };
    let luma = match upscaler {
        Some(upscaler) => upscaler.upscale_luma(frame)?.filter(|luma| (luma.width, luma.height) == (out_w, out_h)),
        None => None,
    };
    let mut picture;
    match (&luma, chroma_plane_format(key.0, out_format)) {
        (Some(_), Some(plane_format)) => {
            let (chroma_w, chroma_h) = (key.1.div_ceil(2), key.2.div_ceil(2));
            let plane_key = (plane_format, chroma_w, chroma_h);
            let context = scaler_for(&mut scalers.chroma, plane_key, (plane_format, out_w / 2, out_h / 2))
                .map_err(convert_error)?;
            picture = ffmpeg::frame::Video::new(out_format, out_w, out_h);
            for plane in [1, 2] {
                scale_plane(context, frame, &mut picture, plane);
            }
        }
        _ => {
            let context = scaler_for(&mut scalers.whole, key, (out_format, out_w, out_h)).map_err(convert_error)?;
            picture = ffmpeg::frame::Video::empty();
            context.run(frame, &mut picture).map_err(convert_error)?;
        }
    }
    if let Some(luma) = luma {
        // 16-bit samples over the code range -> 8- or 10-bit codes (10-bit little-endian), a loop
        // for each so that each compiles to vector code.
        let rescale = |sample: &[u8], max_code: u32| {
            (u32::from(u16::from_le_bytes([sample[0], sample[1]])) * max_code + 32767) / 65535
        };
        let (width, stride) = (out_w as usize, picture.stride(0));
        let plane = picture.data_mut(0);
        for (row, samples) in luma.host_codes().chunks_exact(2 * width).enumerate() {
            let line = &mut plane[row * stride..];
            if out_format == Pixel::YUV420P10LE {
                for (code, sample) in line[..2 * width].chunks_exact_mut(2).zip(samples.chunks_exact(2)) {
                    code.copy_from_slice(&(rescale(sample, 1023) as u16).to_le_bytes());
                }
            } else {
                for (code, sample) in line[..width].iter_mut().zip(samples.chunks_exact(2)) {
                    *code = rescale(sample, 255) as u8;
                }
            }
        }
    }
    picture.set_pts(frame.pts());
    Ok(picture)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partial_file_keeps_the_extension_and_hides_beside_the_target() {
        assert_eq!(partial_path(Path::new("/videos/out.mkv")), PathBuf::from("/videos/.out.partial.mkv"));
        assert_eq!(partial_path(Path::new("clip.mp4")), PathBuf::from(".clip.partial.mp4"));
    }

    /// A frame of `format` whose samples follow no pattern a scaler could get right by luck.
    fn textured_frame(format: Pixel, width: u32, height: u32) -> ffmpeg::frame::Video {
        ffmpeg::init().unwrap();
        let mut frame = ffmpeg::frame::Video::new(format, width, height);
        let ten_bit = format == Pixel::YUV420P10LE;
        for plane in 0..3 {
            for (index, byte) in frame.data_mut(plane).iter_mut().enumerate() {
                let value = (index * 7919 + plane * 31) % 251;
                // 10-bit samples, little-endian, under 1024: the high byte stays 0-3.
                *byte = if ten_bit && index % 2 == 1 { (value % 4) as u8 } else { value as u8 };
            }
        }
        frame
    }

    #[test]
    fn the_chroma_scaled_alone_is_the_chroma_of_the_whole_picture() {
        for (format, (width, height)) in
            [(Pixel::YUV420P, (37, 23)), (Pixel::YUV420P10LE, (36, 21)), (Pixel::YUVJ420P, (16, 9))]
        {
            let frame = textured_frame(format, width, height);
            let out_format = planar_format(format);
            let out = (out_format, 2 * width, 2 * height);
            let mut scalers = FrameScalers::default();
            let whole = scaler_for(&mut scalers.whole, (format, width, height), out).unwrap();
            let mut picture = ffmpeg::frame::Video::empty();
            whole.run(&frame, &mut picture).unwrap();
            let plane_format = chroma_plane_format(format, out_format).unwrap();
            let (chroma_w, chroma_h) = (width.div_ceil(2), height.div_ceil(2));
            let chroma_key = (plane_format, chroma_w, chroma_h);
            let chroma = scaler_for(&mut scalers.chroma, chroma_key, (plane_format, width, height)).unwrap();
            let mut alone = ffmpeg::frame::Video::new(out_format, 2 * width, 2 * height);
            let bytes = if out_format == Pixel::YUV420P10LE { 2 } else { 1 };
            for plane in [1, 2] {
                scale_plane(chroma, &frame, &mut alone, plane);
                let rows = |picture: &ffmpeg::frame::Video| {
                    let stride = picture.stride(plane);
                    (0..height as usize)
                        .map(|row| picture.data(plane)[row * stride..][..width as usize * bytes].to_vec())
                        .collect::<Vec<_>>()
                };
                assert_eq!(rows(&alone), rows(&picture), "{format:?} {width}x{height}, plane {plane}");
            }
        }
    }
}
