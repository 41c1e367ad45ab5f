//! Quality of upscaling methods on a folder of held-out photos: each photo's LR is made by bicubic
//! x2 with antialiasing, upscaled back by the method, and compared with the photo (PSNR-Y, SSIM-Y).

use std::path::Path;

use serde::Serialize;

use super::anime4k::Anime4k;
use super::error::ModelError;
use super::metrics::{psnr_y, ssim_y};
use super::photo::Luma;
use super::photo::{image_files, load_ground_truth, load_ground_truth_rgb};
use super::resize::{Kernel, downscale_x2, upscale_x2};
use super::supernet::{SubgraphSpec, Supernet};

/// The held-out photos shipped in `assets/validation`: under the current folder when it has them
/// (the model commands run from a checkout, whichever one the binary was built in), else in the
/// source tree the binary was built from.
pub fn default_validation_dir() -> std::path::PathBuf {
    let here = std::path::PathBuf::from("assets/validation");
    if here.is_dir() {
        here
    } else {
        std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/validation"))
    }
}

pub struct ValidationImage {
    pub name: String,
    pub hr: Luma,
    pub lr: Luma,
    /// The LR's R, G and B planes, each made from the photo's like `lr` from its luma: for peers
    /// that upscale RGB.
    pub lr_rgb: [Luma; 3],
}

pub fn load_validation(dir: &Path) -> Result<Vec<ValidationImage>, ModelError> {
    image_files(dir)?
        .iter()
        .map(|path| {
            let hr = load_ground_truth(path)?;
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let lr_rgb = load_ground_truth_rgb(path)?.map(|plane| downscale_x2(&plane));
            Ok(ValidationImage { name, lr: downscale_x2(&hr), hr, lr_rgb })
        })
        .collect()
}

/// The same images with their LR as the player gets it from compressed video: each a P picture of
/// a panning shot encoded by libx264 at `crf` (see [`super::degrade::h264_p_frame_round_trip`]).
pub fn with_compressed_lr(images: &[ValidationImage], crf: u32) -> Result<Vec<ValidationImage>, ModelError> {
    images
        .iter()
        .map(|image| {
            let (lr, lr_rgb) = super::degrade::h264_p_frame_round_trip(&image.lr_rgb, crf)
                .map_err(|source| ModelError::Compression { image: image.name.clone(), crf, source })?;
            Ok(ValidationImage { name: image.name.clone(), hr: image.hr.clone(), lr, lr_rgb })
        })
        .collect()
}

/// A way of upscaling x2.
pub enum Method<'a> {
    Bilinear,
    Bicubic,
    Lanczos,
    Subgraph {
        name: String,
        model: &'a Supernet,
        spec: SubgraphSpec,
    },
    /// One of Anime4K's CNNs, on the RGB LR.
    Anime4k(&'a Anime4k),
}

impl Method<'_> {
    pub fn name(&self) -> String {
        match self {
            Method::Bilinear => "bilinear".to_owned(),
            Method::Bicubic => "bicubic".to_owned(),
            Method::Lanczos => "lanczos3".to_owned(),
            Method::Subgraph { name, .. } => name.clone(),
            Method::Anime4k(network) => network.name.clone(),
        }
    }

    pub fn macs_per_lr_pixel(&self) -> Option<usize> {
        match self {
            Method::Bilinear | Method::Bicubic | Method::Lanczos => None,
            Method::Subgraph { model, spec, .. } => Some(model.kind.macs_per_lr_pixel(*spec)),
            Method::Anime4k(network) => Some(network.macs_per_lr_pixel()),
        }
    }

    /// The x2 luma of `image`'s LR.
    pub fn upscale(&self, image: &ValidationImage) -> Luma {
        let lr = &image.lr;
        match self {
            Method::Bilinear => upscale_x2(lr, Kernel::Bilinear),
            Method::Bicubic => upscale_x2(lr, Kernel::Bicubic),
            Method::Lanczos => upscale_x2(lr, Kernel::Lanczos3),
            Method::Subgraph { model, spec, .. } => model.upscale_luma(lr, *spec),
            Method::Anime4k(network) => network.upscale_to_luma(&image.lr_rgb),
        }
    }
}

/// One row of the quality table: a method's mean over the images, and its score on each.
#[derive(Debug, Clone, Serialize)]
pub struct QualityRow {
    pub method: String,
    /// Multiply-adds per LR pixel of a network (none for the classic filters).
    pub macs_per_lr_pixel: Option<usize>,
    pub psnr_y: f64,
    pub ssim_y: f64,
    pub images: usize,
    pub per_image: Vec<ImageScore>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageScore {
    pub image: String,
    pub psnr_y: f64,
    pub ssim_y: f64,
}

pub fn evaluate(method: &Method<'_>, images: &[ValidationImage]) -> QualityRow {
    let per_image: Vec<ImageScore> = images
        .iter()
        .map(|image| {
            let upscaled = method.upscale(image);
            ImageScore {
                image: image.name.clone(),
                psnr_y: psnr_y(&image.hr, &upscaled),
                ssim_y: ssim_y(&image.hr, &upscaled),
            }
        })
        .collect();
    let count = images.len().max(1) as f64;
    QualityRow {
        method: method.name(),
        macs_per_lr_pixel: method.macs_per_lr_pixel(),
        psnr_y: per_image.iter().map(|score| score.psnr_y).sum::<f64>() / count,
        ssim_y: per_image.iter().map(|score| score.ssim_y).sum::<f64>() / count,
        images: images.len(),
        per_image,
    }
}
