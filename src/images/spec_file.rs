//! Robustness properties in files: one ball as VNN-LIB in the form of the VNN-COMP
//! `mnistfc` benchmark (what other verifiers read), and many balls compactly as a
//! robustness set (the gallery format of [`super::demo::Gallery`]: images as grey levels,
//! labels and one radius), where a VNN-LIB file per ball would hold 64 to 784 bounds twice.

use super::demo::Gallery;
use super::{ImageError, RobustnessSpec};
use crate::formats::vnnlib::number;
use crate::property::Property;
use std::fmt::Write;

/// The property of `spec` as VNN-LIB 1.0 laid out as VNN-COMP's `mnistfc` properties are:
/// the pixel bounds one assert each (upper, then lower), and the unsafe outputs as one
/// disjunction `(and (>= Y_j Y_label))` over the other classes. The bounds are those of
/// [`super::ball`], so reading the text back gives [`RobustnessSpec::property`] exactly.
pub fn write_vnnlib(spec: &RobustnessSpec, classes: usize) -> Result<String, ImageError> {
    let property = spec.property("ball", spec.image.len(), classes)?;
    let region = &property.input_boxes[0];
    let mut out = format!(
        "; Robustness property with label: {}, L-infinity radius {} (birdnn {}, in the form of VNN-COMP mnistfc).\n\n",
        spec.label,
        number(spec.eps),
        env!("CARGO_PKG_VERSION")
    );
    for i in 0..spec.image.len() {
        writeln!(out, "(declare-const X_{i} Real)").expect("string");
    }
    out.push('\n');
    for j in 0..classes {
        writeln!(out, "(declare-const Y_{j} Real)").expect("string");
    }
    out.push_str("\n; Input constraints:\n");
    for (i, (l, u)) in region.lower.iter().zip(&region.upper).enumerate() {
        writeln!(
            out,
            "(assert (<= X_{i} {}))\n(assert (>= X_{i} {}))",
            number(*u),
            number(*l)
        )
        .expect("string");
    }
    out.push_str("\n; Output constraints:\n(assert (or\n");
    for j in (0..classes).filter(|&j| j != spec.label) {
        writeln!(out, "    (and (>= Y_{j} Y_{}))", spec.label).expect("string");
    }
    out.push_str("))\n");
    Ok(out)
}

/// Whether `text` looks like a robustness set rather than VNN-LIB (a JSON object; VNN-LIB
/// starts with a comment or a parenthesis).
pub fn is_robustness_set(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// The balls of a robustness set file for a network with `inputs` inputs and `classes`
/// outputs, named `FILE image K (label L)`.
pub fn read_robustness_set(
    file: &str,
    text: &str,
    inputs: usize,
    classes: usize,
) -> Result<Vec<Property>, String> {
    let set = Gallery::parse(text).map_err(|e| format!("{file}: {e}"))?;
    if set.classes != classes {
        return Err(format!(
            "{file}: the set is about {} classes, the network has {classes} outputs",
            set.classes
        ));
    }
    (0..set.images.len())
        .map(|k| {
            let spec = set.spec(k);
            spec.property(
                &format!("{file} image {k} (label {})", spec.label),
                inputs,
                classes,
            )
            .map_err(|e| format!("{file}: image {k}: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::vnnlib;

    #[test]
    fn the_mnistfc_form_reads_back_as_the_same_ball() {
        let spec = RobustnessSpec {
            image: vec![0.0, 0.3, 1.0, 0.97],
            label: 2,
            eps: 0.03,
        };
        let text = write_vnnlib(&spec, 4).unwrap();
        assert!(text.contains("(assert (<= X_1 0.33"), "{text}");
        assert!(text.contains("    (and (>= Y_0 Y_2))\n"), "{text}");
        assert!(!text.contains("(>= Y_2 Y_2)"), "{text}");
        let back = vnnlib::read("p.vnnlib", &text).unwrap();
        let direct = spec.property("ball", 4, 4).unwrap();
        assert_eq!(back.input_boxes, direct.input_boxes);
        assert_eq!(back.unsafe_region, direct.unsafe_region);
        assert!(matches!(
            write_vnnlib(&spec, 2),
            Err(ImageError::Label {
                label: 2,
                classes: 2
            })
        ));
    }

    #[test]
    fn a_robustness_set_expands_into_its_balls_and_names_what_is_wrong() {
        let text = r#"{"attribution":"test","width":2,"height":1,"classes":3,"eps":0.25,"max_level":4,"images":[{"levels":[0,4],"label":1},{"levels":[2,2],"label":0}]}"#;
        assert!(is_robustness_set(text));
        assert!(!is_robustness_set("; a property\n(declare-const X_0 Real)"));
        let balls = read_robustness_set("s.json", text, 2, 3).unwrap();
        assert_eq!(balls.len(), 2);
        assert_eq!(balls[0].input_boxes[0].lower, vec![0.0, 0.75]);
        assert_eq!(balls[1].input_boxes[0].upper, vec![0.75, 0.75]);
        assert!(balls[1].name.contains("image 1 (label 0)"));
        assert!(balls[0].is_negative(&[0.0, 1.0], &[0.0, 1.0, 1.0]), "a tie");
        let wrong = read_robustness_set("s.json", text, 2, 4).unwrap_err();
        assert!(
            wrong.contains("3 classes") && wrong.contains("4 outputs"),
            "{wrong}"
        );
        let wrong = read_robustness_set("s.json", text, 3, 3).unwrap_err();
        assert!(
            wrong.contains("image 0") && wrong.contains("2 pixels"),
            "{wrong}"
        );
        let bad = read_robustness_set("s.json", "{\"width\": 2}", 2, 3).unwrap_err();
        assert!(bad.starts_with("s.json: not a gallery file"), "{bad}");
    }
}
