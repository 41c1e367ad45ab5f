//! The picture: the presented frame as a texture, letterboxed to the window with its aspect kept.

use egui::{Color32, ColorImage, Rect, TextureHandle, TextureOptions, Ui, pos2, vec2};

use crate::engine::RgbaFrame;

#[derive(Default)]
pub struct VideoView {
    texture: Option<TextureHandle>,
    /// The presenter serial of the frame in the texture.
    shown_serial: u64,
}

impl VideoView {
    /// Uploads `frame` if it is not the one already in the texture.
    pub fn update(&mut self, ctx: &egui::Context, frame: Option<&RgbaFrame>, serial: u64) {
        let Some(frame) = frame else { return };
        if serial == self.shown_serial && self.texture.is_some() {
            return;
        }
        let size = [frame.image.width as usize, frame.image.height as usize];
        let image = ColorImage::from_rgba_unmultiplied(size, &frame.image.pixels);
        match &mut self.texture {
            Some(texture) => texture.set(image, TextureOptions::LINEAR),
            None => self.texture = Some(ctx.load_texture("video", image, TextureOptions::LINEAR)),
        }
        self.shown_serial = serial;
    }

    /// Forgets the picture (a new input was opened).
    pub fn clear(&mut self) {
        self.texture = None;
        self.shown_serial = 0;
    }

    /// Paints the picture letterboxed into the available space; returns where it went.
    pub fn video_ui(&self, ui: &mut Ui) -> Option<Rect> {
        let area = ui.available_rect_before_wrap();
        ui.painter().rect_filled(area, 0.0, Color32::BLACK);
        let texture = self.texture.as_ref()?;
        let rect = letterbox(area, texture.size_vec2());
        ui.painter().image(texture.id(), rect, Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)), Color32::WHITE);
        Some(rect)
    }
}

/// The largest rect of the picture's aspect that fits in `area`, centred.
pub fn letterbox(area: Rect, picture: egui::Vec2) -> Rect {
    if picture.x <= 0.0 || picture.y <= 0.0 {
        return area;
    }
    let scale = (area.width() / picture.x).min(area.height() / picture.y);
    Rect::from_center_size(area.center(), vec2(picture.x * scale, picture.y * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_pictures_get_bars_above_and_below() {
        let area = Rect::from_min_size(pos2(0.0, 0.0), vec2(1000.0, 1000.0));
        let rect = letterbox(area, vec2(1280.0, 720.0));
        assert_eq!(rect.width(), 1000.0);
        assert!((rect.height() - 562.5).abs() < 1e-3);
        assert!((rect.center().y - 500.0).abs() < 1e-3);
    }

    #[test]
    fn tall_pictures_get_bars_left_and_right() {
        let area = Rect::from_min_size(pos2(0.0, 0.0), vec2(1600.0, 900.0));
        let rect = letterbox(area, vec2(360.0, 640.0));
        assert_eq!(rect.height(), 900.0);
        assert!((rect.width() - 506.25).abs() < 1e-3);
    }
}
