//! Timing of the inference engines: the median of many runs after a warm-up, the machine's FMA peak,
//! and the reference timing of the same architectures on ONNX Runtime (`scripts/ort-bench.py`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ffmpeg_next as ffmpeg;

/// Median milliseconds of `runs` calls of `work` after `warmup` untimed ones.
pub fn median_ms(warmup: usize, runs: usize, mut work: impl FnMut()) -> f64 {
    (0..warmup).for_each(|_| work());
    let mut times: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// A `width` x `height` 8-bit 4:2:0 frame with smooth gradients (timing does not depend on content).
pub fn gradient_frame(width: u32, height: u32) -> ffmpeg::frame::Video {
    crate::media::init_ffmpeg();
    let mut frame = ffmpeg::frame::Video::new(ffmpeg::format::Pixel::YUV420P, width, height);
    for plane in 0..3 {
        let (plane_width, plane_height) = (frame.plane_width(plane) as usize, frame.plane_height(plane) as usize);
        let stride = frame.stride(plane);
        let data = frame.data_mut(plane);
        for y in 0..plane_height {
            for x in 0..plane_width {
                data[y * stride + x] = (16 + x * 150 / plane_width + y * 50 / plane_height + plane * 10) as u8;
            }
        }
    }
    frame
}

/// GFLOP/s of a network costing `macs_per_pixel` on `pixels` pixels in `ms` milliseconds.
pub fn gflops(macs_per_pixel: usize, pixels: usize, ms: f64) -> f64 {
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
pub fn ort_medians(manifest: &Path, (width, height): (usize, usize), threads: usize, runs: usize) -> Result<Vec<(String, f64)>, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ort-bench.py");
    let python = ort_python();
    let output = Command::new(&python)
        .arg(&script)
        .arg("--manifest")
        .arg(manifest)
        .args(["--size", &format!("{width}x{height}"), "--threads", &threads.to_string(), "--runs", &runs.to_string()])
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let cause = stderr.lines().rfind(|line| !line.trim().is_empty()).unwrap_or("failed");
        return Err(format!("{}: {cause}", script.display()));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("ort-bench output: {e}"))?;
            let rung = value["rung"].as_str().ok_or("ort-bench output: no rung")?.to_owned();
            let ms = value["median_ms"].as_f64().ok_or("ort-bench output: no median_ms")?;
            Ok((rung, ms))
        })
        .collect()
}
