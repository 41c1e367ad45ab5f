//! `dysr bench rungs`: every rung of the ladder on the kernels (or a GPU): ms per frame, frames/s,
//! GFLOP/s and share of the FMA peak, the whole frame with YUV to RGBA, and the reference timing of
//! the same architectures on ONNX Runtime (`scripts/ort-bench.py`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use super::BenchError;
use crate::engine::SCALE;
use crate::engine::cpu::PackedNetwork;
use crate::engine::cpu::kernels::{Isa, fma_peak_gflops};
use crate::engine::cpu::network::NetworkRunner;
use crate::engine::neural::{EngineFactory, NeuralUpscaler, engine_factory};
use crate::media::gradient_frame;
use crate::model::device::DeviceChoice;
use crate::model::manifest::Manifest;
use crate::telemetry::median_ms;

/// What `dysr bench rungs` measures.
#[derive(Debug, Clone)]
pub struct RungsConfig {
    /// Low-resolution frame size.
    pub size: (usize, usize),
    pub manifest: PathBuf,
    /// Timed runs per rung (the median is reported), after a few untimed ones.
    pub runs: usize,
    pub threads: usize,
    pub isa: Isa,
    pub device: DeviceChoice,
    /// Also time ONNX Runtime.
    pub ort: bool,
    /// Also write the table as CSV to this file.
    pub csv: Option<PathBuf>,
}

struct Row {
    name: String,
    spec: String,
    macs: usize,
    network_ms: f64,
    frame_ms: f64,
    ort_ms: Option<f64>,
}

impl Row {
    /// The row's columns: (header, CSV header, table text, CSV text); one list for both outputs.
    fn columns(&self, pixels: usize, peak: f64) -> Vec<(&'static str, &'static str, String, String)> {
        let rate = gflops(self.macs, pixels, self.network_ms);
        let ratio = self.ort_ms.map(|ort| self.network_ms / ort);
        let optional =
            |value: Option<f64>, digits: usize| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"));
        vec![
            ("rung", "rung", format!("{:<4}", self.name), self.name.clone()),
            ("spec", "spec", format!("{:<6}", self.spec), self.spec.clone()),
            ("MACs/px", "macs_per_pixel", format!("{:>7}", self.macs), self.macs.to_string()),
            ("SR ms", "sr_ms", format!("{:>9.2}", self.network_ms), format!("{:.3}", self.network_ms)),
            ("SR fps", "sr_fps", format!("{:>8.1}", 1e3 / self.network_ms), format!("{:.2}", 1e3 / self.network_ms)),
            ("GFLOP/s", "gflops", format!("{rate:>9.1}"), format!("{rate:.2}")),
            ("peak", "peak_share", format!("{:>5.0}%", 100.0 * rate / peak), format!("{:.4}", rate / peak)),
            ("+colour ms", "frame_ms", format!("{:>10.2}", self.frame_ms), format!("{:.3}", self.frame_ms)),
            ("frame fps", "frame_fps", format!("{:>9.1}", 1e3 / self.frame_ms), format!("{:.2}", 1e3 / self.frame_ms)),
            ("ORT ms", "ort_ms", format!("{:>8}", optional(self.ort_ms, 2)), optional(self.ort_ms, 3)),
            ("ours/ORT", "ratio_to_ort", format!("{:>8}", optional(ratio, 2)), optional(ratio, 3)),
        ]
    }
}

/// Runs the bench, printing as it goes and the table at the end.
pub fn run(config: &RungsConfig) -> Result<(), BenchError> {
    let (isa, threads) = (config.isa, config.threads.max(1));
    if !isa.is_supported() {
        return Err(BenchError::UnsupportedIsa(isa.name()));
    }
    let model = Manifest::load_with_weights(&config.manifest, &burn::prelude::Device::flex())?;
    if config.device == DeviceChoice::Gpu {
        return super::gpu_rungs::run(&model, config.size, config.runs, config.csv.as_deref());
    }
    let (width, height) = config.size;
    let pixels = width * height;
    let peak_of = |isa: Isa| fma_peak_gflops(isa, threads, 200_000_000 / threads);
    let peak = peak_of(Isa::detect());
    println!(
        "{width}x{height} -> {}x{}, {threads} threads, {} kernels; FMA peak {peak:.1} GFLOP/s ({} on {threads} threads)",
        width * SCALE as usize,
        height * SCALE as usize,
        isa.name(),
        Isa::detect().name()
    );
    if isa != Isa::detect() {
        println!(
            "FMA peak of the {} path: {:.1} GFLOP/s (the 'peak' column stays the machine's)",
            isa.name(),
            peak_of(isa)
        );
    }
    let ort = if config.ort {
        ort_medians(&config.manifest, config.size, threads, config.runs).map_err(|why| why.to_string())
    } else {
        Err("skipped (--no-ort)".to_owned())
    };
    if let Err(why) = &ort {
        println!("ONNX Runtime: none ({why}; `make bench-deps` installs it)");
    }
    let frame = gradient_frame(width as u32, height as u32);
    let mut rows = Vec::new();
    for rung in &model.manifest.ladder {
        let network = Arc::new(PackedNetwork::from_supernet(&model.supernet, rung.spec, isa));
        let macs = network.macs_per_pixel();
        let engines: EngineFactory = match config.device {
            DeviceChoice::Cpu => Arc::new(move || Box::new(NetworkRunner::new(Arc::clone(&network), threads))),
            device => engine_factory(&model.supernet, rung.spec, device)?,
        };
        let mut engine = engines();
        if rows.is_empty() {
            println!("engine: {}", engine.describe());
        }
        engine.prepare(width, height);
        let mut output = vec![0.0; pixels * 4];
        let network_ms = median_ms(5, config.runs, || engine.run(&mut output));
        let mut upscaler = NeuralUpscaler::new(engines(), &rung.name);
        let frame_ms = median_ms(5, config.runs, || {
            upscaler.upscale(&frame).expect("a YUV 4:2:0 frame converts");
        });
        let ort_ms = ort
            .as_ref()
            .ok()
            .and_then(|medians| medians.iter().find(|(name, _)| *name == rung.name).map(|(_, ms)| *ms));
        rows.push(Row { name: rung.name.clone(), spec: rung.spec.to_string(), macs, network_ms, frame_ms, ort_ms });
    }
    let mut csv = String::new();
    for (index, row) in rows.iter().enumerate() {
        let columns = row.columns(pixels, peak);
        if index == 0 {
            // The first two columns (names) read left-aligned, the figures right-aligned.
            let headers: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(column, (header, _, text, _))| match column {
                    0 | 1 => format!("{header:<width$}", width = text.len()),
                    _ => format!("{header:>width$}", width = text.len()),
                })
                .collect();
            println!("{}", headers.join(" "));
            csv = columns.iter().map(|(_, header, _, _)| *header).collect::<Vec<_>>().join(",") + "\n";
        }
        println!("{}", columns.iter().map(|(_, _, text, _)| text.as_str()).collect::<Vec<_>>().join(" "));
        csv += &(columns.iter().map(|(_, _, _, value)| value.as_str()).collect::<Vec<_>>().join(",") + "\n");
    }
    if let Some(path) = &config.csv {
        std::fs::write(path, csv).map_err(BenchError::io(path))?;
    }
    Ok(())
}

/// GFLOP/s of a network costing `macs_per_pixel` on `pixels` pixels in `ms` milliseconds.
fn gflops(macs_per_pixel: usize, pixels: usize, ms: f64) -> f64 {
    2.0 * macs_per_pixel as f64 * pixels as f64 / (ms * 1e6)
}

/// The Python that has onnxruntime: `$DYSR_ORT_PYTHON`, the venv `make bench-deps` makes, or python3.
fn ort_python() -> PathBuf {
    if let Some(python) = std::env::var_os("DYSR_ORT_PYTHON") {
        return python.into();
    }
    let venv = std::env::home_dir().map(|home| home.join(".cache/dysr-ort/bin/python"));
    venv.filter(|python| python.is_file()).unwrap_or_else(|| "python3".into())
}

/// ONNX Runtime's median ms per rung name, or why there is none (not installed, script failed).
fn ort_medians(
    manifest: &Path,
    (width, height): (usize, usize),
    threads: usize,
    runs: usize,
) -> Result<Vec<(String, f64)>, BenchError> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ort-bench.py");
    let python = ort_python();
    let output = Command::new(&python)
        .arg(&script)
        .arg("--manifest")
        .arg(manifest)
        .args(["--size", &format!("{width}x{height}"), "--threads", &threads.to_string(), "--runs", &runs.to_string()])
        .output()
        .map_err(|e| BenchError::Reference { program: python.clone(), cause: e.to_string() })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let cause = stderr.lines().rfind(|line| !line.trim().is_empty()).unwrap_or("failed");
        return Err(BenchError::Reference { program: script, cause: cause.to_owned() });
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let unreadable = |cause: String| BenchError::Reference {
                program: script.clone(),
                cause: format!("unreadable output: {cause}"),
            };
            let value: serde_json::Value = serde_json::from_str(line).map_err(|e| unreadable(e.to_string()))?;
            let rung = value["rung"].as_str().ok_or_else(|| unreadable("no rung".to_owned()))?.to_owned();
            let ms = value["median_ms"].as_f64().ok_or_else(|| unreadable("no median_ms".to_owned()))?;
            Ok((rung, ms))
        })
        .collect()
}
