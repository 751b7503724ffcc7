//! Image classifiers: labelled image sets and their robustness properties.
//!
//! An image is a row of pixel intensities in `[0, 1]` (row-major). The robustness property
//! of image `x` with label `y` at radius `eps` is the L-infinity ball around `x` clipped to
//! the pixel range, `[max(0, x - eps), min(1, x + eps)]` per pixel, whose unsafe region is
//! "some other class scores at least as high as `y`" (ties count as violations). Properties
//! are kept compactly as ([`RobustnessSpec`]: image, label, eps) and built on demand, since a
//! file of 64 to 784 bounds per box is large.

pub mod benchmark;
pub mod demo;
pub mod gallery_repair;
pub mod measure;
pub mod spec_file;

use crate::network::{DecisionRule, NetworkError};
use crate::property::{decision_must_be, InputBox, Property, PropertyError};
use crate::tensor::{Array2, BatchRows};
use serde::{Deserialize, Serialize};

/// A bad image file or a property that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A line of the image file is malformed.
    #[error("line {line}: {problem}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// The file holds no image.
    #[error("the image file holds no image")]
    Empty,
    /// The radius is negative or not a number.
    #[error("the robustness radius must be a finite number >= 0, not {0}")]
    Radius(f64),
    /// The label is not one of the classes.
    #[error("label {label} is not a class of a {classes}-class network")]
    Label {
        /// The label given.
        label: usize,
        /// Number of classes.
        classes: usize,
    },
    /// The image has the wrong number of pixels.
    #[error("the image has {got} pixels, the network takes {expected}")]
    Pixels {
        /// Pixels given.
        got: usize,
        /// Pixels expected.
        expected: usize,
    },
    /// A property did not fit the network.
    #[error(transparent)]
    Property(#[from] PropertyError),
    /// The network could not run.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The repair failed.
    #[error(transparent)]
    Repair(#[from] crate::repair::RepairError),
}

/// Labelled images of one size, intensities scaled to `[0, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageSet {
    /// Pixels per row of an image.
    pub width: usize,
    /// Rows of an image.
    pub height: usize,
    /// One image per row, `width * height` columns.
    pub pixels: Array2<f32>,
    /// The true class of each image.
    pub labels: Vec<usize>,
}

impl ImageSet {
    /// Reads comma-separated lines of `width * height` pixel levels in `0..=max_level`
    /// followed by the label (`0..classes`), the format of `../shared/digits/`. Blank lines
    /// are skipped; levels are divided by `max_level`.
    pub fn parse_csv(
        text: &str,
        width: usize,
        height: usize,
        max_level: f64,
        classes: usize,
    ) -> Result<Self, ImageError> {
        let pixels_per_image = width * height;
        let mut data = Vec::new();
        let mut labels = Vec::new();
        for (k, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let bad = |problem: String| ImageError::Line {
                line: k + 1,
                problem,
            };
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != pixels_per_image + 1 {
                return Err(bad(format!(
                    "{} fields, expected {} pixels and a label",
                    fields.len(),
                    pixels_per_image
                )));
            }
            for (i, field) in fields[..pixels_per_image].iter().enumerate() {
                let level: f64 = field
                    .parse()
                    .map_err(|_| bad(format!("pixel {i} is '{field}', not a number")))?;
                if !(0.0..=max_level).contains(&level) {
                    return Err(bad(format!(
                        "pixel {i} is {level}, outside 0..={max_level}"
                    )));
                }
                data.push((level / max_level) as f32);
            }
            let label_text = fields[pixels_per_image];
            let label: usize = label_text
                .parse()
                .map_err(|_| bad(format!("label '{label_text}' is not a class number")))?;
            if label >= classes {
                return Err(bad(format!("label {label} is not below {classes}")));
            }
            labels.push(label);
        }
        if labels.is_empty() {
            return Err(ImageError::Empty);
        }
        let pixels = crate::tensor::from_vec(labels.len(), pixels_per_image, data)
            .expect("every row has its pixels");
        Ok(ImageSet {
            width,
            height,
            pixels,
            labels,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        self.pixels.row_slice(i)
    }

    /// The images at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> ImageSet {
        ImageSet {
            width: self.width,
            height: self.height,
            pixels: self.pixels.select_rows(indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }
}

/// A robustness property kept compactly: the image, its required class and the radius.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobustnessSpec {
    /// Pixels in `[0, 1]`.
    pub image: Vec<f32>,
    /// The class the network must keep choosing.
    pub label: usize,
    /// L-infinity radius.
    pub eps: f64,
}

impl RobustnessSpec {
    /// The property over the clipped ball; checks the radius, the label and the size.
    pub fn property(
        &self,
        name: &str,
        inputs: usize,
        classes: usize,
    ) -> Result<Property, ImageError> {
        if self.image.len() != inputs {
            return Err(ImageError::Pixels {
                got: self.image.len(),
                expected: inputs,
            });
        }
        robustness_property(name, &self.image, self.label, self.eps, classes)
    }
}

/// The clipped L-infinity ball of radius `eps` around `image`.
pub fn ball(image: &[f32], eps: f64) -> Result<InputBox, ImageError> {
    if !(eps.is_finite() && eps >= 0.0) {
        return Err(ImageError::Radius(eps));
    }
    // Bounds are widened to the f32 the pixels live in: the box must hold every f32 image
    // within eps, and the f64 of an f32 pixel plus eps may fall between two f32 values.
    let lower = image
        .iter()
        .map(|&p| (p as f64 - eps).max(0.0).min(p as f64))
        .collect();
    let upper = image
        .iter()
        .map(|&p| (p as f64 + eps).min(1.0).max(p as f64))
        .collect();
    InputBox::new(lower, upper).map_err(|_| ImageError::Radius(eps))
}

/// "Within `eps` of `image` (clipped to `[0, 1]`), the class stays `label`": unsafe when
/// another class scores at least as high.
pub fn robustness_property(
    name: &str,
    image: &[f32],
    label: usize,
    eps: f64,
    classes: usize,
) -> Result<Property, ImageError> {
    if label >= classes {
        return Err(ImageError::Label { label, classes });
    }
    Ok(decision_must_be(
        name,
        ball(image, eps)?,
        classes,
        label,
        DecisionRule::Argmax,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_become_scaled_images_and_labels() {
        let set = ImageSet::parse_csv("0,8,16,4,3\n\n16,16,0,0,9\n", 2, 2, 16.0, 10).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.image(0), &[0.0, 0.5, 1.0, 0.25]);
        assert_eq!(set.labels, vec![3, 9]);
        assert_eq!(set.select(&[1]).labels, vec![9]);
    }

    #[test]
    fn malformed_csv_names_the_line_and_the_problem() {
        let err = |text: &str| ImageSet::parse_csv(text, 2, 2, 16.0, 10).unwrap_err();
        assert_eq!(
            err("0,0,0,0,1\n0,0,0,1\n").to_string(),
            "line 2: 4 fields, expected 4 pixels and a label"
        );
        assert!(err("0,x,0,0,1").to_string().contains("pixel 1 is 'x'"));
        assert!(err("0,17,0,0,1").to_string().contains("outside 0..=16"));
        assert!(err("0,NaN,0,0,1").to_string().contains("pixel 1"));
        assert!(err("0,0,0,0,10").to_string().contains("label 10"));
        assert!(err("0,0,0,0,-1").to_string().contains("label '-1'"));
        assert!(matches!(err("\n\n"), ImageError::Empty));
    }

    #[test]
    fn the_ball_is_clipped_to_the_pixel_range_and_holds_the_image() {
        let b = ball(&[0.0, 0.5, 1.0, 0.03], 0.0625).unwrap();
        assert_eq!(b.lower, vec![0.0, 0.4375, 0.9375, 0.0]);
        assert_eq!(b.upper, vec![0.0625, 0.5625, 1.0, 0.03f32 as f64 + 0.0625]);
        assert!(b.contains(&[0.0, 0.5, 1.0, 0.03]));
        assert!(matches!(ball(&[0.5], -0.1), Err(ImageError::Radius(r)) if r == -0.1));
        assert!(ball(&[0.5], f64::NAN).is_err());
    }

    #[test]
    fn the_robustness_property_flags_every_other_class_that_catches_up() {
        let p = robustness_property("r", &[0.5, 0.5], 2, 0.1, 4).unwrap();
        assert_eq!(p.unsafe_region.disjuncts.len(), 3);
        assert!(!p.is_negative(&[0.55, 0.45], &[0.0, 1.0, 2.0, 1.5]));
        assert!(p.is_negative(&[0.55, 0.45], &[0.0, 2.0, 2.0, 1.5]), "a tie");
        assert!(p.is_negative(&[0.45, 0.58], &[3.0, 1.0, 2.0, 1.5]));
        assert!(
            !p.is_negative(&[0.7, 0.5], &[3.0, 1.0, 2.0, 1.5]),
            "outside"
        );
        assert!(matches!(
            robustness_property("r", &[0.5], 4, 0.1, 4),
            Err(ImageError::Label {
                label: 4,
                classes: 4
            })
        ));
        let spec = RobustnessSpec {
            image: vec![0.5; 3],
            label: 0,
            eps: 0.1,
        };
        assert!(matches!(
            spec.property("r", 2, 4),
            Err(ImageError::Pixels {
                got: 3,
                expected: 2
            })
        ));
    }
}
