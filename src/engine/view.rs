//! Where the picture goes: the on-screen size it is shown at (of the stream's
//! [`DisplayGeometry`]), and the rule that decides whether the network runs at all.
//!
//! **The SR rule:** the network runs only when the picture is shown enlarged, at least
//! [`DEFAULT_SR_THRESHOLD`] times its displayed size (`--sr-threshold`), and when its x2 output
//! fits the GPU's texture limit. Otherwise the screen's own scaler (bicubic, on the GPU) shows
//! the decoded planes: a 1080p clip in a 720p window costs the CPU nothing beyond decoding.

use parking_lot::Mutex;

use super::SCALE;
use crate::media::geometry::DisplayGeometry;

/// The least enlargement (on-screen size over displayed size) at which the network runs.
pub const DEFAULT_SR_THRESHOLD: f64 = 1.2;

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
            Verdict::TooLarge { limit } => {
                format!("{shown}: the x{SCALE} picture would exceed the GPU's {limit}-pixel textures, no SR")
            }
            Verdict::NotEnlarged => {
                format!("{shown} (x{enlargement:.2}): no SR needed (SR from x{:.2})", self.threshold)
            }
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
        let case = Case {
            width,
            height,
            geometry,
            view: state.size,
            threshold: state.threshold,
            max_texture_side: state.max_texture_side,
        };
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
        assert_eq!(
            in_720p.last_decision().unwrap().reason,
            "1280x720 shown at 1280x720 (x1.00): no SR needed (SR from x1.20)"
        );
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
    fn a_turned_picture_is_judged_at_its_displayed_size() {
        // A 1280x720 frame turned to 720x1280 in a 1080x1920 view is x1.5.
        let phone = DisplayGeometry::new(-90.0, false, 1.0);
        let view = ViewTarget::new(Some((1080, 1920)), DEFAULT_SR_THRESHOLD);
        assert!(view.decide(1280, 720, phone));
        assert!(view.last_decision().unwrap().reason.starts_with("720x1280 shown at 1080x1920 (x1.50)"));
    }
}
