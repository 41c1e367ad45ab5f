//! PNG charts (plotters): the training loss curve and the adaptation bench's traces. Labels use the
//! font egui ships, so no system font is needed.

use std::path::{Path, PathBuf};

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{}: cannot draw the chart: {source}", path.display())]
    Draw { path: PathBuf, source: DrawError },
    #[error("{}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// An error of plotters' drawing backend.
pub type DrawError = Box<dyn std::error::Error + Send + Sync>;

fn boxed<E: std::error::Error + Send + Sync + 'static>(error: E) -> DrawError {
    Box::new(error)
}

/// Draws with `draw` into a PNG at `path`: written whole to a partial file, then renamed.
fn write_png(path: &Path, draw: impl FnOnce(&Path) -> Result<(), DrawError>) -> Result<(), PlotError> {
    let partial = path.with_extension("partial.png");
    draw(&partial).map_err(|source| PlotError::Draw { path: path.to_owned(), source })?;
    std::fs::rename(&partial, path).map_err(|source| PlotError::Write { path: path.to_owned(), source })
}

/// A named line of (x, y) points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

fn register_font() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT).ok();
    });
}

/// Draws `series` as lines on a log-scale y axis into a PNG at `path` (written whole, then renamed).
pub fn log_line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), PlotError> {
    register_font();
    let points = || series.iter().flat_map(|s| s.points.iter()).filter(|(_, y)| *y > 0.0);
    let x_max = points().map(|(x, _)| *x).fold(1.0, f64::max);
    let y_min = points().map(|(_, y)| *y).fold(f64::MAX, f64::min).min(1.0);
    let y_max = points().map(|(_, y)| *y).fold(f64::MIN, f64::max).max(y_min * 10.0);
    write_png(path, |partial| {
        let root = BitMapBackend::new(partial, (1000, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(boxed)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 26))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, (y_min * 0.9..y_max * 1.1).log_scale())
            .map_err(boxed)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style(("sans-serif", 16))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.3}"))
            .draw()
            .map_err(boxed)?;
        draw_lines(&mut chart, series, |(_, y)| *y > 0.0)?;
        root.present().map_err(boxed)
    })
}

/// One chart of a stacked figure: lines on a linear y axis.
pub struct Panel {
    pub y_label: String,
    pub series: Vec<Series>,
}

/// Draws `panels` one above the other, sharing the x axis, into a PNG at `path` (written whole,
/// then renamed).
pub fn stacked_line_charts(path: &Path, title: &str, x_label: &str, panels: &[Panel]) -> Result<(), PlotError> {
    register_font();
    let all = || panels.iter().flat_map(|panel| panel.series.iter().flat_map(|s| s.points.iter()));
    let x_max = all().map(|(x, _)| *x).fold(1.0, f64::max);
    write_png(path, |partial| {
        let root = BitMapBackend::new(partial, (1100, 300 * panels.len() as u32 + 60)).into_drawing_area();
        root.fill(&WHITE).map_err(boxed)?;
        let root = root.titled(title, ("sans-serif", 26)).map_err(boxed)?;
        for (panel, area) in panels.iter().zip(root.split_evenly((panels.len(), 1))) {
            let points = || panel.series.iter().flat_map(|s| s.points.iter());
            // From 0, or from below the lowest value when some are negative.
            let y_min = points().map(|(_, y)| *y).fold(0.0, f64::min) * 1.08;
            let y_max = points().map(|(_, y)| *y).fold(1.0, f64::max) * 1.08;
            let mut chart = ChartBuilder::on(&area)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(70)
                .build_cartesian_2d(0.0..x_max, y_min..y_max)
                .map_err(boxed)?;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(panel.y_label.as_str())
                .label_style(("sans-serif", 15))
                .draw()
                .map_err(boxed)?;
            draw_lines(&mut chart, &panel.series, |_| true)?;
        }
        root.present().map_err(boxed)
    })
}

/// Each of `series` as a coloured line (the points `keep` accepts), with a legend.
fn draw_lines<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
    series: &[Series],
    keep: impl Fn(&(f64, f64)) -> bool,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    for (index, line) in series.iter().enumerate() {
        let colour = Palette99::pick(index).to_rgba();
        chart
            .draw_series(LineSeries::new(line.points.iter().copied().filter(&keep), colour.stroke_width(2)))
            .map_err(boxed)?
            .label(line.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(boxed)
}
