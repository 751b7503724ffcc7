//! The property box being drawn on the map ([`Draft`]), in fractions of the plot: how a press
//! starts, grabs, moves or resizes it. Plain data held in a signal of
//! [`AppState`](super::AppState); the map draws it, the draft form turns it into a property,
//! the property list puts an existing property back into it.

/// A box drawn on the map, in fractions of the plot (x from the left, y from the top).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Draft {
    /// Where the drag started.
    pub start: (f64, f64),
    /// Where the pointer is (or was released).
    pub end: (f64, f64),
    /// The pointer is still down.
    pub dragging: bool,
    /// While the whole box is being moved: where the pointer was last.
    pub moving: Option<(f64, f64)>,
}

/// How close (as a share of the map) a press must be to a corner to grab it.
const HANDLE_REACH: f64 = 0.03;

impl Draft {
    /// A new box from a press at `at`.
    pub fn at(at: (f64, f64)) -> Self {
        Draft {
            start: at,
            end: at,
            dragging: true,
            moving: None,
        }
    }

    /// A press at `at` on a finished box: a corner resizes it (the opposite corner stays),
    /// the inside moves it; elsewhere, `None` (a new box starts).
    pub fn grab(&self, at: (f64, f64)) -> Option<Draft> {
        let (l, t, r, b) = self.bounds();
        for (cx, cy) in [(l, t), (r, t), (l, b), (r, b)] {
            if (at.0 - cx).abs() <= HANDLE_REACH && (at.1 - cy).abs() <= HANDLE_REACH {
                // The opposite corner, taken as it is (no arithmetic, so it stays put exactly).
                let opposite = (if cx == l { r } else { l }, if cy == t { b } else { t });
                return Some(Draft {
                    start: opposite,
                    end: (cx, cy),
                    dragging: true,
                    moving: None,
                });
            }
        }
        let inside = (l..=r).contains(&at.0) && (t..=b).contains(&at.1);
        inside.then_some(Draft {
            dragging: true,
            moving: Some(at),
            ..*self
        })
    }

    /// Follows the pointer: moves the box (kept on the map) or its dragged corner.
    pub fn follow(&mut self, at: (f64, f64)) {
        let at = (at.0.clamp(0.0, 1.0), at.1.clamp(0.0, 1.0));
        match self.moving {
            Some(last) => {
                let (l, t, r, b) = self.bounds();
                let dx = (at.0 - last.0).clamp(-l, 1.0 - r);
                let dy = (at.1 - last.1).clamp(-t, 1.0 - b);
                self.start = (self.start.0 + dx, self.start.1 + dy);
                self.end = (self.end.0 + dx, self.end.1 + dy);
                self.moving = Some(at);
            }
            None => self.end = at,
        }
    }

    /// (left, top, right, bottom) fractions.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        (
            self.start.0.min(self.end.0),
            self.start.1.min(self.end.1),
            self.start.0.max(self.end.0),
            self.start.1.max(self.end.1),
        )
    }
}

/// Components mounted in a real page (headless Chromium, through wasm-bindgen-test).
#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn a_finished_box_moves_and_resizes_by_its_handles() {
        let mut d = Draft::at((0.2, 0.2));
        d.follow((0.4, 0.5));
        d.dragging = false;
        // A corner: the opposite one stays.
        let mut corner = d.grab((0.41, 0.49)).expect("the bottom-right handle");
        corner.follow((0.6, 0.7));
        assert_eq!(corner.bounds(), (0.2, 0.2, 0.6, 0.7));
        // The inside: the whole box moves, but not off the map.
        let mut whole = d.grab((0.3, 0.3)).expect("inside");
        whole.follow((0.4, 0.35));
        let (l, t, r, b) = whole.bounds();
        assert!((l - 0.3).abs() < 1e-12 && (t - 0.25).abs() < 1e-12);
        assert!((r - 0.5).abs() < 1e-12 && (b - 0.55).abs() < 1e-12);
        whole.follow((2.0, 2.0));
        assert_eq!(whole.bounds().2, 1.0);
        assert_eq!(whole.bounds().3, 1.0);
        // Elsewhere: a new box.
        assert!(d.grab((0.9, 0.1)).is_none());
    }
}
