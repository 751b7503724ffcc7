//! The decision map from the keyboard: what a key pressed on the focused map asks for, and
//! where the keyboard's pointer goes. Plain data (the map's handler acts on it), so that a
//! person who cannot use a mouse can read the map, draw a property and step through the
//! counterexamples all the same.

use super::View;
use birdnn::network::InputSpec;

/// One arrow press moves the pointer by a cell of the coarse map (a 64th of its side).
pub const STEP: f64 = 1.0 / 64.0;
/// With Shift, an arrow moves the pointer by an eighth of the map.
pub const BIG_STEP: f64 = 1.0 / 8.0;

/// What a key pressed on the focused map asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MapKey {
    /// Move the pointer by this much (fractions of the map; y grows downwards).
    Move(f64, f64),
    /// Enter or Space: while drawing, start a box at the pointer or finish the one being drawn.
    Press,
    /// Escape: drop the box being drawn, or stop drawing.
    Cancel,
}

impl MapKey {
    /// The action of a `KeyboardEvent.key`; `None` for keys the map leaves to the page
    /// (Tab above all, so that the keyboard never gets stuck on the map).
    pub fn from_key(key: &str, shift: bool) -> Option<MapKey> {
        let step = if shift { BIG_STEP } else { STEP };
        Some(match key {
            "ArrowLeft" => MapKey::Move(-step, 0.0),
            "ArrowRight" => MapKey::Move(step, 0.0),
            "ArrowUp" => MapKey::Move(0.0, -step),
            "ArrowDown" => MapKey::Move(0.0, step),
            "Enter" | " " => MapKey::Press,
            "Escape" => MapKey::Cancel,
            _ => return None,
        })
    }
}

/// Where the pointer is after moving by (`dx`, `dy`), kept on the map.
pub fn moved(at: (f64, f64), dx: f64, dy: f64) -> (f64, f64) {
    ((at.0 + dx).clamp(0.0, 1.0), (at.1 + dy).clamp(0.0, 1.0))
}

/// Where the pointer is when it reads `input` (network units) on `view`: the fractions from
/// the map's left and top that [`View::point_at`] turns back into it, kept on the map;
/// `None` when the input or an axis does not fit.
pub fn fractions_of(view: &View, inputs: &[InputSpec], input: &[f32]) -> Option<(f64, f64)> {
    let (x0, x1) = inputs.get(view.x_dim)?.network_bounds();
    let (y0, y1) = inputs.get(view.y_dim)?.network_bounds();
    let fx = (f64::from(*input.get(view.x_dim)?) - x0) / (x1 - x0);
    let fy = (y1 - f64::from(*input.get(view.y_dim)?)) / (y1 - y0);
    (fx.is_finite() && fy.is_finite()).then(|| (fx.clamp(0.0, 1.0), fy.clamp(0.0, 1.0)))
}

/// The counterexample after `current` (`forward`) or before it, going round; the first
/// (or the last) when none is selected, `None` when there are none.
pub fn step_through(current: Option<usize>, count: usize, forward: bool) -> Option<usize> {
    if count == 0 {
        return None;
    }
    Some(match (current.filter(|&i| i < count), forward) {
        (None, true) => 0,
        (None, false) => count - 1,
        (Some(i), true) => (i + 1) % count,
        (Some(i), false) => (i + count - 1) % count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use birdnn::network::NetworkMeta;

    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn arrows_move_the_pointer_by_a_coarse_cell_and_shift_by_an_eighth_never_off_the_map() {
        assert_eq!(
            MapKey::from_key("ArrowRight", false),
            Some(MapKey::Move(STEP, 0.0))
        );
        assert_eq!(
            MapKey::from_key("ArrowUp", true),
            Some(MapKey::Move(0.0, -BIG_STEP))
        );
        assert_eq!(MapKey::from_key(" ", false), Some(MapKey::Press));
        assert_eq!(MapKey::from_key("Escape", true), Some(MapKey::Cancel));
        assert_eq!(MapKey::from_key("Tab", false), None);
        // Sixteen presses from the centre: a quarter of the map, exactly (binary fractions).
        let mut at = (0.5, 0.5);
        for _ in 0..16 {
            at = moved(at, STEP, -STEP);
        }
        assert_eq!(at, (0.75, 0.25));
        assert_eq!(moved((0.95, 0.05), BIG_STEP, -BIG_STEP), (1.0, 0.0));
    }

    #[test]
    fn the_pointer_reads_back_where_it_points() {
        let inputs = NetworkMeta::acas_xu().inputs;
        let view = View::centred(&inputs).with_y(3);
        for at in [(0.0, 0.0), (0.25, 0.75), (1.0, 0.5)] {
            let input = view.point_at(&inputs, at.0, at.1);
            let back = fractions_of(&view, &inputs, &input).expect("on the map");
            // The input went through f32 and back.
            assert!(
                (back.0 - at.0).abs() < 1e-6 && (back.1 - at.1).abs() < 1e-6,
                "{at:?} -> {back:?}"
            );
        }
        assert_eq!(fractions_of(&view, &inputs, &[0.0]), None);
    }

    #[test]
    fn stepping_through_counterexamples_goes_round_both_ways() {
        assert_eq!(step_through(None, 0, true), None);
        assert_eq!(step_through(None, 3, true), Some(0));
        assert_eq!(step_through(None, 3, false), Some(2));
        assert_eq!(step_through(Some(2), 3, true), Some(0));
        assert_eq!(step_through(Some(0), 3, false), Some(2));
        assert_eq!(step_through(Some(1), 3, true), Some(2));
        // A selection left from a longer list starts again.
        assert_eq!(step_through(Some(7), 3, true), Some(0));
    }
}
