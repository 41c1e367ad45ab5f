//! Where the picture goes: how the stream says it is displayed (rotation, flip, sample aspect), the
//! on-screen size it is shown at, and the rule that decides whether the network runs at all.
//!
//! **The SR rule:** the network runs only when the picture is shown enlarged, at least
//! [`DEFAULT_SR_THRESHOLD`] times its displayed size (`--sr-threshold`), and when its x2 output
//! fits the GPU's texture limit. Otherwise the screen's own scaler (bicubic, on the GPU) shows
//! the decoded planes: a 1080p clip in a 720p window costs the CPU nothing beyond decoding.

use parking_lot::Mutex;

use super::SCALE;

/// The least enlargement (on-screen size over displayed size) at which the network runs.
pub const DEFAULT_SR_THRESHOLD: f64 = 1.2;

/// How the stream says its frames are displayed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DisplayGeometry {
    /// Clockwise rotation to apply for display: 0, 90, 180 or 270 degrees.
    pub rotation_cw: u32,
    /// Mirror left-right before rotating (a display matrix with a negative determinant).
    pub hflip: bool,
    /// Width of a sample over its height (anamorphic video: 16:15, 4:3...).
    pub sample_aspect: f64,
}

impl Default for DisplayGeometry {
    fn default() -> Self {
        Self { rotation_cw: 0, hflip: false, sample_aspect: 1.0 }
    }
}

impl DisplayGeometry {
    /// From a display matrix's counter-clockwise rotation in degrees (FFmpeg's
    /// `av_display_rotation_get`), its flip and the sample aspect (0 or NaN: square).
    pub fn new(counter_clockwise_degrees: f64, hflip: bool, sample_aspect: f64) -> Self {
        let rotation_cw = if counter_clockwise_degrees.is_finite() { ((-counter_clockwise_degrees / 90.0).round() as i64).rem_euclid(4) as u32 * 90 } else { 0 };
        let sample_aspect = if sample_aspect.is_finite() && sample_aspect > 0.0 { sample_aspect } else { 1.0 };
        Self { rotation_cw, hflip, sample_aspect }
    }

    fn is_transposed(self) -> bool {
        self.rotation_cw % 180 == 90
    }

    /// The size a `width` x `height` frame is displayed at, in square pixels, before scaling to
    /// the screen: the sample aspect stretches it horizontally, then rotation may swap the sides.
    pub fn displayed_size(self, width: u32, height: u32) -> (f64, f64) {
        let (w, h) = (f64::from(width) * self.sample_aspect, f64::from(height));
        if self.is_transposed() { (h, w) } else { (w, h) }
    }

    /// [`Self::displayed_size`] rounded to whole pixels.
    pub fn displayed_pixels(self, width: u32, height: u32) -> (u32, u32) {
        let (w, h) = self.displayed_size(width, height);
        (w.round().max(1.0) as u32, h.round().max(1.0) as u32)
    }

    /// Where a point of the displayed picture comes from in the frame, both in [0, 1]²:
    /// `frame = [a, b; c, d] * displayed + (e, f)`, returned as `[a, b, c, d, e, f]`.
    pub fn frame_from_displayed(self) -> [f32; 6] {
        // Undo the rotation (displayed -> flipped frame), then the flip.
        let (a, b, c, d, e, f) = match self.rotation_cw {
            // Shown turned clockwise: the displayed top-left came from the frame's bottom-left.
            90 => (0.0, 1.0, -1.0, 0.0, 0.0, 1.0),
            180 => (-1.0, 0.0, 0.0, -1.0, 1.0, 1.0),
            270 => (0.0, -1.0, 1.0, 0.0, 1.0, 0.0),
            _ => (1.0, 0.0, 0.0, 1.0, 0.0, 0.0),
        };
        if self.hflip { [-a, -b, c, d, 1.0 - e, f] } else { [a, b, c, d, e, f] }
    }

    /// Maps a displayed point to the frame with [`Self::frame_from_displayed`].
    #[cfg(test)]
    pub fn frame_point(self, (u, v): (f32, f32)) -> (f32, f32) {
        let [a, b, c, d, e, f] = self.frame_from_displayed();
        (a * u + b * v + e, c * u + d * v + f)
    }
}

/// Whether the network runs on a frame, and why, in words for the panel.
#[derive(Debug, Clone, PartialEq)]
pub struct SrDecision {
    pub run: bool,
    pub reason: String,
}

/// What the SR worker needs to know of the screen. The window writes the on-screen size each
/// frame; a headless run sets it once (`--view`). Shared by the UI and the SR worker.
#[derive(Debug)]
pub struct ViewTarget {
    state: Mutex<ViewState>,
}

#[derive(Debug, Clone, Copy)]
struct ViewState {
    /// The on-screen size of the picture in physical pixels; None: twice the displayed size.
    size: Option<(u32, u32)>,
    threshold: f64,
    /// The largest texture side the screen's GPU takes; None: no limit (no GPU path).
    max_texture_side: Option<u32>,
    /// The last case decided, put in words only when the panel or a summary asks.
    last: Option<Case>,
}

/// One decision's inputs: a `width` x `height` frame shown as `geometry` says, in `view`.
#[derive(Debug, Clone, Copy)]
struct Case {
    width: u32,
    height: u32,
    geometry: DisplayGeometry,
    view: Option<(u32, u32)>,
    threshold: f64,
    max_texture_side: Option<u32>,
}

/// Why the network runs or not.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    TooLarge { limit: u32 },
    NotEnlarged,
    Enlarged,
}

impl Case {
    /// The displayed size, the view, the enlargement and the verdict.
    fn judge(self) -> ((u32, u32), (u32, u32), f64, Verdict) {
        let (shown_w, shown_h) = self.geometry.displayed_pixels(self.width, self.height);
        let (view_w, view_h) = self.view.unwrap_or((shown_w * SCALE, shown_h * SCALE));
        let enlargement = (f64::from(view_w) / f64::from(shown_w)).min(f64::from(view_h) / f64::from(shown_h));
        let verdict = match self.max_texture_side {
            Some(limit) if self.width.max(self.height) * SCALE > limit => Verdict::TooLarge { limit },
            _ if enlargement < self.threshold => Verdict::NotEnlarged,
            _ => Verdict::Enlarged,
        };
        ((shown_w, shown_h), (view_w, view_h), enlargement, verdict)
    }

    fn explain(self) -> SrDecision {
        let ((shown_w, shown_h), (view_w, view_h), enlargement, verdict) = self.judge();
        let shown = format!("{shown_w}x{shown_h} shown at {view_w}x{view_h}");
        let reason = match verdict {
            Verdict::TooLarge { limit } => format!("{shown}: the x{SCALE} picture would exceed the GPU's {limit}-pixel textures, no SR"),
            Verdict::NotEnlarged => format!("{shown} (x{enlargement:.2}): no SR needed (SR from x{:.2})", self.threshold),
            Verdict::Enlarged => format!("{shown} (x{enlargement:.2}): SR on"),
        };
        SrDecision { run: verdict == Verdict::Enlarged, reason }
    }
}

impl Default for ViewTarget {
    fn default() -> Self {
        Self::new(None, DEFAULT_SR_THRESHOLD)
    }
}

impl ViewTarget {
    pub fn new(size: Option<(u32, u32)>, threshold: f64) -> Self {
        Self { state: Mutex::new(ViewState { size, threshold, max_texture_side: None, last: None }) }
    }

    pub fn size(&self) -> Option<(u32, u32)> {
        self.state.lock().size
    }

    /// The picture is now shown at `size` physical pixels (resize, fullscreen).
    pub fn set_size(&self, size: (u32, u32)) {
        self.state.lock().size = Some(size);
    }

    pub fn set_max_texture_side(&self, side: u32) {
        self.state.lock().max_texture_side = Some(side);
    }

    pub fn max_texture_side(&self) -> Option<u32> {
        self.state.lock().max_texture_side
    }

    /// The last decision and why, for the panel and summaries.
    pub fn last_decision(&self) -> Option<SrDecision> {
        self.state.lock().last.map(Case::explain)
    }

    /// Whether the network runs on a `width` x `height` frame displayed as `geometry` says (on the
    /// frame path, so no words are made here); remembered for [`Self::last_decision`].
    pub fn decide(&self, width: u32, height: u32, geometry: DisplayGeometry) -> bool {
        let mut state = self.state.lock();
        let case = Case { width, height, geometry, view: state.size, threshold: state.threshold, max_texture_side: state.max_texture_side };
        state.last = Some(case);
        case.judge().3 == Verdict::Enlarged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_runs_only_when_the_picture_is_enlarged() {
        let view = |size| ViewTarget::new(size, DEFAULT_SR_THRESHOLD);
        let square = DisplayGeometry::default();
        let in_720p = view(Some((1280, 720)));
        assert!(!in_720p.decide(1920, 1080, square));
        let decision = in_720p.last_decision().unwrap();
        assert!(!decision.run);
        assert_eq!(decision.reason, "1920x1080 shown at 1280x720 (x0.67): no SR needed (SR from x1.20)");
        assert!(in_720p.decide(640, 360, square), "x2");
        assert_eq!(in_720p.last_decision().unwrap().reason, "640x360 shown at 1280x720 (x2.00): SR on");
        assert!(!in_720p.decide(1280, 720, square), "x1");
        assert!(!view(Some((1100, 619))).decide(960, 540, square), "x1.15 is under the threshold");
        assert!(view(Some((1160, 653))).decide(960, 540, square), "x1.21 is over it");
        assert!(view(None).decide(1920, 1080, square), "no view: twice the source, as before");
        assert_eq!(in_720p.last_decision().unwrap().reason, "1280x720 shown at 1280x720 (x1.00): no SR needed (SR from x1.20)");
        let strict = ViewTarget::new(Some((1280, 720)), 3.0);
        assert!(!strict.decide(640, 360, square), "a higher threshold");
    }

    #[test]
    fn a_frame_whose_output_exceeds_the_texture_limit_is_not_upscaled() {
        let view = ViewTarget::new(Some((7680, 4320)), DEFAULT_SR_THRESHOLD);
        view.set_max_texture_side(8192);
        assert!(view.decide(2048, 1080, DisplayGeometry::default()));
        assert!(!view.decide(4608, 2592, DisplayGeometry::default()));
        let decision = view.last_decision().unwrap();
        assert!(decision.reason.contains("8192-pixel"), "{}", decision.reason);
    }

    #[test]
    fn rotation_and_sample_aspect_set_the_displayed_size() {
        let phone = DisplayGeometry::new(-90.0, false, 1.0);
        assert_eq!(phone.rotation_cw, 90);
        assert_eq!(phone.displayed_pixels(1280, 720), (720, 1280));
        assert_eq!(DisplayGeometry::new(90.0, false, 1.0).rotation_cw, 270);
        assert_eq!(DisplayGeometry::new(180.0, false, 1.0).rotation_cw, 180);
        let pal = DisplayGeometry::new(0.0, false, 16.0 / 15.0);
        assert_eq!(pal.displayed_pixels(720, 576), (768, 576), "4:3");
        assert_eq!(DisplayGeometry::new(0.0, false, 0.0).sample_aspect, 1.0, "unknown aspect: square");
        // Portrait and the rule: a 1280x720 frame turned to 720x1280 in a 1080x1920 view is x1.5.
        let view = ViewTarget::new(Some((1080, 1920)), DEFAULT_SR_THRESHOLD);
        assert!(view.decide(1280, 720, phone));
        assert!(view.last_decision().unwrap().reason.starts_with("720x1280 shown at 1080x1920 (x1.50)"));
    }

    #[test]
    fn displayed_corners_come_from_the_right_frame_corners() {
        let corners = |geometry: DisplayGeometry| [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)].map(|p| geometry.frame_point(p));
        // Turned clockwise: the top-left shows the frame's bottom-left, the top-right its top-left.
        assert_eq!(corners(DisplayGeometry::new(-90.0, false, 1.0)), [(0.0, 1.0), (0.0, 0.0), (1.0, 1.0)]);
        assert_eq!(corners(DisplayGeometry::new(90.0, false, 1.0)), [(1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]);
        assert_eq!(corners(DisplayGeometry::new(180.0, false, 1.0)), [(1.0, 1.0), (0.0, 1.0), (1.0, 0.0)]);
        assert_eq!(corners(DisplayGeometry::new(0.0, true, 1.0)), [(1.0, 0.0), (0.0, 0.0), (1.0, 1.0)]);
        assert_eq!(corners(DisplayGeometry::default()), [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]);
    }
}
