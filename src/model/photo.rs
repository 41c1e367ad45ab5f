//! Luma planes: loading photos, BT.601 Y from RGB, and back to 8 bits.

use std::path::{Path, PathBuf};

use super::error::ModelError;

/// A single-channel image, row-major, values in [0, 1] (8-bit code values / 255).
#[derive(Debug, Clone, PartialEq)]
pub struct Luma {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Luma {
    pub fn new(width: usize, height: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), width * height, "plane size");
        Self { width, height, data }
    }

    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    /// The `width` x `height` window at (`x`, `y`).
    pub fn crop(&self, x: usize, y: usize, width: usize, height: usize) -> Luma {
        let mut data = Vec::with_capacity(width * height);
        for row in y..y + height {
            data.extend_from_slice(&self.data[row * self.width + x..row * self.width + x + width]);
        }
        Luma::new(width, height, data)
    }

    /// Rounds to 8-bit code values (what a decoder hands the player).
    pub fn quantized(&self) -> Luma {
        Luma::new(
            self.width,
            self.height,
            self.data.iter().map(|v| (v * 255.0).round().clamp(0.0, 255.0) / 255.0).collect(),
        )
    }

    pub fn to_u8(&self) -> Vec<u8> {
        self.data.iter().map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8).collect()
    }

    pub fn from_u8(width: usize, height: usize, bytes: &[u8]) -> Luma {
        Luma::new(width, height, bytes.iter().map(|&b| f32::from(b) / 255.0).collect())
    }
}

/// BT.601 luma of 8-bit RGB, in the limited (16-235) range video uses, as a fraction of 255.
pub fn bt601_luma(r: f32, g: f32, b: f32) -> f32 {
    (16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0) / 255.0
}

/// Loads an image file as RGB8.
pub fn load_rgb(path: &Path) -> Result<image::RgbImage, ModelError> {
    image::open(path).map(|image| image.to_rgb8()).map_err(|source| ModelError::Image { path: path.to_owned(), source })
}

/// The Y plane of an RGB image.
pub fn luma_of(rgb: &image::RgbImage) -> Luma {
    let data = rgb.pixels().map(|p| bt601_luma(f32::from(p[0]), f32::from(p[1]), f32::from(p[2]))).collect();
    Luma::new(rgb.width() as usize, rgb.height() as usize, data)
}

/// The image files (PNG or JPEG) of a folder, sorted by name.
pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ModelError::Folder { dir: dir.to_owned(), source })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ModelError::NoImages { dir: dir.to_owned() });
    }
    Ok(files)
}

/// Ground truth cropped so that its LR has even sides (H.264 needs them).
pub fn load_ground_truth(path: &Path) -> Result<Luma, ModelError> {
    Ok(crop_for_h264(luma_of(&load_rgb(path)?)))
}

/// The ground truth's R, G and B planes (in [0, 1]), cropped like [`load_ground_truth`]: for the
/// peers that upscale RGB.
pub fn load_ground_truth_rgb(path: &Path) -> Result<[Luma; 3], ModelError> {
    let rgb = load_rgb(path)?;
    let (width, height) = (rgb.width() as usize, rgb.height() as usize);
    Ok(std::array::from_fn(|c| {
        crop_for_h264(Luma::new(width, height, rgb.pixels().map(|p| f32::from(p[c]) / 255.0).collect()))
    }))
}

fn crop_for_h264(hr: Luma) -> Luma {
    hr.crop(0, 0, hr.width & !3, hr.height & !3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bt601_maps_black_and_white_to_video_range() {
        assert!((bt601_luma(0.0, 0.0, 0.0) * 255.0 - 16.0).abs() < 1e-4);
        assert!((bt601_luma(255.0, 255.0, 255.0) * 255.0 - 235.0).abs() < 1e-3);
    }
}
