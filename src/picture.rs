//! Pictures: class colours and the pixels of a decision map.
//!
//! Colours are the Okabe-Ito palette, which people with the common colour-vision
//! deficiencies can tell apart; the network's confidence is lightness (pale near a decision
//! boundary, saturated far from it), as in TensorFlow Playground's heat maps. It lives in the
//! core, not in the app, so tests can compute natively the very pixels the browser shows.

use crate::slice::MapRows;

/// Okabe-Ito: orange, sky blue, bluish green, vermillion, blue, reddish purple, yellow, grey.
pub const CLASS_COLOURS: [[u8; 3]; 8] = [
    [0xE6, 0x9F, 0x00],
    [0x56, 0xB4, 0xE9],
    [0x00, 0x9E, 0x73],
    [0xD5, 0x5E, 0x00],
    [0x00, 0x72, 0xB2],
    [0xCC, 0x79, 0xA7],
    [0xF0, 0xE4, 0x42],
    [0x99, 0x99, 0x99],
];

/// Colour of class `class` (the palette repeats after eight classes).
pub fn class_colour(class: usize) -> [u8; 3] {
    CLASS_COLOURS[class % CLASS_COLOURS.len()]
}

/// CSS `#rrggbb` of a class colour.
pub fn class_css(class: usize) -> String {
    let [r, g, b] = class_colour(class);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// A class colour at a confidence (0-255): mixed with white, from a quarter of the colour
/// at a tie to the full colour.
pub fn shade(class: usize, confidence: u8) -> [u8; 3] {
    let strength = 0.25 + 0.75 * f32::from(confidence) / 255.0;
    class_colour(class).map(|c| (255.0 - (255.0 - f32::from(c)) * strength).round() as u8)
}

/// RGBA pixels of a square decision map, filled piece by piece as the worker streams them.
pub struct MapPixels {
    side: u32,
    rgba: Vec<u8>,
}

impl MapPixels {
    /// A blank (light grey) map of `side x side` pixels.
    pub fn new(side: u32) -> Self {
        let mut rgba = vec![0xee; (side * side * 4) as usize];
        for px in rgba.chunks_exact_mut(4) {
            px[3] = 255;
        }
        MapPixels { side, rgba }
    }

    /// Pixels per side.
    pub fn side(&self) -> u32 {
        self.side
    }

    /// The RGBA bytes, row-major, top row first.
    pub fn rgba(&self) -> &[u8] {
        &self.rgba
    }

    /// Paints a piece of a map of any resolution: each cell covers the pixels whose
    /// centres fall inside it, so a coarse map fills blocks and a finer one draws over them.
    pub fn paint(&mut self, rows: &MapRows) {
        let r = rows.resolution.max(1);
        let side = self.side;
        let cell_of = |pixel: u32| pixel * r / side;
        let first = rows.first_row;
        let last = first + rows.rows();
        for py in 0..side {
            let cy = cell_of(py);
            if cy < first || cy >= last {
                continue;
            }
            for px in 0..side {
                let cell = ((cy - first) * r + cell_of(px)) as usize;
                let [red, green, blue] =
                    shade(usize::from(rows.classes[cell]), rows.confidence[cell]);
                let at = ((py * side + px) * 4) as usize;
                self.rgba[at..at + 3].copy_from_slice(&[red, green, blue]);
            }
        }
    }
}

/// RGBA pixels of a grey image (intensities in `[0, 1]`, ink dark on white, as the digits
/// are drawn); values outside the range are clamped.
pub fn grey_rgba(pixels: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pixels.len() * 4);
    for &p in pixels {
        let ink = if p.is_finite() {
            p.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let v = (255.0 * (1.0 - ink)).round() as u8;
        out.extend_from_slice(&[v, v, v, 255]);
    }
    out
}

/// RGBA pixels of a perturbation `moved - image`, scaled so that `+eps` is full red,
/// `-eps` full blue and no change white.
pub fn perturbation_rgba(image: &[f32], moved: &[f32], eps: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(image.len() * 4);
    for (&a, &b) in image.iter().zip(moved) {
        let share = if eps > 0.0 {
            (((b - a) as f64) / eps).clamp(-1.0, 1.0)
        } else {
            0.0
        };
        let fade = (255.0 * (1.0 - share.abs())).round() as u8;
        let px = if share >= 0.0 {
            [255, fade, fade, 255]
        } else {
            [fade, fade, 255, 255]
        };
        out.extend_from_slice(&px);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_have_distinct_colours_and_confidence_is_lightness() {
        for a in 0..8 {
            for b in 0..a {
                assert_ne!(class_colour(a), class_colour(b));
            }
        }
        assert_eq!(shade(0, 255), CLASS_COLOURS[0]);
        let pale = shade(0, 0);
        assert!(pale.iter().zip(CLASS_COLOURS[0]).all(|(&p, c)| p >= c));
        assert_eq!(class_css(1), "#56b4e9");
    }

    fn colour_at(pixels: &MapPixels, x: u32, y: u32) -> [u8; 3] {
        let at = ((y * pixels.side() + x) * 4) as usize;
        let rgba = pixels.rgba();
        [rgba[at], rgba[at + 1], rgba[at + 2]]
    }

    #[test]
    fn coarse_pieces_fill_blocks_and_fine_pieces_overwrite_them() {
        let mut pixels = MapPixels::new(4);
        pixels.paint(&MapRows {
            resolution: 2,
            first_row: 1,
            classes: vec![1, 2],
            confidence: vec![255, 255],
        });
        assert_eq!(
            colour_at(&pixels, 0, 0),
            [0xee; 3],
            "top half not painted yet"
        );
        assert_eq!(colour_at(&pixels, 1, 3), CLASS_COLOURS[1]);
        assert_eq!(colour_at(&pixels, 3, 2), CLASS_COLOURS[2]);
        pixels.paint(&MapRows {
            resolution: 4,
            first_row: 3,
            classes: vec![0; 4],
            confidence: vec![255; 4],
        });
        assert_eq!(colour_at(&pixels, 3, 3), CLASS_COLOURS[0]);
        assert_eq!(
            colour_at(&pixels, 3, 2),
            CLASS_COLOURS[2],
            "row 2 untouched"
        );
    }

    #[test]
    fn grey_and_perturbation_pixels() {
        assert_eq!(
            grey_rgba(&[0.0, 1.0, 2.0]),
            vec![255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255]
        );
        let p = perturbation_rgba(&[0.5, 0.5, 0.5], &[0.6, 0.4, 0.5], 0.1);
        assert_eq!(&p[0..4], &[255, 0, 0, 255]);
        assert_eq!(&p[4..8], &[0, 0, 255, 255]);
        assert_eq!(&p[8..12], &[255, 255, 255, 255]);
    }
}
