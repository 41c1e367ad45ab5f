//! Deinterlacing in the video decode thread: frames that say they are interlaced go through
//! FFmpeg's `bwdif` (one frame out per frame in, fields blended with motion adaptation), so the
//! screen and the network only ever see progressive pictures. Progressive streams never touch
//! the filter. Once a stream has shown an interlaced frame, every later frame goes through the
//! same graph (bwdif passes progressive ones through), so frame order and timing hold.

use ffmpeg::Rescale as _;
use ffmpeg::filter::Graph;
use ffmpeg::format::Pixel;
use ffmpeg_next as ffmpeg;

/// The filter, as FFmpeg's graph syntax: a frame out per frame in, only flagged frames touched.
const FILTER: &str = "bwdif=mode=send_frame:parity=auto:deint=interlaced";

/// The frame shape a graph was built for; a new shape needs a new graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    width: u32,
    height: u32,
    format: Pixel,
}

pub struct Deinterlacer {
    time_base: ffmpeg::Rational,
    graph: Option<(Graph, Shape)>,
}

impl Deinterlacer {
    /// For frames whose timestamps count in `time_base`.
    pub fn new(time_base: ffmpeg::Rational) -> Self {
        Self { time_base, graph: None }
    }

    /// Forgets frames held back (a seek: the next frames are from elsewhere in the stream).
    pub fn reset(&mut self) {
        self.graph = None;
    }

    /// Hands on `frame` (pts in the stream's time base), deinterlaced when it is interlaced;
    /// `out` receives the frames ready, which may lag one frame behind.
    pub fn push(
        &mut self,
        frame: ffmpeg::frame::Video,
        out: &mut Vec<ffmpeg::frame::Video>,
    ) -> Result<(), ffmpeg::Error> {
        let shape = Shape { width: frame.width(), height: frame.height(), format: frame.format() };
        if self.graph.as_ref().is_some_and(|(_, current)| *current != shape) {
            self.finish(out)?;
        }
        if self.graph.is_none() {
            if !frame.is_interlaced() {
                out.push(frame);
                return Ok(());
            }
            self.graph = Some((build_graph(shape, self.time_base, frame.aspect_ratio())?, shape));
        }
        let (graph, _) = self.graph.as_mut().expect("built above");
        graph.get("in").expect("the graph has its source").source().add(&frame)?;
        drain(graph, self.time_base, out);
        Ok(())
    }

    /// At the end of the input: the frame held back, if any.
    pub fn finish(&mut self, out: &mut Vec<ffmpeg::frame::Video>) -> Result<(), ffmpeg::Error> {
        if let Some((mut graph, _)) = self.graph.take() {
            graph.get("in").expect("the graph has its source").source().flush()?;
            drain(&mut graph, self.time_base, out);
        }
        Ok(())
    }
}

fn build_graph(shape: Shape, time_base: ffmpeg::Rational, aspect: ffmpeg::Rational) -> Result<Graph, ffmpeg::Error> {
    let mut graph = Graph::new();
    let aspect = if aspect.numerator() > 0 && aspect.denominator() > 0 { aspect } else { ffmpeg::Rational::new(1, 1) };
    let args = format!(
        "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
        shape.width,
        shape.height,
        ffmpeg::ffi::AVPixelFormat::from(shape.format) as i32,
        time_base.numerator(),
        time_base.denominator().max(1),
        aspect.numerator(),
        aspect.denominator(),
    );
    let find = |name| ffmpeg::filter::find(name).ok_or(ffmpeg::Error::FilterNotFound);
    graph.add(&find("buffer")?, "in", &args)?;
    graph.add(&find("buffersink")?, "out", "")?;
    graph.output("in", 0)?.input("out", 0)?.parse(FILTER)?;
    graph.validate()?;
    Ok(graph)
}

/// Takes every frame the graph has ready, its timestamps brought back to the stream's
/// `time_base` (bwdif counts in fields, half the stream's time base).
fn drain(graph: &mut Graph, time_base: ffmpeg::Rational, out: &mut Vec<ffmpeg::frame::Video>) {
    let mut sink = graph.get("out").expect("the graph has its sink");
    let sink_time_base = sink.sink().time_base();
    loop {
        let mut frame = ffmpeg::frame::Video::empty();
        if sink.sink().frame(&mut frame).is_err() {
            return;
        }
        let pts = frame.pts().map(|pts| pts.rescale(sink_time_base, time_base));
        frame.set_pts(pts);
        // SAFETY: reading and writing a plain integer field of a valid, owned AVFrame.
        unsafe {
            let duration = &mut (*frame.as_mut_ptr()).pkt_duration;
            *duration = duration.rescale(sink_time_base, time_base);
        }
        out.push(frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(interlaced: bool, pts: i64) -> ffmpeg::frame::Video {
        let mut frame = crate::media::gradient_frame(32, 16);
        // SAFETY: setting plain fields of a valid, owned AVFrame.
        unsafe {
            (*frame.as_mut_ptr()).interlaced_frame = i32::from(interlaced);
            (*frame.as_mut_ptr()).top_field_first = 1;
        }
        frame.set_pts(Some(pts));
        frame
    }

    #[test]
    fn progressive_frames_pass_untouched() {
        let mut deinterlacer = Deinterlacer::new(ffmpeg::Rational::new(1, 25));
        let mut out = Vec::new();
        let input = frame(false, 0);
        let address = input.data(0).as_ptr();
        deinterlacer.push(input, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data(0).as_ptr(), address, "not copied");
    }

    #[test]
    fn interlaced_frames_come_out_progressive_one_for_one_in_order() {
        let mut deinterlacer = Deinterlacer::new(ffmpeg::Rational::new(1, 25));
        let mut out = Vec::new();
        for pts in 0..5 {
            deinterlacer.push(frame(pts != 2, pts), &mut out).unwrap();
        }
        deinterlacer.finish(&mut out).unwrap();
        let pts: Vec<Option<i64>> = out.iter().map(|frame| frame.pts()).collect();
        assert_eq!(pts, [Some(0), Some(1), Some(2), Some(3), Some(4)]);
        assert!(out.iter().all(|frame| !frame.is_interlaced()), "every frame is progressive");
    }
}
