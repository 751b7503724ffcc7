//! The app's handwritten-digits demo: a classifier trained on the 8x8 UCI digits and a small
//! gallery of held-out images with the radius their robustness is judged at.
//!
//! The digits are third-party data (`../shared/digits/`); the repo may hold only this small
//! derived subset (a trained network and a few dozen images), with the attribution line.
//! `cargo run --release --example make_demos` writes the files when the data is present; a
//! test checks the committed files are exactly what [`digits_files`] makes.

use super::benchmark::{split_images, train_image_classifier};
use super::{ImageError, ImageSet, RobustnessSpec};
use crate::demos::{DemoEntry, TrainingPlan};
use crate::formats::json;
use crate::network::Activation;
use crate::rng::SplitMix64;
use crate::sampling::sample_box;
use crate::tensor::{Array2, BatchGrow};
use serde::{Deserialize, Serialize};

/// Attribution of the digits, shipped with every file derived from them.
pub const DIGITS_ATTRIBUTION: &str = "\"Optical Recognition of Handwritten Digits\" by E. \
     Alpaydin and C. Kaynak, UCI Machine Learning Repository (CC BY 4.0), via scikit-learn \
     (BSD-3-Clause)";

/// The demo's id, network file and gallery file.
pub const DIGITS_ID: &str = "digits";
const NETWORK_FILE: &str = "digits.json";
const GALLERY_FILE: &str = "digits-gallery.json";
/// Gallery images per class.
const PER_CLASS: usize = 5;
/// The radius, in the [0, 1] pixel scale (one of the 16 grey levels).
pub const DIGITS_EPS: f64 = 1.0 / 16.0;

/// A gallery: labelled images of one size and the radius of their robustness properties.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gallery {
    /// Where the images come from, and their licence.
    pub attribution: String,
    /// Pixels per image row.
    pub width: usize,
    /// Image rows.
    pub height: usize,
    /// Number of classes.
    pub classes: usize,
    /// The L-infinity radius each image's robustness is judged at.
    pub eps: f64,
    /// Grey levels are integers `0..=max_level`, divided by it for the network.
    pub max_level: u32,
    /// The images.
    pub images: Vec<GalleryImage>,
}

/// One gallery image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GalleryImage {
    /// Grey levels, row-major.
    pub levels: Vec<u32>,
    /// The true class.
    pub label: usize,
}

impl Gallery {
    /// Reads a gallery file and checks it: sizes, levels, labels and the radius.
    pub fn parse(text: &str) -> Result<Gallery, String> {
        let gallery: Gallery =
            serde_json::from_str(text).map_err(|e| format!("not a gallery file: {e}"))?;
        let pixels = gallery.width * gallery.height;
        if pixels == 0 || gallery.max_level == 0 || gallery.classes == 0 {
            return Err("the gallery's size, levels and classes must be positive".into());
        }
        if !(gallery.eps.is_finite() && gallery.eps >= 0.0) {
            return Err(format!(
                "the gallery's radius {} is not a number >= 0",
                gallery.eps
            ));
        }
        for (i, image) in gallery.images.iter().enumerate() {
            if image.levels.len() != pixels {
                return Err(format!(
                    "gallery image {i} has {} pixels, not {pixels}",
                    image.levels.len()
                ));
            }
            if let Some(level) = image.levels.iter().find(|&&l| l > gallery.max_level) {
                return Err(format!(
                    "gallery image {i} has grey level {level}, above {}",
                    gallery.max_level
                ));
            }
            if image.label >= gallery.classes {
                return Err(format!(
                    "gallery image {i} has label {}, not one of {} classes",
                    image.label, gallery.classes
                ));
            }
        }
        Ok(gallery)
    }

    /// Image `i` in the network's `[0, 1]` scale.
    pub fn pixels(&self, i: usize) -> Vec<f32> {
        let scale = self.max_level as f32;
        self.images[i]
            .levels
            .iter()
            .map(|&l| l as f32 / scale)
            .collect()
    }

    /// Every image in the network's `[0, 1]` scale, in gallery order: what a gallery repair
    /// keeps.
    pub fn all_pixels(&self) -> Vec<Vec<f32>> {
        (0..self.images.len()).map(|i| self.pixels(i)).collect()
    }

    /// The robustness property of image `i`, compactly.
    pub fn spec(&self, i: usize) -> RobustnessSpec {
        RobustnessSpec {
            image: self.pixels(i),
            label: self.images[i].label,
            eps: self.eps,
        }
    }
}

/// The picker's entry of the digits demo (fixed text: the picker lists it even where the
/// data it is made from is absent).
pub fn digits_entry() -> DemoEntry {
    DemoEntry {
        id: DIGITS_ID.into(),
        title: "Handwritten digits (8x8 images, 64 inputs)".into(),
        description: format!(
            "A ReLU network (64-32-32-10) reads 8x8 handwritten digits. Some gallery images \
             lose their class when every pixel moves by one grey level in sixteen: pick \
             them, repair, and prove them robust. Data: {DIGITS_ATTRIBUTION}."
        ),
        network: NETWORK_FILE.into(),
        properties: Vec::new(),
        gallery: Some(GALLERY_FILE.into()),
    }
}

/// The demo's files from the text of `digits.csv` (the `../shared/digits` format): the
/// network (trained on the benchmark's training split, seed 0) and the gallery
/// (the first [`PER_CLASS`] held-out images of each class).
pub fn digits_files(csv: &str) -> Result<Vec<(String, String)>, ImageError> {
    let set = ImageSet::parse_csv(csv, 8, 8, 16.0, 10)?;
    let split = split_images(&set, 0.5, 0.3, 0);
    let (mut network, _) = train_image_classifier(
        &split.train,
        &[32, 32],
        Activation::Relu,
        10,
        &TrainingPlan::default(),
        0,
    )?;
    let mut meta = network.meta().clone();
    meta.name = "digits-relu".into();
    network.set_meta(meta)?;
    let mut images = Vec::new();
    for class in 0..10 {
        let chosen = (0..split.held_out.len())
            .filter(|&i| split.held_out.labels[i] == class)
            .take(PER_CLASS);
        for i in chosen {
            let levels = split
                .held_out
                .image(i)
                .iter()
                .map(|&p| (p * 16.0).round() as u32)
                .collect();
            images.push(GalleryImage {
                levels,
                label: class,
            });
        }
    }
    let gallery = Gallery {
        attribution: DIGITS_ATTRIBUTION.into(),
        width: 8,
        height: 8,
        classes: 10,
        eps: DIGITS_EPS,
        max_level: 16,
        images,
    };
    Ok(vec![
        (NETWORK_FILE.into(), json::write(&network)),
        (
            GALLERY_FILE.into(),
            serde_json::to_string(&gallery).expect("a gallery serialises") + "\n",
        ),
    ])
}

/// Inputs whose decisions a gallery repair keeps: the images and `copies` noisy copies of
/// each (every pixel moved by up to `spread`, clipped to `[0, 1]`), drawn by `seed`. The
/// copies stand in for the digits the gallery does not ship.
pub fn keep_inputs(images: &[Vec<f32>], copies: usize, spread: f64, seed: u64) -> Array2<f32> {
    let width = images.first().map_or(0, Vec::len);
    let mut rng = SplitMix64::new(seed);
    let mut out = Array2::zeros((0, width));
    for image in images {
        if image.len() != width {
            continue;
        }
        out.push_slice(image).expect("same width");
        if let Ok(around) = super::ball(image, spread) {
            out.append_rows(&sample_box(&mut rng, &around, copies))
                .expect("same width");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::BatchRows;

    fn tiny() -> Gallery {
        Gallery {
            attribution: "test".into(),
            width: 2,
            height: 1,
            classes: 2,
            eps: 0.1,
            max_level: 4,
            images: vec![GalleryImage {
                levels: vec![0, 4],
                label: 1,
            }],
        }
    }

    #[test]
    fn a_gallery_round_trips_and_scales_its_levels() {
        let g = tiny();
        let text = serde_json::to_string(&g).unwrap();
        let back = Gallery::parse(&text).unwrap();
        assert_eq!(back, g);
        assert_eq!(back.pixels(0), vec![0.0, 1.0]);
        assert_eq!(back.spec(0).label, 1);
    }

    #[test]
    fn bad_galleries_are_named() {
        let mut g = tiny();
        g.images[0].levels = vec![0, 5];
        let e = Gallery::parse(&serde_json::to_string(&g).unwrap()).unwrap_err();
        assert!(e.contains("grey level 5"), "{e}");
        let mut g = tiny();
        g.images[0].label = 2;
        let e = Gallery::parse(&serde_json::to_string(&g).unwrap()).unwrap_err();
        assert!(e.contains("label 2"), "{e}");
        let mut g = tiny();
        g.images[0].levels = vec![1];
        let e = Gallery::parse(&serde_json::to_string(&g).unwrap()).unwrap_err();
        assert!(e.contains("1 pixels"), "{e}");
        let mut g = tiny();
        g.eps = f64::NAN;
        assert!(Gallery::parse(&serde_json::to_string(&g).unwrap()).is_err());
        assert!(Gallery::parse("[1, 2")
            .unwrap_err()
            .contains("not a gallery"));
    }

    #[test]
    fn kept_inputs_are_the_images_and_copies_near_them() {
        let images = vec![vec![0.0, 0.5], vec![1.0, 0.25]];
        let keep = keep_inputs(&images, 3, 0.1, 7);
        assert_eq!(keep.nrows(), 8);
        assert_eq!(keep.row_slice(0), &images[0][..]);
        for r in 1..4 {
            let row = keep.row_slice(r);
            assert!(row[0] >= 0.0 && row[0] <= 0.1 && (row[1] - 0.5).abs() <= 0.1 + 1e-6);
        }
    }
}
