//! Video-codec degradation: an LR plane encoded as an H.264 picture at a given CRF and decoded back,
//! so the network learns on what the player will be fed (compressed video); and, for evaluation, an
//! RGB LR image as a P picture of a panning shot.

use ffmpeg::format::Pixel;
use ffmpeg_next as ffmpeg;

use super::photo::{Luma, bt601_luma};

/// Neutral chroma: the network sees luma only.
const NEUTRAL_CHROMA: u8 = 128;

/// `plane` (even width and height) through libx264 at `crf` and back, as one intra picture.
pub fn h264_round_trip(plane: &Luma, crf: u32) -> Result<Luma, ffmpeg::Error> {
    let mut picture = ffmpeg::frame::Video::new(Pixel::YUV420P, plane.width as u32, plane.height as u32);
    write_plane(&mut picture, 0, plane);
    picture.data_mut(1).fill(NEUTRAL_CHROMA);
    picture.data_mut(2).fill(NEUTRAL_CHROMA);
    let decoded = round_trip(vec![picture], crf, 0)?;
    Ok(read_plane(&decoded[0], 0, plane.width, plane.height))
}

/// A window of `plane` as one picture of a shot panning across it, the way a video encoder codes
/// it: `frames` pictures of `width` x `height` (even), picture k taken at `origin + (k - shown) *
/// step`, encoded by libx264 at `crf` with its usual GOP (P and B pictures) and decoded; returns
/// picture `shown`, whose window starts at `origin`. The caller keeps every window inside `plane`.
pub fn h264_pan_round_trip(
    plane: &Luma,
    window: (usize, usize),
    origin: (usize, usize),
    step: (isize, isize),
    frames: usize,
    shown: usize,
    crf: u32,
) -> Result<Luma, ffmpeg::Error> {
    let (width, height) = window;
    let pictures = (0..frames)
        .map(|k| {
            let offset = k as isize - shown as isize;
            let x = (origin.0 as isize + offset * step.0) as usize;
            let y = (origin.1 as isize + offset * step.1) as usize;
            let mut picture = ffmpeg::frame::Video::new(Pixel::YUV420P, width as u32, height as u32);
            write_plane(&mut picture, 0, &plane.crop(x, y, width, height));
            picture.data_mut(1).fill(NEUTRAL_CHROMA);
            picture.data_mut(2).fill(NEUTRAL_CHROMA);
            picture
        })
        .collect();
    let decoded = round_trip(pictures, crf, 3)?;
    Ok(read_plane(decoded.get(shown).ok_or(ffmpeg::Error::Bug)?, 0, width, height))
}

/// An RGB LR image (three planes in [0, 1], even sides) as the player gets it from a panning
/// shot: converted to BT.601 limited-range 4:2:0, encoded by libx264 at `crf` as a P picture (the
/// picture before it is the same image moved by two pixels) and decoded. Returns the decoded luma
/// and the decoded picture converted back to RGB (chroma upsampled bilinearly, centred).
pub fn h264_p_frame_round_trip(rgb: &[Luma; 3], crf: u32) -> Result<(Luma, [Luma; 3]), ffmpeg::Error> {
    let (width, height) = (rgb[0].width, rgb[0].height);
    let shifted: [Luma; 3] = std::array::from_fn(|c| {
        let plane = &rgb[c];
        Luma::new(
            width,
            height,
            (0..width * height)
                .map(|i| plane.at((i % width).saturating_sub(2), (i / width).saturating_sub(1)))
                .collect(),
        )
    });
    let decoded = round_trip(vec![yuv420_of(&shifted), yuv420_of(rgb)], crf, 0)?;
    let last = decoded.last().ok_or(ffmpeg::Error::Bug)?;
    let y = read_plane(last, 0, width, height);
    let (cb, cr) = (read_plane(last, 1, width / 2, height / 2), read_plane(last, 2, width / 2, height / 2));
    let rgb = rgb_of(&y, &cb, &cr);
    Ok((y, rgb))
}

/// BT.601 limited-range 4:2:0 of RGB planes: luma as [`super::photo::bt601_luma`], chroma from
/// each 2x2 block's mean.
fn yuv420_of(rgb: &[Luma; 3]) -> ffmpeg::frame::Video {
    let (width, height) = (rgb[0].width, rgb[0].height);
    let byte = |c: usize, x: usize, y: usize| rgb[c].at(x, y) * 255.0;
    let luma = Luma::new(
        width,
        height,
        (0..width * height)
            .map(|i| {
                bt601_luma(byte(0, i % width, i / width), byte(1, i % width, i / width), byte(2, i % width, i / width))
            })
            .collect(),
    );
    let mut picture = ffmpeg::frame::Video::new(Pixel::YUV420P, width as u32, height as u32);
    write_plane(&mut picture, 0, &luma.quantized());
    let (chroma_width, chroma_height) = (width / 2, height / 2);
    let mean = |c: usize, x: usize, y: usize| {
        (byte(c, 2 * x, 2 * y) + byte(c, 2 * x + 1, 2 * y) + byte(c, 2 * x, 2 * y + 1) + byte(c, 2 * x + 1, 2 * y + 1))
            / 4.0
    };
    let chroma = |weights: [f32; 3]| {
        let data = (0..chroma_width * chroma_height)
            .map(|i| {
                let (x, y) = (i % chroma_width, i / chroma_width);
                (128.0 + (weights[0] * mean(0, x, y) + weights[1] * mean(1, x, y) + weights[2] * mean(2, x, y)) / 255.0)
                    / 255.0
            })
            .collect();
        Luma::new(chroma_width, chroma_height, data).quantized()
    };
    write_plane(&mut picture, 1, &chroma([-37.797, -74.203, 112.0]));
    write_plane(&mut picture, 2, &chroma([112.0, -93.786, -18.214]));
    picture
}

/// RGB planes of BT.601 limited-range Y, Cb, Cr (chroma at half size, sited at the centre of
/// each 2x2 block, interpolated bilinearly), each channel rounded to 8 bits.
fn rgb_of(y: &Luma, cb: &Luma, cr: &Luma) -> [Luma; 3] {
    let (width, height) = (y.width, y.height);
    let chroma_at = |plane: &Luma, x: usize, y: usize| {
        let (fx, fy) = ((x as f32 - 0.5) / 2.0, (y as f32 - 0.5) / 2.0);
        let (x0, y0) = (fx.floor().max(0.0) as usize, fy.floor().max(0.0) as usize);
        let (x1, y1) = ((x0 + 1).min(plane.width - 1), (y0 + 1).min(plane.height - 1));
        let (tx, ty) = ((fx - x0 as f32).clamp(0.0, 1.0), (fy - y0 as f32).clamp(0.0, 1.0));
        let top = plane.at(x0, y0) * (1.0 - tx) + plane.at(x1, y0) * tx;
        let bottom = plane.at(x0, y1) * (1.0 - tx) + plane.at(x1, y1) * tx;
        (top * (1.0 - ty) + bottom * ty) * 255.0 - 128.0
    };
    let mut planes: [Vec<f32>; 3] = std::array::from_fn(|_| Vec::with_capacity(width * height));
    for row in 0..height {
        for column in 0..width {
            let luma = 1.164_383_6 * (y.at(column, row) * 255.0 - 16.0);
            let (u, v) = (chroma_at(cb, column, row), chroma_at(cr, column, row));
            let values = [luma + 1.596_026_8 * v, luma - 0.391_762_3 * u - 0.812_967_6 * v, luma + 2.017_232_2 * u];
            for (plane, value) in planes.iter_mut().zip(values) {
                plane.push(value.round().clamp(0.0, 255.0) / 255.0);
            }
        }
    }
    planes.map(|data| Luma::new(width, height, data))
}

fn write_plane(picture: &mut ffmpeg::frame::Video, index: usize, plane: &Luma) {
    let stride = picture.stride(index);
    for (row, line) in plane.to_u8().chunks_exact(plane.width).enumerate() {
        picture.data_mut(index)[row * stride..row * stride + plane.width].copy_from_slice(line);
    }
}

fn read_plane(picture: &ffmpeg::frame::Video, index: usize, width: usize, height: usize) -> Luma {
    let (stride, data) = (picture.stride(index), picture.data(index));
    let bytes: Vec<u8> = (0..height).flat_map(|row| data[row * stride..row * stride + width].iter().copied()).collect();
    Luma::from_u8(width, height, &bytes)
}

/// `pictures` (4:2:0, one size) through libx264 at `crf` with up to `b_frames` B pictures in a row
/// (none: each after the first is a P picture), and decoded back in display order.
fn round_trip(
    pictures: Vec<ffmpeg::frame::Video>,
    crf: u32,
    b_frames: usize,
) -> Result<Vec<ffmpeg::frame::Video>, ffmpeg::Error> {
    crate::media::init_ffmpeg();
    let (width, height) = (pictures[0].width(), pictures[0].height());
    let codec = ffmpeg::encoder::find(ffmpeg::codec::Id::H264).ok_or(ffmpeg::Error::EncoderNotFound)?;
    let mut settings = ffmpeg::codec::Context::new_with_codec(codec).encoder().video()?;
    settings.set_width(width);
    settings.set_height(height);
    settings.set_format(Pixel::YUV420P);
    settings.set_time_base((1, 25));
    settings.set_max_b_frames(b_frames);
    let mut options = ffmpeg::Dictionary::new();
    options.set("crf", &crf.to_string());
    options.set("preset", "veryfast");
    options.set("threads", "1");
    let mut encoder = settings.open_with(options)?;
    let decoder_codec = ffmpeg::decoder::find(ffmpeg::codec::Id::H264).ok_or(ffmpeg::Error::DecoderNotFound)?;
    let mut decoder = ffmpeg::codec::Context::new_with_codec(decoder_codec).decoder().video()?;
    let mut packet = ffmpeg::Packet::empty();
    let mut decoded = Vec::new();
    let mut frame = ffmpeg::frame::Video::empty();
    // Each packet decoded as it comes, each picture taken as soon as the decoder has it.
    let mut decode_pending =
        |encoder: &mut ffmpeg::encoder::Video, decoder: &mut ffmpeg::decoder::Video| -> Result<(), ffmpeg::Error> {
            while encoder.receive_packet(&mut packet).is_ok() {
                decoder.send_packet(&packet)?;
                while decoder.receive_frame(&mut frame).is_ok() {
                    decoded.push(std::mem::replace(&mut frame, ffmpeg::frame::Video::empty()));
                }
            }
            Ok(())
        };
    for (index, mut picture) in pictures.into_iter().enumerate() {
        picture.set_pts(Some(index as i64));
        encoder.send_frame(&picture)?;
        decode_pending(&mut encoder, &mut decoder)?;
    }
    encoder.send_eof()?;
    decode_pending(&mut encoder, &mut decoder)?;
    decoder.send_eof()?;
    while decoder.receive_frame(&mut frame).is_ok() {
        decoded.push(std::mem::replace(&mut frame, ffmpeg::frame::Video::empty()));
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_trip_keeps_the_picture_and_loses_more_at_higher_crf() {
        let plane = Luma::new(
            64,
            48,
            (0..64 * 48)
                .map(|i| (i % 64) as f32 / 64.0 * 0.6 + 0.2 + if (i / 64) % 8 < 4 { 0.1 } else { 0.0 })
                .collect(),
        );
        let plane = plane.quantized();
        let error = |crf| {
            let decoded = h264_round_trip(&plane, crf).expect("libx264 round trip");
            plane.data.iter().zip(&decoded.data).map(|(a, b)| (a - b).abs()).sum::<f32>() / plane.data.len() as f32
        };
        let (fine, coarse) = (error(12), error(45));
        assert!(fine < 0.01, "crf 12 keeps the picture: mean error {fine}");
        assert!(coarse > fine, "crf 45 loses more ({coarse}) than crf 12 ({fine})");
    }

    /// The shown picture of a pan is the window at the origin, through the codec.
    #[test]
    fn a_pan_shows_the_window_at_its_origin() {
        let plane = Luma::new(
            96,
            64,
            (0..96 * 64)
                .map(|i| ((i % 96) as f32 * 0.37).sin() * 0.3 + ((i / 96) as f32 * 0.21).cos() * 0.2 + 0.5)
                .collect(),
        )
        .quantized();
        let shown = h264_pan_round_trip(&plane, (64, 32), (16, 16), (3, -2), 5, 2, 12).expect("libx264 round trip");
        let window = plane.crop(16, 16, 64, 32);
        let error =
            window.data.iter().zip(&shown.data).map(|(a, b)| (a - b).abs()).sum::<f32>() / window.data.len() as f32;
        assert!(error < 0.01, "mean error {error}");
    }

    /// At a fine CRF the P picture gives back the image: its luma as BT.601 of the RGB, and the RGB
    /// itself (4:2:0 costs some colour detail, not its level).
    #[test]
    fn a_p_picture_round_trip_keeps_luma_and_colour() {
        let (width, height) = (64, 48);
        let plane = |f: &dyn Fn(usize, usize) -> f32| {
            Luma::new(width, height, (0..width * height).map(|i| f(i % width, i / width)).collect()).quantized()
        };
        let rgb = [
            plane(&|x, _| 0.2 + 0.6 * x as f32 / 64.0),
            plane(&|_, y| 0.3 + 0.4 * y as f32 / 48.0),
            plane(&|x, y| if (x / 8 + y / 8) % 2 == 0 { 0.7 } else { 0.4 }),
        ];
        let (luma, decoded) = h264_p_frame_round_trip(&rgb, 10).expect("libx264 round trip");
        let mean_error = |a: &Luma, b: &Luma| {
            a.data.iter().zip(&b.data).map(|(a, b)| (a - b).abs()).sum::<f32>() / a.data.len() as f32
        };
        let expected_luma = Luma::new(
            width,
            height,
            (0..width * height)
                .map(|i| bt601_luma(rgb[0].data[i] * 255.0, rgb[1].data[i] * 255.0, rgb[2].data[i] * 255.0))
                .collect(),
        );
        assert!(mean_error(&luma, &expected_luma) < 0.005, "luma error {}", mean_error(&luma, &expected_luma));
        let mean = |plane: &Luma| plane.data.iter().sum::<f32>() / plane.data.len() as f32;
        for c in 0..3 {
            assert!(
                (mean(&decoded[c]) - mean(&rgb[c])).abs() < 0.005,
                "channel {c}: level {} vs {}",
                mean(&decoded[c]),
                mean(&rgb[c])
            );
            assert!(mean_error(&decoded[c], &rgb[c]) < 0.05, "channel {c}: error {}", mean_error(&decoded[c], &rgb[c]));
        }
    }
}
