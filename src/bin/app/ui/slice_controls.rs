//! The slice on screen: which inputs are on the axes, and where the others are fixed.

use crate::state::{physical_text, AppState};
use leptos::prelude::*;

/// Axis choice and one slider per other input.
#[component]
pub fn SliceControls() -> impl IntoView {
    let state = expect_context::<AppState>();
    let inputs = move || {
        state
            .network
            .get()
            .map(|n| n.summary.meta.inputs)
            .unwrap_or_default()
    };
    // The slider list re-renders only when the network or the axes change, never while a
    // slider is dragged (that would replace the element under the pointer).
    let layout = Memo::new(move |_| {
        let net = state.network.get()?;
        let view = state.view.get()?;
        Some((net.slot, net.summary.meta.inputs, view.x_dim, view.y_dim))
    });
    let axis_select = move |testid: &'static str, is_x: bool| {
        view! {
            <select
                data-testid=testid
                on:change=move |ev| {
                    let Ok(dim) = event_target_value(&ev).parse::<usize>() else { return };
                    state.view.update(|v| {
                        if let Some(v) = v {
                            *v = if is_x { v.with_x(dim) } else { v.with_y(dim) };
                        }
                    });
                }
            >
                {move || {
                    let chosen = state.view.get().map(|v| if is_x { v.x_dim } else { v.y_dim });
                    inputs()
                        .into_iter()
                        .enumerate()
                        .map(|(i, s)| {
                            let label = if s.unit.is_empty() { s.name.clone() } else { format!("{} ({})", s.name, s.unit) };
                            view! { <option value=i.to_string() selected=chosen == Some(i)>{label}</option> }
                        })
                        .collect_view()
                }}
            </select>
        }
    };
    view! {
        <div class="slice-controls">
            <label>"Horizontal axis " {axis_select("slice-x", true)}</label>
            <label>"Vertical axis " {axis_select("slice-y", false)}</label>
            <div class="sliders">
                {move || {
                    let Some((_, inputs, x_dim, y_dim)) = layout.get() else {
                        return Vec::new();
                    };
                    inputs
                        .into_iter()
                        .enumerate()
                        .filter(|&(i, _)| i != x_dim && i != y_dim)
                        .map(|(i, spec)| {
                            let spec_for_text = spec.clone();
                            let value = move || {
                                state.view.get().and_then(|v| v.fixed.get(i).copied()).unwrap_or(0.0)
                            };
                            let spec_for_input = spec.clone();
                            view! {
                                <label class="slider">
                                    <span class="name">{spec.name.clone()}</span>
                                    <input
                                        type="range"
                                        data-testid=format!("slice-slider-{i}")
                                        min=spec.min
                                        max=spec.max
                                        step=(spec.max - spec.min) / 400.0
                                        prop:value=move || spec.denormalise(value()).to_string()
                                        on:input=move |ev| {
                                            let Ok(physical) = event_target_value(&ev).parse::<f64>() else { return };
                                            let v = spec_for_input.normalise(physical);
                                            state.view.update(|view| {
                                                if let Some(view) = view {
                                                    view.fixed[i] = v;
                                                }
                                            });
                                        }
                                    />
                                    <output>{move || physical_text(&spec_for_text, value())}</output>
                                </label>
                            }
                        })
                        .collect::<Vec<_>>()
                }}
            </div>
        </div>
    }
}

/// Components mounted in a real page (headless Chromium, through wasm-bindgen-test).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::View;
    use crate::test_support::{acas_like, mount, settle, text};
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    async fn slice_controls_offer_a_slider_per_free_input_in_physical_units() {
        let state = AppState::new();
        let net = acas_like();
        state
            .view
            .set(Some(View::centred(&net.summary.meta.inputs)));
        state.network.set(Some(net));
        let el = mount(state, || view! { <SliceControls/> });
        settle().await;
        for i in 2..5 {
            assert!(
                el.query_selector(&format!("[data-testid=slice-slider-{i}]"))
                    .unwrap()
                    .is_some(),
                "slider {i}"
            );
        }
        assert!(el
            .query_selector("[data-testid=slice-slider-0]")
            .unwrap()
            .is_none());
        let v_own: web_sys::HtmlInputElement = el
            .query_selector("[data-testid=slice-slider-3]")
            .unwrap()
            .unwrap()
            .unchecked_into();
        assert_eq!(
            (v_own.min(), v_own.max(), v_own.value()),
            ("100".into(), "1200".into(), "650".into())
        );
        // Moving a slider changes the view in network units.
        v_own.set_value("1200");
        v_own
            .dispatch_event(&web_sys::Event::new("input").unwrap())
            .unwrap();
        let fixed = state.view.get_untracked().unwrap().fixed[3];
        assert!((fixed - 0.5).abs() < 1e-12, "{fixed}");
        settle().await;
        assert!(text(&el).contains("1200 ft/s"));
        // Picking the x input for the y axis swaps the axes; the sliders follow.
        state.view.update(|v| *v = v.as_ref().map(|v| v.with_y(0)));
        settle().await;
        assert!(el
            .query_selector("[data-testid=slice-slider-1]")
            .unwrap()
            .is_none());
        assert!(el
            .query_selector("[data-testid=slice-slider-2]")
            .unwrap()
            .is_some());
    }
}
