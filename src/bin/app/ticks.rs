//! Axis ticks at round numbers ("nice" steps of 1, 2 or 5 times a power of ten).

/// About `wanted` round tick values inside `[lo, hi]`.
pub fn nice_ticks(lo: f64, hi: f64, wanted: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || wanted == 0 {
        return Vec::new();
    }
    let raw = (hi - lo) / wanted as f64;
    let power = 10f64.powf(raw.log10().floor());
    let count = |step: f64| ((hi / step).floor() - (lo / step).ceil()) as i64 + 1;
    // The round step whose tick count is closest to `wanted`; ties go to more ticks.
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .min_by_key(|&s| (count(s) - wanted as i64).abs())
        .unwrap_or(power);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A tick label without float noise (`0.30000000000000004` -> `0.3`).
pub fn format_tick(value: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let magnitude = value.abs();
    if !(1e-3..1e6).contains(&magnitude) {
        return format!("{value:.1e}");
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        assert_eq!(
            nice_ticks(0.0, 60760.0, 5),
            vec![0.0, 20000.0, 40000.0, 60000.0]
        );
        assert_eq!(nice_ticks(-1.0, 1.0, 4), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        let t = nice_ticks(-std::f64::consts::PI, std::f64::consts::PI, 5);
        assert_eq!(t, vec![-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]);
        assert!(nice_ticks(1.0, 1.0, 5).is_empty());
        assert!(nice_ticks(0.0, f64::NAN, 5).is_empty());
    }

    #[test]
    fn labels_have_no_float_noise() {
        assert_eq!(format_tick(0.1 + 0.2), "0.3");
        assert_eq!(format_tick(20000.0), "20000");
        assert_eq!(format_tick(-0.5), "-0.5");
        assert_eq!(format_tick(0.0), "0");
        assert_eq!(format_tick(2.5e-5), "2.5e-5");
    }
}
