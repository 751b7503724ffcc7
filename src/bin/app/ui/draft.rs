//! Drawing a property on the map: the box being drawn, and the form that turns it into a
//! VNN-LIB property.

use crate::services::loading::load_property;
use crate::state::{AppState, MARGIN_LEFT, MARGIN_TOP, PLOT};
use leptos::prelude::*;
use std::sync::Arc;

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
pub fn DraftForm() -> impl IntoView {
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
