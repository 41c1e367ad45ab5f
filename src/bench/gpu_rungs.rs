//! `dysr bench rungs --device gpu`: every rung of the ladder on the GPU, dysr's fused kernels
//! beside burn's conv2d path on the same device: GPU ms per frame (submission to completion, the
//! luma already on the device, nothing read back), frames/s, GFLOP/s, the speed-up of the fused
//! kernels, and the device memory of the weights and of one frame's buffers.

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};

use super::BenchError;
use crate::engine::LumaEngine;
use crate::engine::gpu::GpuRunner;
use crate::model::device::GpuContext;
use crate::model::manifest::LoadedModel;
use crate::model::supernet::SubgraphSpec;
use crate::telemetry::median_ms;

/// One rung's figures.
pub struct GpuRow {
    pub name: String,
    pub spec: SubgraphSpec,
    pub macs: usize,
    pub fused_ms: f64,
    /// burn's path, when it was timed.
    pub burn_ms: Option<f64>,
}

/// Times every rung of `model` at `width` x `height` on `gpu` (burn's path too when `with_burn`).
pub fn measure(
    gpu: &GpuContext,
    model: &LoadedModel,
    (width, height): (usize, usize),
    runs: usize,
    with_burn: bool,
) -> (Vec<GpuRow>, u64, u64) {
    let rungs: Vec<SubgraphSpec> = model.manifest.ladder.iter().map(|rung| rung.spec).collect();
    let mut runner = GpuRunner::new(&gpu.device, &gpu.queue, &model.supernet, &rungs, 0, gpu.name.clone());
    runner.prepare(width, height);
    for y in 0..height {
        for (x, value) in runner.input_row(y).iter_mut().enumerate() {
            *value = ((x * 7 + y * 13) % 256) as f32 / 255.0;
        }
    }
    let mut rows = Vec::new();
    for (index, rung) in model.manifest.ladder.iter().enumerate() {
        runner.set_rung(index);
        let fused_ms = median_ms(3, runs, || {
            let submission = runner.submit();
            runner.wait(submission);
        });
        let burn_ms = with_burn.then(|| {
            let network = model.supernet.extract(rung.spec).to_device(&gpu.burn);
            let data: Vec<f32> = (0..width * height).map(|i| (i % 256) as f32 / 255.0).collect();
            let input = Tensor::<4>::from_data(TensorData::new(data, [1, 1, height, width]), &gpu.burn);
            median_ms(3, runs, || {
                let output = network.forward(input.clone(), rung.spec);
                gpu.burn.sync().expect("burn's work finishes");
                drop(output);
            })
        });
        rows.push(GpuRow { name: rung.name.clone(), spec: rung.spec, macs: rung.macs_per_lr_pixel, fused_ms, burn_ms });
    }
    (rows, runner.ladder().weight_bytes(), runner.ladder().frame_bytes())
}

/// Runs the bench on the hardware GPU, printing the table (and writing it as CSV to `csv`).
pub fn run(
    model: &LoadedModel,
    size: (usize, usize),
    runs: usize,
    csv: Option<&std::path::Path>,
) -> Result<(), BenchError> {
    let gpu = GpuContext::hardware()?;
    let (width, height) = size;
    println!(
        "{width}x{height} -> {}x{} on {} (dysr kernels and burn's conv2d, one wgpu device)",
        2 * width,
        2 * height,
        gpu.name
    );
    let (rows, weight_bytes, frame_bytes) = measure(gpu, model, size, runs, true);
    println!(
        "device memory: weights {:.2} MiB (every rung), frame buffers {:.1} MiB at this size",
        weight_bytes as f64 / (1 << 20) as f64,
        frame_bytes as f64 / (1 << 20) as f64
    );
    let table = table(&rows, width * height);
    print!("{}", table.text);
    if let Some(path) = csv {
        std::fs::write(path, &table.csv).map_err(BenchError::io(path))?;
    }
    Ok(())
}

pub struct Table {
    pub text: String,
    pub csv: String,
}

/// The rows as an aligned table and as CSV.
pub fn table(rows: &[GpuRow], pixels: usize) -> Table {
    let mut text = format!(
        "{:<4} {:<6} {:>7} {:>9} {:>8} {:>9} {:>9} {:>10}\n",
        "rung", "spec", "MACs/px", "GPU ms", "fps", "GFLOP/s", "burn ms", "fused/burn"
    );
    let mut csv = "rung,spec,macs_per_pixel,gpu_ms,fps,gflops,burn_ms,speedup_over_burn\n".to_owned();
    for row in rows {
        let gflops = 2.0 * row.macs as f64 * pixels as f64 / (row.fused_ms * 1e6);
        let speedup = row.burn_ms.map(|burn| burn / row.fused_ms);
        let optional =
            |value: Option<f64>, digits: usize| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"));
        text += &format!(
            "{:<4} {:<6} {:>7} {:>9.3} {:>8.1} {:>9.1} {:>9} {:>10}\n",
            row.name,
            row.spec.to_string(),
            row.macs,
            row.fused_ms,
            1e3 / row.fused_ms,
            gflops,
            optional(row.burn_ms, 3),
            optional(speedup, 2)
        );
        csv += &format!(
            "{},{},{},{:.4},{:.2},{:.2},{},{}\n",
            row.name,
            row.spec,
            row.macs,
            row.fused_ms,
            1e3 / row.fused_ms,
            gflops,
            optional(row.burn_ms, 4),
            optional(speedup, 3)
        );
    }
    Table { text, csv }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::manifest::{Manifest, default_manifest_path};

    /// On the software adapter (tiny frames, one run): every rung gets a time on both paths, and
    /// the table has a line and a CSV row per rung.
    #[test]
    fn the_gpu_bench_times_every_rung_on_both_paths() {
        let model = Manifest::load_with_weights(&default_manifest_path(), &burn::prelude::Device::flex()).unwrap();
        let gpu = GpuContext::shared().expect("a wgpu adapter");
        let (rows, weight_bytes, frame_bytes) = measure(gpu, &model, (16, 12), 1, true);
        assert_eq!(rows.len(), model.manifest.ladder.len());
        assert!(rows.iter().all(|row| row.fused_ms > 0.0 && row.burn_ms.is_some_and(|ms| ms > 0.0)));
        assert!(weight_bytes > 0 && frame_bytes > 0);
        let table = table(&rows, 16 * 12);
        assert_eq!(table.text.lines().count(), rows.len() + 1);
        assert_eq!(table.csv.lines().count(), rows.len() + 1);
    }
}
