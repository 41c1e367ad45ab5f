//! Video-codec degradation for training: an LR plane encoded as an H.264 picture at a given CRF and
//! decoded back, so the network learns on what the player will be fed (compressed video).

use ffmpeg_next as ffmpeg;
use ffmpeg::format::Pixel;

use super::photo::Luma;

/// Neutral chroma: the network sees luma only.
const NEUTRAL_CHROMA: u8 = 128;

/// `plane` (even width and height) through libx264 at `crf` and back.
pub fn h264_round_trip(plane: &Luma, crf: u32) -> Result<Luma, ffmpeg::Error> {
    crate::media::init_ffmpeg();
    let (width, height) = (plane.width as u32, plane.height as u32);
    let codec = ffmpeg::encoder::find(ffmpeg::codec::Id::H264).ok_or(ffmpeg::Error::EncoderNotFound)?;
    let mut settings = ffmpeg::codec::Context::new_with_codec(codec).encoder().video()?;
    settings.set_width(width);
    settings.set_height(height);
    settings.set_format(Pixel::YUV420P);
    settings.set_time_base((1, 25));
    let mut options = ffmpeg::Dictionary::new();
    options.set("crf", &crf.to_string());
    options.set("preset", "veryfast");
    options.set("threads", "1");
    let mut encoder = settings.open_with(options)?;

    let mut picture = ffmpeg::frame::Video::new(Pixel::YUV420P, width, height);
    let stride = picture.stride(0);
    let bytes = plane.to_u8();
    for (row, line) in bytes.chunks_exact(plane.width).enumerate() {
        picture.data_mut(0)[row * stride..row * stride + plane.width].copy_from_slice(line);
    }
    picture.data_mut(1).fill(NEUTRAL_CHROMA);
    picture.data_mut(2).fill(NEUTRAL_CHROMA);
    picture.set_pts(Some(0));
    encoder.send_frame(&picture)?;
    encoder.send_eof()?;

    let decoder_codec = ffmpeg::decoder::find(ffmpeg::codec::Id::H264).ok_or(ffmpeg::Error::DecoderNotFound)?;
    let mut decoder = ffmpeg::codec::Context::new_with_codec(decoder_codec).decoder().video()?;
    let mut packet = ffmpeg::Packet::empty();
    while encoder.receive_packet(&mut packet).is_ok() {
        decoder.send_packet(&packet)?;
    }
    decoder.send_eof()?;
    let mut decoded = ffmpeg::frame::Video::empty();
    decoder.receive_frame(&mut decoded)?;
    let stride = decoded.stride(0);
    let data = decoded.data(0);
    let mut out = Vec::with_capacity(plane.width * plane.height);
    for row in 0..plane.height {
        out.extend_from_slice(&data[row * stride..row * stride + plane.width]);
    }
    Ok(Luma::from_u8(plane.width, plane.height, &out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_trip_keeps_the_picture_and_loses_more_at_higher_crf() {
        let plane = Luma::new(64, 48, (0..64 * 48).map(|i| (i % 64) as f32 / 64.0 * 0.6 + 0.2 + if (i / 64) % 8 < 4 { 0.1 } else { 0.0 }).collect());
        let plane = plane.quantized();
        let error = |crf| {
            let decoded = h264_round_trip(&plane, crf).expect("libx264 round trip");
            plane.data.iter().zip(&decoded.data).map(|(a, b)| (a - b).abs()).sum::<f32>() / plane.data.len() as f32
        };
        let (fine, coarse) = (error(12), error(45));
        assert!(fine < 0.01, "crf 12 keeps the picture: mean error {fine}");
        assert!(coarse > fine, "crf 45 loses more ({coarse}) than crf 12 ({fine})");
    }
}
