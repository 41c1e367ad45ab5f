//! How the stream says its frames are displayed: rotation, flip and sample aspect, from its
//! display matrix and aspect ratios (read in [`super::source`], applied by the screen's shader).

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
        let rotation_cw = if counter_clockwise_degrees.is_finite() {
            ((-counter_clockwise_degrees / 90.0).round() as i64).rem_euclid(4) as u32 * 90
        } else {
            0
        };
        let sample_aspect = if sample_aspect.is_finite() && sample_aspect > 0.0 { sample_aspect } else { 1.0 };
        Self { rotation_cw, hflip, sample_aspect }
    }

    /// Whether it is turned a quarter: the displayed width is the frame's height.
    pub fn is_transposed(self) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
