//! Training data: natural photos as ground truth, their LR made by bicubic x2 with antialiasing,
//! and, for part of the batches, LR versions that look like what the player decodes: made with
//! another downscaling filter (bicubic, Lanczos-3 or area) and shown as one picture of a short
//! panning shot through H.264 with its usual GOP (P and B pictures) at a random CRF. Patches are
//! sampled at random positions with random flips and transposes, optionally only where there is
//! much to restore.

use std::path::Path;

use rand::Rng;
use rand::rngs::StdRng;

use super::error::TrainError;
use crate::model::degrade::h264_pan_round_trip;
use crate::model::photo::{Luma, image_files, load_ground_truth};
use crate::model::resize::{Downscaler, Kernel, downscale_x2, resize};

/// CRFs the degraded LR variants are drawn from: from barely visible to blocky streaming.
const DEGRADATION_CRF_RANGE: std::ops::RangeInclusive<u32> = 18..=35;
/// The panning shot of a degraded variant: pictures, and the largest step between two, in LR pixels.
const PAN_FRAMES: usize = 5;
const PAN_MAX_STEP: isize = 3;
/// Patches drawn to place the detail threshold of `--informative-patches`.
const DETAIL_SAMPLE: usize = 4000;
/// Draws of a patch below the detail threshold before one is taken anyway (a photo set with too
/// few such places must not stall training).
const DETAIL_TRIES: usize = 200;

/// One photo: the ground truth and its LR versions (clean first, then degraded ones).
pub struct TrainingPair {
    pub name: String,
    pub hr: Luma,
    pub lr_clean: Luma,
    pub lr_degraded: Vec<DegradedLr>,
}

impl TrainingPair {
    fn has_room_for(&self, lr_patch: usize) -> bool {
        self.lr_clean.width >= lr_patch && self.lr_clean.height >= lr_patch
    }
}

/// A degraded LR of a window of the photo: LR pixel (x, y) is clean LR pixel (x, y) + `offset`.
pub struct DegradedLr {
    pub lr: Luma,
    pub offset: (usize, usize),
}

impl DegradedLr {
    /// `hr` downscaled by `downscaler`, the window inside a margin of the largest pan as picture
    /// `shown` (not the first: that one is intra) of a pan with `step` through H.264 at `crf`.
    fn new(
        hr: &Luma,
        downscaler: Downscaler,
        step: (isize, isize),
        shown: usize,
        crf: u32,
    ) -> Result<Option<Self>, ffmpeg_next::Error> {
        let lr = downscaler.downscale_x2(hr);
        let margin = PAN_MAX_STEP as usize * (PAN_FRAMES - 1);
        if lr.width < 2 * margin + 2 || lr.height < 2 * margin + 2 {
            return Ok(None);
        }
        let window = ((lr.width - 2 * margin) & !1, (lr.height - 2 * margin) & !1);
        let shown_lr = h264_pan_round_trip(&lr, window, (margin, margin), step, PAN_FRAMES, shown, crf)?;
        Ok(Some(Self { lr: shown_lr, offset: (margin, margin) }))
    }
}

pub struct TrainingSet {
    pub pairs: Vec<TrainingPair>,
}

/// A batch of aligned patches, flattened row-major: `lr` is `[batch, 1, p, p]`, `hr` `[batch, 1, 2p, 2p]`.
pub struct Batch {
    pub size: usize,
    pub lr_patch: usize,
    pub lr: Vec<f32>,
    pub hr: Vec<f32>,
}

impl TrainingSet {
    /// Loads every photo of `dir` at each of `scales` (1: as it is; less: shrunk by bicubic with
    /// antialiasing, so the network also sees the photo's content at other sizes) and prepares
    /// `degraded_variants` degraded LR versions of each.
    pub fn load(dir: &Path, scales: &[f64], degraded_variants: usize, rng: &mut StdRng) -> Result<Self, TrainError> {
        let mut pairs = Vec::new();
        for (path, &scale) in image_files(dir)?.iter().flat_map(|path| scales.iter().map(move |scale| (path, scale))) {
            let photo = load_ground_truth(path)?;
            let hr = match scale {
                1.0 => photo,
                _ => {
                    let (width, height) =
                        ((photo.width as f64 * scale) as usize & !3, (photo.height as f64 * scale) as usize & !3);
                    resize(&photo, width, height, Kernel::Bicubic).quantized()
                }
            };
            if hr.width < 4 || hr.height < 4 {
                continue;
            }
            let lr_clean = downscale_x2(&hr);
            let mut lr_degraded = Vec::new();
            for _ in 0..degraded_variants {
                let downscaler = Downscaler::ALL[rng.random_range(0..Downscaler::ALL.len())];
                let step = loop {
                    let mut coordinate = || rng.random_range(-(PAN_MAX_STEP as i64)..=PAN_MAX_STEP as i64) as isize;
                    let step = (coordinate(), coordinate());
                    if step != (0, 0) {
                        break step;
                    }
                };
                let (shown, crf) = (rng.random_range(1..PAN_FRAMES), rng.random_range(DEGRADATION_CRF_RANGE));
                let variant = DegradedLr::new(&hr, downscaler, step, shown, crf)
                    .map_err(|source| TrainError::Degrade { path: path.clone(), source })?;
                lr_degraded.extend(variant);
            }
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let name = if scale == 1.0 { stem } else { format!("{stem}@{scale}") };
            pairs.push(TrainingPair { name, hr, lr_clean, lr_degraded });
        }
        Ok(Self { pairs })
    }

    /// Whether some photo is large enough for a patch of `lr_patch` LR pixels.
    pub fn has_room_for(&self, lr_patch: usize) -> bool {
        self.pairs.iter().any(|pair| pair.has_room_for(lr_patch))
    }

    /// Each photo's weight in the draw of a patch of `lr_patch`: its area (every LR pixel equally
    /// likely to be in a patch), 0 where the patch does not fit.
    fn areas(&self, lr_patch: usize) -> (Vec<usize>, usize) {
        let areas: Vec<usize> = self
            .pairs
            .iter()
            .map(|pair| if pair.has_room_for(lr_patch) { pair.lr_clean.data.len() } else { 0 })
            .collect();
        let total: usize = areas.iter().sum();
        assert!(total > 0, "no photo has room for a {lr_patch}x{lr_patch} LR patch");
        (areas, total)
    }

    /// The detail (see [`detail`]) that only `share` of the clean patches of `lr_patch` reach,
    /// from a sample of them drawn with `rng`.
    pub fn detail_threshold(&self, rng: &mut StdRng, lr_patch: usize, share: f64) -> f32 {
        let (areas, total) = self.areas(lr_patch);
        let mut details: Vec<f32> = (0..DETAIL_SAMPLE)
            .map(|_| {
                let pair = &self.pairs[pick(rng, &areas, total)];
                let x = rng.random_range(0..=pair.lr_clean.width - lr_patch);
                let y = rng.random_range(0..=pair.lr_clean.height - lr_patch);
                detail(pair, (x, y), lr_patch)
            })
            .collect();
        details.sort_by(f32::total_cmp);
        let below = ((1.0 - share) * DETAIL_SAMPLE as f64) as usize;
        details[below.min(DETAIL_SAMPLE - 1)]
    }

    /// `size` random patches of `lr_patch` LR pixels; from a degraded LR when `degraded`; with
    /// `min_detail`, only where the clean patch has at least that much [`detail`].
    pub fn batch(
        &self,
        rng: &mut StdRng,
        size: usize,
        lr_patch: usize,
        degraded: bool,
        min_detail: Option<f32>,
    ) -> Batch {
        let hr_patch = 2 * lr_patch;
        let mut lr = Vec::with_capacity(size * lr_patch * lr_patch);
        let mut hr = Vec::with_capacity(size * hr_patch * hr_patch);
        let (areas, total) = self.areas(lr_patch);
        for _ in 0..size {
            let mut tries = 0;
            let (pair, source, (x, y), (dx, dy)) = loop {
                let pair = &self.pairs[pick(rng, &areas, total)];
                let fits = |variant: &&DegradedLr| variant.lr.width >= lr_patch && variant.lr.height >= lr_patch;
                let variants: Vec<&DegradedLr> =
                    if degraded { pair.lr_degraded.iter().filter(fits).collect() } else { Vec::new() };
                let (source, offset) = match variants.len() {
                    0 => (&pair.lr_clean, (0, 0)),
                    n => {
                        let variant = variants[rng.random_range(0..n)];
                        (&variant.lr, variant.offset)
                    }
                };
                let x = rng.random_range(0..=source.width - lr_patch);
                let y = rng.random_range(0..=source.height - lr_patch);
                tries += 1;
                let informative = |threshold| detail(pair, (x + offset.0, y + offset.1), lr_patch) >= threshold;
                if tries >= DETAIL_TRIES || min_detail.is_none_or(informative) {
                    break (pair, source, (x, y), offset);
                }
            };
            let orientation = rng.random_range(0..8u8);
            lr.extend(oriented(&source.crop(x, y, lr_patch, lr_patch), orientation));
            hr.extend(oriented(&pair.hr.crop(2 * (x + dx), 2 * (y + dy), hr_patch, hr_patch), orientation));
        }
        Batch { size, lr_patch, lr, hr }
    }
}

/// An index drawn with probability proportional to its weight in `weights` (summing to `total`).
fn pick(rng: &mut StdRng, weights: &[usize], total: usize) -> usize {
    let (mut pick, mut index) = (rng.random_range(0..total), 0);
    while pick >= weights[index] {
        pick -= weights[index];
        index += 1;
    }
    index
}

/// What the clean LR patch of `lr_patch` at `(x, y)` leaves the network to restore: the mean
/// absolute difference between its HR and the bilinear x2 of the LR (the base the network's output
/// is added to; the patch's edges repeated).
fn detail(pair: &TrainingPair, (x, y): (usize, usize), lr_patch: usize) -> f32 {
    let (lr, hr) = (&pair.lr_clean, &pair.hr);
    let at = |column: usize, row: usize| lr.data[(y + row) * lr.width + x + column];
    let mut sum = 0.0;
    for row in 0..lr_patch {
        // The LR rows a quarter pixel above and below each HR row's centre.
        let (up, down) = (row.saturating_sub(1), (row + 1).min(lr_patch - 1));
        for column in 0..lr_patch {
            let (left, right) = (column.saturating_sub(1), (column + 1).min(lr_patch - 1));
            for (dy, near_row) in [(0, up), (1, down)] {
                for (dx, near_column) in [(0, left), (1, right)] {
                    let bilinear = 0.5625 * at(column, row)
                        + 0.1875 * (at(near_column, row) + at(column, near_row))
                        + 0.0625 * at(near_column, near_row);
                    let truth = hr.data[(2 * (y + row) + dy) * hr.width + 2 * (x + column) + dx];
                    sum += (truth - bilinear).abs();
                }
            }
        }
    }
    sum / (4 * lr_patch * lr_patch) as f32
}

/// One of the 8 flips/transposes of a square patch (bit 0: mirror, bit 1: flip, bit 2: transpose).
fn oriented(patch: &Luma, orientation: u8) -> Vec<f32> {
    let n = patch.width;
    let mut out = Vec::with_capacity(n * n);
    for row in 0..n {
        for column in 0..n {
            let (mut x, mut y) = if orientation & 4 != 0 { (row, column) } else { (column, row) };
            if orientation & 1 != 0 {
                x = n - 1 - x;
            }
            if orientation & 2 != 0 {
                y = n - 1 - y;
            }
            out.push(patch.at(x, y));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn orientations_are_the_eight_symmetries_of_the_square() {
        let patch = Luma::new(3, 3, (0..9).map(|v| v as f32).collect());
        let all: std::collections::HashSet<Vec<u32>> =
            (0..8).map(|o| oriented(&patch, o).iter().map(|v| *v as u32).collect()).collect();
        assert_eq!(all.len(), 8);
        assert_eq!(oriented(&patch, 0), patch.data);
    }

    /// A degraded variant's patches sit where their HR is: its LR is close to the HR's area mean.
    #[test]
    fn degraded_patches_stay_aligned_with_their_ground_truth() {
        let hr = Luma::new(
            256,
            192,
            (0..256 * 192)
                .map(|i| (((i % 256) as f32 * 0.11).sin() * ((i / 256) as f32 * 0.07).cos()) * 0.35 + 0.5)
                .collect(),
        );
        let variant = DegradedLr::new(&hr, Downscaler::Area, (2, -3), 3, 18).unwrap().expect("large enough");
        let set = TrainingSet {
            pairs: vec![TrainingPair {
                name: "waves".into(),
                lr_clean: downscale_x2(&hr),
                hr,
                lr_degraded: vec![variant],
            }],
        };
        let batch = set.batch(&mut StdRng::seed_from_u64(3), 6, 16, true, None);
        for b in 0..6 {
            let (lr, hr) = (&batch.lr[b * 256..(b + 1) * 256], &batch.hr[b * 1024..(b + 1) * 1024]);
            let error: f32 = (0..16 * 16)
                .map(|i| {
                    let (x, y) = (i % 16, i / 16);
                    let area = (hr[2 * y * 32 + 2 * x]
                        + hr[2 * y * 32 + 2 * x + 1]
                        + hr[(2 * y + 1) * 32 + 2 * x]
                        + hr[(2 * y + 1) * 32 + 2 * x + 1])
                        / 4.0;
                    (lr[i] - area).abs()
                })
                .sum::<f32>()
                / 256.0;
            assert!(error < 0.02, "patch {b}: mean error {error}");
        }
    }

    /// A photo with four times the area gives four times the patches.
    #[test]
    fn patches_come_from_photos_in_proportion_to_their_area() {
        let pair = |name: &str, side: usize| {
            let hr = Luma::new(side, side, vec![0.5; side * side]);
            TrainingPair { name: name.into(), lr_clean: downscale_x2(&hr), hr, lr_degraded: vec![] }
        };
        let mut big = pair("big", 128);
        big.hr.data.fill(0.9);
        big.lr_clean.data.fill(0.9);
        let set = TrainingSet { pairs: vec![pair("small", 64), big, pair("too small", 8)] };
        let batch = set.batch(&mut StdRng::seed_from_u64(9), 2000, 8, false, None);
        let from_big = batch.lr.chunks(64).filter(|patch| patch[0] > 0.7).count();
        assert!((1500..1700).contains(&from_big), "{from_big} of 2000 patches from the photo with 4/5 of the area");
    }

    /// With `--informative-patches 0.5` the patches come from the textured half of a photo whose
    /// other half is a smooth ramp the bilinear base already restores; without it, from both.
    #[test]
    fn informative_patches_come_from_where_there_is_detail() {
        let (width, height) = (128, 64);
        let hr = Luma::new(
            width,
            height,
            (0..width * height)
                .map(|i| {
                    let (x, y) = (i % width, i / width);
                    if x < width / 2 { x as f32 / width as f32 } else { ((x * 7 + y * 13) % 5) as f32 / 5.0 }
                })
                .collect(),
        );
        let set = TrainingSet {
            pairs: vec![TrainingPair { name: "halves".into(), lr_clean: downscale_x2(&hr), hr, lr_degraded: vec![] }],
        };
        let threshold = set.detail_threshold(&mut StdRng::seed_from_u64(5), 8, 0.5);
        let textured = |min_detail| {
            let batch = set.batch(&mut StdRng::seed_from_u64(7), 400, 8, false, min_detail);
            // Along a row of the ramp (either way round) neighbours differ by a step at most; in
            // the texture they jump.
            let jumps =
                |patch: &[f32]| patch.chunks(8).any(|row| row.windows(2).any(|pair| (pair[1] - pair[0]).abs() > 0.05));
            batch.lr.chunks(64).filter(|patch| jumps(patch)).count()
        };
        let (everywhere, informative) = (textured(None), textured(Some(threshold)));
        assert!((120..280).contains(&everywhere), "{everywhere} of 400 patches from the texture without a threshold");
        assert!(informative > 380, "{informative} of 400 patches from the texture with one");
    }

    #[test]
    fn lr_and_hr_patches_stay_aligned() {
        let hr = Luma::new(16, 16, (0..256).map(|i| (i % 16) as f32 / 16.0).collect());
        let set = TrainingSet {
            pairs: vec![TrainingPair { name: "ramp".into(), lr_clean: downscale_x2(&hr), hr, lr_degraded: vec![] }],
        };
        let batch = set.batch(&mut StdRng::seed_from_u64(1), 4, 4, false, None);
        assert_eq!((batch.lr.len(), batch.hr.len()), (4 * 16, 4 * 64));
        for b in 0..4 {
            // The horizontal ramp survives as a ramp in one direction or the other, in both.
            let lr = &batch.lr[b * 16..(b + 1) * 16];
            let hr = &batch.hr[b * 64..(b + 1) * 64];
            let lr_mean: f32 = lr.iter().sum::<f32>() / 16.0;
            let hr_mean: f32 = hr.iter().sum::<f32>() / 64.0;
            assert!((lr_mean - hr_mean).abs() < 0.03, "{lr_mean} vs {hr_mean}");
        }
    }
}
