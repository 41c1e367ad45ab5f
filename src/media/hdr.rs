//! HDR10's static metadata (SMPTE ST 2086 mastering display, CTA-861.3 content light levels), as
//! FFmpeg hands it on with a decoded frame: what `dysr upscale` carries into its output, and the
//! peak the window's tone mapping compresses to SDR white.

use std::collections::VecDeque;

use ffmpeg::frame::side_data::Type;
use ffmpeg_next as ffmpeg;

use super::MediaSource;
use super::seek::PacketReader;

/// libavutil's `AVMasteringDisplayMetadata` (mastering_display_metadata.h, which ffmpeg-sys does
/// not bind): primaries red, green, blue as (x, y).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct MasteringDisplay {
    pub display_primaries: [[ffmpeg::ffi::AVRational; 2]; 3],
    pub white_point: [ffmpeg::ffi::AVRational; 2],
    pub min_luminance: ffmpeg::ffi::AVRational,
    pub max_luminance: ffmpeg::ffi::AVRational,
    pub has_primaries: libc::c_int,
    pub has_luminance: libc::c_int,
}

/// libavutil's `AVContentLightMetadata`, in cd/m².
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ContentLightLevel {
    pub max_cll: libc::c_uint,
    pub max_fall: libc::c_uint,
}

/// A frame's HDR10 metadata, as its side data holds it (the bytes of the C structs above).
#[derive(Debug, Clone, PartialEq)]
pub struct Hdr10 {
    pub mastering: Option<Vec<u8>>,
    pub light_level: Option<Vec<u8>>,
}

impl Hdr10 {
    /// What `frame` carries; None when it carries neither (in HEVC only keyframes usually do).
    pub fn of_frame(frame: &ffmpeg::frame::Video) -> Option<Self> {
        let bytes = |kind| frame.side_data(kind).map(|data| data.data().to_vec());
        let hdr =
            Self { mastering: bytes(Type::MasteringDisplayMetadata), light_level: bytes(Type::ContentLightLevel) };
        (hdr.mastering.is_some() || hdr.light_level.is_some()).then_some(hdr)
    }

    /// The metadata of `source`'s first frame; None when it has none. The packets read to find it
    /// go back to `packets`, to be read again, and the decoder is flushed to decode them afresh: the
    /// input is read once, so standard input and a network stream work as a file does.
    pub fn of_first_frame(source: &mut MediaSource, packets: &mut PacketReader) -> Option<Self> {
        let video_index = source.info.video.index;
        let mut read = VecDeque::new();
        let mut frame = ffmpeg::frame::Video::empty();
        // The first frame comes within a GOP of packets; give up after a few hundred.
        for _ in 0..500 {
            let at_end = match packets.read(&mut source.input) {
                Ok(packet) => {
                    if packet.stream() == video_index {
                        let _ = source.video_decoder.send_packet(&packet);
                    }
                    read.push_back(packet);
                    false
                }
                Err(ffmpeg::Error::InvalidData) => continue,
                Err(_) => {
                    let _ = source.video_decoder.send_eof();
                    true
                }
            };
            if source.video_decoder.receive_frame(&mut frame).is_ok() || at_end {
                break;
            }
        }
        source.video_decoder.flush();
        packets.read_again(read);
        Self::of_frame(&frame)
    }

    /// The mastering display, when it gives both its primaries and its luminances.
    pub fn mastering(&self) -> Option<MasteringDisplay> {
        self.mastering
            .as_deref()
            .and_then(read_side_data::<MasteringDisplay>)
            .filter(|display| display.has_primaries != 0 && display.has_luminance != 0)
    }

    pub fn light_level(&self) -> Option<ContentLightLevel> {
        self.light_level.as_deref().and_then(read_side_data::<ContentLightLevel>)
    }

    /// The brightest the content gets, in nits: its MaxCLL, else its mastering display's peak
    /// (as mpv picks it); None when neither says.
    pub fn peak_nits(&self) -> Option<f32> {
        let content = self.light_level().map(|level| level.max_cll as f32).filter(|nits| *nits > 0.0);
        let display = self
            .mastering
            .as_deref()
            .and_then(read_side_data::<MasteringDisplay>)
            .filter(|display| display.has_luminance != 0 && display.max_luminance.den > 0)
            .map(|display| display.max_luminance.num as f32 / display.max_luminance.den as f32)
            .filter(|nits| *nits > 0.0);
        content.or(display)
    }
}

/// The C struct `T` side data holds, when it is long enough to.
fn read_side_data<T: Copy>(bytes: &[u8]) -> Option<T> {
    // SAFETY: `T` is a plain C struct of integers, for which any bytes of its size are a value.
    (bytes.len() >= std::mem::size_of::<T>()).then(|| unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// `frame` given side data of `kind` holding `bytes` (for tests of what reads it).
#[cfg(test)]
pub(crate) fn with_side_data(
    mut frame: ffmpeg::frame::Video,
    kind: ffmpeg::ffi::AVFrameSideDataType,
    bytes: &[u8],
) -> ffmpeg::frame::Video {
    // SAFETY: FFmpeg allocates the side data on a frame the caller owns and hands back its
    // `bytes.len()` bytes, which are filled here.
    unsafe {
        let data = ffmpeg::ffi::av_frame_new_side_data(frame.as_mut_ptr(), kind, bytes.len());
        assert!(!data.is_null());
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), (*data).data, bytes.len());
    }
    frame
}

/// The bytes of a plain C struct (for tests that make side data).
#[cfg(test)]
pub(crate) fn bytes_of<T: Copy>(value: &T) -> Vec<u8> {
    // SAFETY: viewing a plain C struct as its bytes.
    unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), std::mem::size_of::<T>()).to_vec() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ffmpeg::ffi::AVFrameSideDataType::{
        AV_FRAME_DATA_CONTENT_LIGHT_LEVEL, AV_FRAME_DATA_MASTERING_DISPLAY_METADATA,
    };

    /// MaxCLL is the peak where the content gives it; the mastering display's peak otherwise.
    #[test]
    fn the_peak_is_the_content_light_level_else_the_mastering_peak() {
        crate::media::init_ffmpeg();
        let rational = |num, den| ffmpeg::ffi::AVRational { num, den };
        let display = MasteringDisplay {
            display_primaries: [[rational(34000, 50000), rational(16000, 50000)]; 3],
            white_point: [rational(15635, 50000), rational(16450, 50000)],
            min_luminance: rational(1, 10000),
            max_luminance: rational(4000, 1),
            has_primaries: 1,
            has_luminance: 1,
        };
        let frame = || ffmpeg::frame::Video::new(ffmpeg::format::Pixel::YUV420P10LE, 8, 8);
        assert!(Hdr10::of_frame(&frame()).is_none());
        let mastered = with_side_data(frame(), AV_FRAME_DATA_MASTERING_DISPLAY_METADATA, &bytes_of(&display));
        let hdr = Hdr10::of_frame(&mastered).expect("metadata");
        assert_eq!(hdr.peak_nits(), Some(4000.0));
        assert!(hdr.mastering().is_some() && hdr.light_level().is_none());
        let level = ContentLightLevel { max_cll: 1000, max_fall: 400 };
        let both = with_side_data(mastered, AV_FRAME_DATA_CONTENT_LIGHT_LEVEL, &bytes_of(&level));
        assert_eq!(Hdr10::of_frame(&both).and_then(|hdr| hdr.peak_nits()), Some(1000.0));
    }
}
