//! The seek bar: a track with the played part filled and a tick at each chapter's start; click or
//! drag to seek. Written as a widget in
//! four steps (size, allocate, interact, paint) so it can report itself to accessibility (and tests)
//! as a slider named "Seek" without drawing a label.

use egui::{Response, Sense, Ui, WidgetInfo, pos2, vec2};

use crate::media::source::Chapter;

pub struct SeekBar<'a> {
    position_secs: f64,
    duration_secs: f64,
    chapters: &'a [Chapter],
    /// Where the user is dragging to, kept across frames by the caller.
    dragging_to: &'a mut Option<f64>,
}

impl<'a> SeekBar<'a> {
    pub fn new(
        position_secs: f64,
        duration_secs: f64,
        chapters: &'a [Chapter],
        dragging_to: &'a mut Option<f64>,
    ) -> Self {
        Self { position_secs, duration_secs, chapters, dragging_to }
    }
}

/// The outcome: the response, and the seek target when the user let go or clicked.
pub struct SeekBarResponse {
    pub response: Response,
    pub seek_to_secs: Option<f64>,
}

impl SeekBar<'_> {
    pub fn show(self, ui: &mut Ui) -> SeekBarResponse {
        let height = ui.spacing().interact_size.y;
        let width = ui.available_width().max(60.0);
        let (rect, response) = ui.allocate_exact_size(vec2(width, height), Sense::click_and_drag());
        let duration = self.duration_secs.max(1e-6);
        let secs_at = |x: f32| f64::from(((x - rect.left()) / rect.width()).clamp(0.0, 1.0)) * duration;

        let mut seek_to_secs = None;
        if let Some(pointer) = response.interact_pointer_pos() {
            *self.dragging_to = Some(secs_at(pointer.x));
        }
        if response.drag_stopped() || response.clicked() {
            seek_to_secs = self.dragging_to.take().or_else(|| response.interact_pointer_pos().map(|p| secs_at(p.x)));
        } else if !response.dragged() && !response.is_pointer_button_down_on() {
            *self.dragging_to = None;
        }
        let shown_secs = self.dragging_to.unwrap_or(self.position_secs);
        // The time under the pointer and its chapter, as mpv's bar shows them.
        let response = match response.hover_pos() {
            Some(pointer) => {
                let secs = secs_at(pointer.x);
                let chapter = self
                    .chapters
                    .iter()
                    .rev()
                    .find(|chapter| chapter.start_secs <= secs)
                    .filter(|chapter| !chapter.title.is_empty());
                let chapter = chapter.map(|chapter| format!(" {}", chapter.title)).unwrap_or_default();
                response.on_hover_text_at_pointer(format!(
                    "{}{chapter} (arrows: 5 s and 60 s; PgUp / PgDn: chapters)",
                    super::format_time(secs)
                ))
            }
            None => response,
        };
        response.widget_info(|| WidgetInfo::slider(true, shown_secs, "Seek"));

        if ui.is_rect_visible(rect) {
            let visuals = ui.style().interact(&response);
            let track = rect.shrink2(vec2(0.0, rect.height() * 0.35));
            let fraction = (shown_secs / duration).clamp(0.0, 1.0) as f32;
            let played =
                egui::Rect::from_min_max(track.min, pos2(track.left() + track.width() * fraction, track.bottom()));
            let painter = ui.painter();
            painter.rect_filled(track, track.height() / 2.0, ui.visuals().extreme_bg_color);
            painter.rect_filled(played, track.height() / 2.0, ui.visuals().selection.bg_fill);
            for chapter in
                self.chapters.iter().filter(|chapter| chapter.start_secs > 0.0 && chapter.start_secs < duration)
            {
                let x = track.left() + track.width() * (chapter.start_secs / duration) as f32;
                painter.vline(
                    x,
                    rect.y_range().shrink(rect.height() * 0.2),
                    ui.visuals().widgets.noninteractive.fg_stroke,
                );
            }
            painter.circle_filled(pos2(played.right(), rect.center().y), rect.height() * 0.3, visuals.fg_stroke.color);
        }
        SeekBarResponse { response, seek_to_secs }
    }
}
