//! The decision map: its canvas and the SVG overlay (axes, property and proved boxes,
//! counterexamples, the pointer).

use super::draft::DraftBox;
use super::map_keys::{
    on_map_blur, on_map_focus, on_map_key, point_at, slice_through, CounterexampleStepper,
};
use crate::state::{
    AppState, Draft, MapStatus, MarkState, View, COARSE_SIDE, MAP_SIDE, MARGIN_BOTTOM, MARGIN_LEFT,
    MARGIN_RIGHT, MARGIN_TOP, PLOT,
};
use crate::ticks::{format_tick, nice_ticks};
use leptos::prelude::*;

/// The canvas and its SVG overlay: axes with physical units, property boxes, the pointer.
#[component]
pub fn DecisionMap() -> impl IntoView {
    let state = expect_context::<AppState>();
    let width = MARGIN_LEFT + PLOT + MARGIN_RIGHT;
    let height = MARGIN_TOP + PLOT + MARGIN_BOTTOM;
    let on_move = move |ev: web_sys::MouseEvent| {
        let at = (
            f64::from(ev.offset_x()) / PLOT,
            f64::from(ev.offset_y()) / PLOT,
        );
        // Where the mouse went, the keyboard's pointer (if the map has the focus) goes too.
        if state.keyboard_pointer.get_untracked().is_some() {
            state.keyboard_pointer.set(Some(at));
        }
        point_at(state, at.0, at.1);
    };
    let status_text = move || match state.map_status.get() {
        MapStatus::Empty => "empty".to_string(),
        MapStatus::Computing(side) => format!("computing {side}×{side}"),
        MapStatus::Ready { .. } => "ready".to_string(),
        MapStatus::Failed(_) => "failed".to_string(),
    };
    let timing = move || {
        match state.map_status.get() {
        MapStatus::Ready {
            side,
            coarse_ms,
            fine_ms,
            ..
        } => format!(
            "{COARSE_SIDE}×{COARSE_SIDE} in {coarse_ms:.0} ms, {side}×{side} in {fine_ms:.0} ms (worker)"
        ),
        MapStatus::Failed(m) => m,
        _ => String::new(),
    }
    };
    let fine_ms = move || match state.map_status.get() {
        MapStatus::Ready { fine_ms, .. } => format!("{fine_ms:.3}"),
        _ => String::new(),
    };
    let coarse_ms = move || match state.map_status.get() {
        MapStatus::Ready { coarse_ms, .. } => format!("{coarse_ms:.3}"),
        _ => String::new(),
    };
    let latencies = move || match state.map_status.get() {
        MapStatus::Ready {
            coarse_latency_ms,
            fine_latency_ms,
            ..
        } => format!("{coarse_latency_ms:.3} {fine_latency_ms:.3}"),
        _ => String::new(),
    };
    view! {
        <div class="map-frame">
            <div class="map-status-row">
                <button
                    data-testid="property-draw"
                    class:active=move || state.drawing.get()
                    on:click=move |_| {
                        state.drawing.update(|d| *d = !*d);
                        state.draft.set(None);
                    }
                >
                    {move || if state.drawing.get() { "Drawing: drag on the map" } else { "Draw a property" }}
                </button>
                " Decision map: "
                <span data-testid="map-status" data-fine-ms=fine_ms data-coarse-ms=coarse_ms data-latency-ms=latencies>{status_text}</span>
                <span class="timing">{timing}</span>
            </div>
            <div class="plot" style=format!("width:{width}px;height:{height}px")>
                <canvas
                    data-testid="decision-map"
                    class="map-canvas"
                    width=MAP_SIDE
                    height=MAP_SIDE
                    style=format!("left:{MARGIN_LEFT}px;top:{MARGIN_TOP}px;width:{PLOT}px;height:{PLOT}px")
                    class:drawing=move || state.drawing.get()
                    tabindex="0"
                    role="application"
                    aria-label=move || if state.drawing.get() {
                        "Decision map, drawing: the arrow keys move the pointer (Shift: further); Enter starts a box and Enter again ends it; Escape stops."
                    } else {
                        "Decision map: the arrow keys move the pointer (Shift: further) and the read-out shows the network there."
                    }
                    on:keydown=move |ev| on_map_key(state, ev)
                    on:focus=move |_| on_map_focus(state)
                    on:blur=move |_| on_map_blur(state)
                    on:mousemove=on_move
                    on:mouseleave=move |_| {
                        state.hover.set(None);
                        // Released outside the map or not: the box ends where it left it.
                        state.draft.update(|d| {
                            if let Some(d) = d.as_mut().filter(|d| d.dragging) {
                                d.dragging = false;
                                d.moving = None;
                            }
                        });
                    }
                    on:mousedown=move |ev: web_sys::MouseEvent| {
                        if state.drawing.get_untracked() {
                            ev.prevent_default();
                            let at = (f64::from(ev.offset_x()) / PLOT, f64::from(ev.offset_y()) / PLOT);
                            let grabbed = state.draft.get_untracked().and_then(|d| d.grab(at));
                            state.draft.set(Some(grabbed.unwrap_or_else(|| Draft::at(at))));
                        }
                    }
                    on:mouseup=move |_| {
                        state.draft.update(|d| {
                            if let Some(d) = d {
                                d.dragging = false;
                                d.moving = None;
                            }
                        });
                    }
                ></canvas>
                <crate::compare::CompareLayers style=format!(
                    "left:{MARGIN_LEFT}px;top:{MARGIN_TOP}px;width:{PLOT}px;height:{PLOT}px;"
                )/>
                <svg
                    class="overlay"
                    width=width
                    height=height
                    viewBox=format!("0 0 {width} {height}")
                    aria-hidden="true"
                >
                    <Axes/>
                    <ProvedBoxes/>
                    <PropertyBoxes/>
                    <CounterexampleMarks/>
                    <crate::compare::SwipeDivider left=MARGIN_LEFT top=MARGIN_TOP plot=PLOT/>
                    <DraftBox/>
                    <HoverMark/>
                </svg>
            </div>
            <CounterexampleStepper/>
        </div>
    }
}

/// Position on screen of a network-unit value along an input's axis (0..PLOT).
fn axis_fraction(state: AppState, dim: usize, network_value: f64) -> Option<f64> {
    let net = state.network.get()?;
    let (lo, hi) = net.summary.meta.inputs.get(dim)?.network_bounds();
    Some((network_value - lo) / (hi - lo))
}

/// Where a box (network units) lies on the map: (left, top, right, bottom) as fractions of
/// the map from its top-left corner, clamped to it. `None` when the box does not fit the
/// view, or, with `must_meet`, when some fixed input's value lies outside the box (the box
/// does not reach this slice).
pub(super) fn box_on_map(
    state: AppState,
    view: &View,
    lower: &[f64],
    upper: &[f64],
    must_meet: bool,
) -> Option<(f64, f64, f64, f64)> {
    if lower.len() != view.fixed.len() || upper.len() != view.fixed.len() {
        return None;
    }
    let meets = (0..view.fixed.len())
        .filter(|&d| d != view.x_dim && d != view.y_dim)
        .all(|d| lower[d] <= view.fixed[d] && view.fixed[d] <= upper[d]);
    if must_meet && !meets {
        return None;
    }
    let fraction = |dim: usize, v: f64| axis_fraction(state, dim, v).map(|f| f.clamp(0.0, 1.0));
    let x0 = fraction(view.x_dim, lower[view.x_dim])?;
    let x1 = fraction(view.x_dim, upper[view.x_dim])?;
    let y0 = fraction(view.y_dim, lower[view.y_dim])?;
    let y1 = fraction(view.y_dim, upper[view.y_dim])?;
    Some((x0, 1.0 - y1, x1, 1.0 - y0))
}

#[component]
fn Axes() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let (Some(net), Some(view)) = (state.network.get(), state.view.get()) else {
            return ().into_any();
        };
        let inputs = &net.summary.meta.inputs;
        let (xs, ys) = (&inputs[view.x_dim], &inputs[view.y_dim]);
        let ticks = |spec: &birdnn::network::InputSpec| {
            let (lo, hi) = spec.network_bounds();
            let (a, b) = (spec.denormalise(lo), spec.denormalise(hi));
            nice_ticks(a.min(b), a.max(b), 6)
                .into_iter()
                .map(|t| (t, (spec.normalise(t) - lo) / (hi - lo)))
                .collect::<Vec<_>>()
        };
        let x_ticks = ticks(xs)
            .into_iter()
            .map(|(t, f)| {
                let x = MARGIN_LEFT + f * PLOT;
                let y = MARGIN_TOP + PLOT;
                view! {
                    <line x1=x x2=x y1=y y2=y + 5.0 class="tick"/>
                    <text x=x y=y + 18.0 text-anchor="middle" class="tick-label">{format_tick(t)}</text>
                }
            })
            .collect_view();
        let y_ticks = ticks(ys)
            .into_iter()
            .map(|(t, f)| {
                let y = MARGIN_TOP + (1.0 - f) * PLOT;
                view! {
                    <line x1=MARGIN_LEFT - 5.0 x2=MARGIN_LEFT y1=y y2=y class="tick"/>
                    <text x=MARGIN_LEFT - 8.0 y=y + 4.0 text-anchor="end" class="tick-label">{format_tick(t)}</text>
                }
            })
            .collect_view();
        let label = |s: &birdnn::network::InputSpec| {
            if s.unit.is_empty() {
                s.name.clone()
            } else {
                format!("{} ({})", s.name, s.unit)
            }
        };
        view! {
            <rect x=MARGIN_LEFT y=MARGIN_TOP width=PLOT height=PLOT class="frame"/>
            {x_ticks}
            {y_ticks}
            <text x=MARGIN_LEFT + PLOT / 2.0 y=MARGIN_TOP + PLOT + 40.0 text-anchor="middle" class="axis-label" data-testid="x-axis-label">{label(xs)}</text>
            <text
                x=14.0
                y=MARGIN_TOP + PLOT / 2.0
                text-anchor="middle"
                class="axis-label"
                data-testid="y-axis-label"
                transform=format!("rotate(-90 14 {})", MARGIN_TOP + PLOT / 2.0)
            >
                {label(ys)}
            </text>
        }
        .into_any()
    }
}

/// Property boxes where they meet the slice.
#[component]
fn PropertyBoxes() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let Some(view) = state.view.get() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for p in state.properties.get() {
            for b in &p.summary.boxes {
                let Some((l, t, r, bottom)) = box_on_map(state, &view, &b.lower, &b.upper, true)
                else {
                    continue;
                };
                out.push(view! {
                    <g class="property-box" data-testid="property-box">
                        <title>{p.summary.name.clone()}</title>
                        <rect
                            x=MARGIN_LEFT + l * PLOT
                            y=MARGIN_TOP + t * PLOT
                            width=(r - l) * PLOT
                            height=(bottom - t) * PLOT
                        />
                        <text x=MARGIN_LEFT + l * PLOT + 3.0 y=MARGIN_TOP + t * PLOT + 12.0>{fit_label(&p.summary.name, (r - l) * PLOT)}</text>
                    </g>
                });
            }
        }
        out
    }
}

/// Width of one character of a box's label (11 px sans-serif), a little generous.
const LABEL_CHAR_PX: f64 = 6.6;

/// A property's name cut to fit a box `width` pixels wide (with an ellipsis; the full name
/// is the box's tooltip), so that labels never run past the box or the map.
fn fit_label(name: &str, width: f64) -> String {
    let room = ((width - 6.0) / LABEL_CHAR_PX).floor().max(0.0) as usize;
    if name.chars().count() <= room {
        return name.to_string();
    }
    if room < 2 {
        return String::new();
    }
    let mut cut: String = name.chars().take(room - 1).collect();
    cut.push('…');
    cut
}

/// The parts of property regions the verifier proved, where they meet the slice.
#[component]
fn ProvedBoxes() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let (Some(view), Some(net)) = (state.view.get(), state.network.get()) else {
            return Vec::new();
        };
        let proof = state.repair_signals.proof.get();
        if proof.network != Some(net.slot) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (_, verdict) in &proof.verdicts {
            for (lower, upper) in &verdict.proved_boxes {
                let Some((l, t, r, b)) = box_on_map(state, &view, lower, upper, true) else {
                    continue;
                };
                out.push(view! {
                    <rect
                        class="proved-box"
                        data-testid="proved-box"
                        x=MARGIN_LEFT + l * PLOT
                        y=MARGIN_TOP + t * PLOT
                        width=(r - l) * PLOT
                        height=(b - t) * PLOT
                    />
                });
            }
        }
        out
    }
}

/// Counterexamples found by the check, projected on the slice; a click moves the sliders to
/// one, so the slice goes through it.
#[component]
fn CounterexampleMarks() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let Some(view) = state.view.get() else {
            return Vec::new();
        };
        let check = state.repair_signals.check.get();
        let selected = check.selected;
        check
            .counterexamples
            .into_iter()
            .enumerate()
            .filter_map(|(index, c)| {
                let fx = axis_fraction(state, view.x_dim, f64::from(*c.input.get(view.x_dim)?))?;
                let fy = axis_fraction(state, view.y_dim, f64::from(*c.input.get(view.y_dim)?))?;
                // Over the repaired network's part of the comparison, a mark says whether
                // the repaired network still violates there.
                let (class, mark_state, title) = match state.compare.mark_state(index, fx) {
                    MarkState::Original => (
                        "counterexample",
                        "original",
                        "counterexample: click to slice through it",
                    ),
                    MarkState::Fixed => (
                        "counterexample fixed",
                        "fixed",
                        "fixed by the repair (re-checked): click to slice through it",
                    ),
                    MarkState::Still => (
                        "counterexample still",
                        "still",
                        "still a counterexample after the repair: click to slice through it",
                    ),
                };
                let class = if selected == Some(index) {
                    format!("{class} selected")
                } else {
                    class.to_string()
                };
                Some(view! {
                    <circle
                        class=class
                        data-testid="counterexample-mark"
                        data-state=mark_state
                        cx=MARGIN_LEFT + fx.clamp(0.0, 1.0) * PLOT
                        cy=MARGIN_TOP + (1.0 - fy.clamp(0.0, 1.0)) * PLOT
                        r=if selected == Some(index) { 6.0 } else { 3.0 }
                        on:click=move |_| slice_through(state, index)
                    >
                        <title>{title}</title>
                    </circle>
                })
            })
            .collect::<Vec<_>>()
    }
}

#[component]
fn HoverMark() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let (Some(h), Some(view)) = (state.hover.get(), state.view.get()) else {
            return ().into_any();
        };
        let fx = axis_fraction(state, view.x_dim, f64::from(h.input[view.x_dim])).unwrap_or(0.0);
        let fy = axis_fraction(state, view.y_dim, f64::from(h.input[view.y_dim])).unwrap_or(0.0);
        view! {
            <circle cx=MARGIN_LEFT + fx * PLOT cy=MARGIN_TOP + (1.0 - fy) * PLOT r=4.0 class="hover-mark"/>
        }
        .into_any()
    }
}

#[cfg(test)]
mod tests {
    use super::fit_label;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn labels_are_cut_to_their_box() {
        assert_eq!(fit_label("prop_2", 200.0), "prop_2");
        let cut = fit_label("zones-relu-patch-must-be-below", 100.0);
        assert!(cut.ends_with('…') && cut.chars().count() <= 14, "{cut}");
        assert_eq!(fit_label("prop_2", 10.0), "");
    }
}
