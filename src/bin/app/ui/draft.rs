//! Drawing a property on the map: the box being drawn, and the form that turns it into a
//! VNN-LIB property.

use super::loading::load_property;
use super::{AppState, MARGIN_LEFT, MARGIN_TOP, PLOT};
use leptos::prelude::*;
use std::sync::Arc;

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
    pub(super) fn at(at: (f64, f64)) -> Self {
        Draft {
            start: at,
            end: at,
            dragging: true,
            moving: None,
        }
    }

    /// A press at `at` on a finished box: a corner resizes it (the opposite corner stays),
    /// the inside moves it; elsewhere, `None` (a new box starts).
    pub(super) fn grab(&self, at: (f64, f64)) -> Option<Draft> {
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
    pub(super) fn follow(&mut self, at: (f64, f64)) {
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
    fn bounds(&self) -> (f64, f64, f64, f64) {
        (
            self.start.0.min(self.end.0),
            self.start.1.min(self.end.1),
            self.start.0.max(self.end.0),
            self.start.1.max(self.end.1),
        )
    }
}

/// The box being drawn.
#[component]
pub(super) fn DraftBox() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let d = state.draft.get()?;
        let (l, t, r, b) = d.bounds();
        let handle = |x: f64, y: f64| {
            view! {
                <rect
                    class="draft-handle"
                    x=MARGIN_LEFT + x * PLOT - 4.0
                    y=MARGIN_TOP + y * PLOT - 4.0
                    width=8.0
                    height=8.0
                />
            }
        };
        Some(view! {
            <g>
                <rect
                    class="draft-box"
                    data-testid="draft-box"
                    x=MARGIN_LEFT + l * PLOT
                    y=MARGIN_TOP + t * PLOT
                    width=(r - l) * PLOT
                    height=(b - t) * PLOT
                />
                {(!d.dragging).then(|| vec![handle(l, t), handle(r, t), handle(l, b), handle(r, b)])}
            </g>
        })
    }
}

/// How far a drawn property reaches in the inputs that are not on the axes.
#[derive(Clone, Copy, PartialEq)]
enum Reach {
    Point,
    Band,
    Full,
}

/// Turns the drawn box into a property and loads it through the real VNN-LIB parser.
fn add_drawn_property(
    state: AppState,
    requirement: &str,
    reach: Reach,
    name: &str,
) -> Result<(), String> {
    let net = state.network.get_untracked().ok_or("no network")?;
    let view = state.view.get_untracked().ok_or("no view")?;
    let draft = state
        .draft
        .get_untracked()
        .ok_or("draw a box on the map first")?;
    let inputs = &net.summary.meta.inputs;
    let (l, t, r, b) = draft.bounds();
    if r - l < 1e-3 || b - t < 1e-3 {
        return Err("the box is empty: drag on the map to draw it".into());
    }
    let mut lower = Vec::with_capacity(inputs.len());
    let mut upper = Vec::with_capacity(inputs.len());
    for (i, spec) in inputs.iter().enumerate() {
        let (lo, hi) = spec.network_bounds();
        let (a, z) = if i == view.x_dim {
            (lo + l * (hi - lo), lo + r * (hi - lo))
        } else if i == view.y_dim {
            (hi - b * (hi - lo), hi - t * (hi - lo))
        } else {
            let v = view.fixed[i];
            match reach {
                Reach::Point => (v, v),
                Reach::Band => (
                    (v - 0.05 * (hi - lo)).max(lo),
                    (v + 0.05 * (hi - lo)).min(hi),
                ),
                Reach::Full => (lo, hi),
            }
        };
        lower.push(a);
        upper.push(z);
    }
    let input_box = birdnn::property::InputBox::new(lower, upper)?;
    let (kind, detail) = requirement.split_once(':').ok_or("choose a requirement")?;
    let outputs = net.summary.meta.outputs.len();
    let rule = net.summary.meta.decision;
    let property = if kind == "custom" {
        birdnn::property::outputs_must_satisfy(name, input_box, outputs, detail)
            .map_err(|e| format!("The requirement cannot be read: {e}"))?
    } else {
        let class: usize = detail.parse().map_err(|_| "choose a requirement")?;
        match kind {
            "must" => birdnn::property::decision_must_be(name, input_box, outputs, class, rule),
            _ => birdnn::property::decision_must_not_be(name, input_box, outputs, class, rule),
        }
    };
    let text = birdnn::formats::vnnlib::write(&property);
    load_property(
        state,
        format!("{name}.vnnlib"),
        Arc::new(text.into_bytes()),
        false,
    );
    state.draft.set(None);
    state.drawing.set(false);
    Ok(())
}

/// What the drawn box must satisfy, shown once a box is drawn.
#[component]
pub(super) fn DraftForm() -> impl IntoView {
    let state = expect_context::<AppState>();
    let requirement = RwSignal::new("must:0".to_string());
    let custom = RwSignal::new("y0 >= y1".to_string());
    let reach = RwSignal::new(Reach::Band);
    let count = RwSignal::new(1u32);
    let outputs = move || {
        state
            .network
            .get()
            .map(|n| n.summary.meta.outputs)
            .unwrap_or_default()
    };
    view! {
        <Show when=move || state.draft.get().is_some_and(|d| !d.dragging)>
            <div class="draft-form" data-testid="draft-form">
                "Inside the box, the decision "
                <select data-testid="property-requirement" on:change=move |ev| requirement.set(event_target_value(&ev))>
                    {move || {
                        let names = outputs();
                        let chosen = requirement.get_untracked();
                        let options: Vec<(String, String)> = names
                            .iter()
                            .enumerate()
                            .map(|(j, n)| (format!("must:{j}"), format!("must be {n}")))
                            .chain(names.iter().enumerate().map(|(j, n)| (format!("not:{j}"), format!("must not be {n}"))))
                            .chain(std::iter::once(("custom:".to_string(), "— or: the outputs must satisfy…".to_string())))
                            .collect();
                        options
                            .into_iter()
                            .map(|(value, label)| {
                                let selected = value == chosen;
                                view! { <option value=value selected=selected>{label}</option> }
                            })
                            .collect_view()
                    }}
                </select>
                <Show when=move || requirement.get().starts_with("custom")>
                    " "
                    <input
                        type="text"
                        size="28"
                        data-testid="property-custom"
                        title="Linear comparisons of the outputs y0, y1, ... joined by 'and', e.g. y0 >= y1 + 0.5 and y2 <= 3"
                        prop:value=move || custom.get()
                        on:input=move |ev| custom.set(event_target_value(&ev))
                    />
                </Show>
                <Show when=move || state.network.get().is_some_and(|n| n.summary.meta.inputs.len() > 2)>
                    " ; the other inputs: "
                    <select data-testid="property-reach" on:change=move |ev| {
                        reach.set(match event_target_value(&ev).as_str() {
                            "point" => Reach::Point,
                            "full" => Reach::Full,
                            _ => Reach::Band,
                        })
                    }>
                        <option value="band" selected=true>"their slider value ± 5 % of the range"</option>
                        <option value="point">"exactly their slider value"</option>
                        <option value="full">"their full range"</option>
                    </select>
                </Show>
                " "
                <button data-testid="property-add" on:click=move |_| {
                    let name = format!("drawn-{}", count.get_untracked());
                    let wanted = match requirement.get_untracked().as_str() {
                        "custom:" => format!("custom:{}", custom.get_untracked()),
                        other => other.to_string(),
                    };
                    match add_drawn_property(state, &wanted, reach.get_untracked(), &name) {
                        Ok(()) => count.update(|c| *c += 1),
                        Err(e) => state.error.set(Some(e)),
                    }
                }>"Add property"</button>
                " "
                <button on:click=move |_| state.draft.set(None)>"Discard"</button>
            </div>
        </Show>
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
