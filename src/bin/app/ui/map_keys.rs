//! The decision map without a mouse: the focused map's arrow keys move a pointer that reads
//! the network like the mouse does, Enter draws a property box corner to corner, and a pair
//! of buttons steps the slice through the counterexamples one by one (what a click on a mark
//! does).

use super::map_jobs::probe;
use crate::state::{fractions_of, moved, step_through, AppState, Draft, Hover, MapKey};
use leptos::prelude::*;

/// The pointer is at (`fx`, `fy`), fractions of the map from its top-left: the box being
/// drawn follows it, and the read-out asks the worker what the network says there.
pub(super) fn point_at(state: AppState, fx: f64, fy: f64) {
    let (Some(net), Some(view)) = (state.network.get_untracked(), state.view.get_untracked())
    else {
        return;
    };
    state.draft.update(|d| {
        if let Some(d) = d.as_mut().filter(|d| d.dragging) {
            d.follow((fx, fy));
        }
    });
    let input = view.point_at(&net.summary.meta.inputs, fx, fy);
    state.hover.set(Some(Hover {
        input: input.clone(),
        outputs: None,
        decision: None,
    }));
    probe(&net, input);
}

/// The map took the focus: the keyboard's pointer starts where the mouse is (a click
/// focuses the map too), or at the map's centre.
pub(super) fn on_map_focus(state: AppState) {
    let under_mouse = state.hover.get_untracked().and_then(|h| {
        let (net, view) = (state.network.get_untracked()?, state.view.get_untracked()?);
        fractions_of(&view, &net.summary.meta.inputs, &h.input)
    });
    match under_mouse {
        Some(at) => state.keyboard_pointer.set(Some(at)),
        None => {
            state.keyboard_pointer.set(Some((0.5, 0.5)));
            point_at(state, 0.5, 0.5);
        }
    }
}

/// The map lost the focus: its pointer goes, and a box half drawn stays where it is.
pub(super) fn on_map_blur(state: AppState) {
    state.keyboard_pointer.set(None);
    state.hover.set(None);
    state.draft.update(|d| {
        if let Some(d) = d.as_mut() {
            d.dragging = false;
            d.moving = None;
        }
    });
}

/// A key pressed on the focused map.
pub(super) fn on_map_key(state: AppState, ev: web_sys::KeyboardEvent) {
    // Keys with Ctrl, Alt or Meta are the browser's (Alt+Left goes back, for one).
    if ev.ctrl_key() || ev.alt_key() || ev.meta_key() {
        return;
    }
    let Some(action) = MapKey::from_key(&ev.key(), ev.shift_key()) else {
        return;
    };
    // The arrows and Space would scroll the page otherwise.
    ev.prevent_default();
    let at = state.keyboard_pointer.get_untracked().unwrap_or((0.5, 0.5));
    match action {
        MapKey::Move(dx, dy) => {
            let to = moved(at, dx, dy);
            state.keyboard_pointer.set(Some(to));
            point_at(state, to.0, to.1);
        }
        MapKey::Press if state.drawing.get_untracked() => {
            let dragging = state.draft.get_untracked().is_some_and(|d| d.dragging);
            if dragging {
                state.draft.update(|d| {
                    if let Some(d) = d.as_mut() {
                        d.dragging = false;
                        d.moving = None;
                    }
                });
            } else {
                let grabbed = state.draft.get_untracked().and_then(|d| d.grab(at));
                state
                    .draft
                    .set(Some(grabbed.unwrap_or_else(|| Draft::at(at))));
            }
        }
        MapKey::Press => {}
        MapKey::Cancel => {
            if state.draft.get_untracked().is_some_and(|d| d.dragging) {
                state.draft.set(None);
            } else if state.drawing.get_untracked() {
                state.drawing.set(false);
                state.draft.set(None);
            }
        }
    }
}

/// Moves the slice through counterexample `index` (the sliders to its inputs) and
/// highlights its mark.
pub(super) fn slice_through(state: AppState, index: usize) {
    let Some(found) = state
        .repair_signals
        .check
        .with_untracked(|c| c.counterexamples.get(index).map(|c| c.input.clone()))
    else {
        return;
    };
    let input: Vec<f64> = found.iter().map(|&v| f64::from(v)).collect();
    state.view.update(|v| {
        if let Some(v) = v.as_mut().filter(|v| v.fixed.len() == input.len()) {
            v.fixed = input;
        }
    });
    state
        .repair_signals
        .check
        .update(|c| c.selected = Some(index));
}

/// "Previous" and "next" through the counterexamples found, with which one the slice goes
/// through; shown once a check has found some. The buttons stay while the check runs and
/// the steps go on (a button rebuilt under the keyboard would lose the focus).
#[component]
pub(super) fn CounterexampleStepper() -> impl IntoView {
    let state = expect_context::<AppState>();
    let check = state.repair_signals.check;
    let count = Memo::new(move |_| check.with(|c| c.counterexamples.len()));
    let step = move |forward: bool| {
        let selected = check.with_untracked(|c| c.selected);
        if let Some(next) = step_through(selected, count.get_untracked(), forward) {
            slice_through(state, next);
        }
    };
    let where_ = move || {
        let count = count.get();
        match check.with(|c| c.selected.filter(|&i| i < count)) {
            Some(i) => format!(
                "The slice goes through counterexample {} of {count}.",
                i + 1
            ),
            None => format!("{count} counterexamples: step through them, or click a mark."),
        }
    };
    view! {
        <Show when=move || { count.get() > 0 }>
            <div class="stepper" data-testid="counterexample-stepper">
                <button data-testid="counterexample-previous" aria-label="previous counterexample" on:click=move |_| step(false)>"‹ Previous"</button>
                <button data-testid="counterexample-next" aria-label="next counterexample" on:click=move |_| step(true)>"Next ›"</button>
                <span data-testid="counterexample-selected" aria-live="polite">{where_}</span>
            </div>
        </Show>
    }
}
