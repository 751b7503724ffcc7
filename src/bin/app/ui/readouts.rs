//! What the page tells about the network: the map's legend, the values under the pointer,
//! and the network's layers, inputs, outputs and decision rule.

use crate::bridge;
use crate::services::loading::{Pending, PENDING};
use crate::state::{physical_text, AppState};
use crate::ticks::format_tick;
use birdnn::network::DecisionRule;
use birdnn::picture::class_css;
use birdnn::protocol::Request;
use leptos::prelude::*;

/// Output names with their colours.
#[component]
pub fn Legend() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <div class="legend" data-testid="legend">
            {move || {
                state
                    .network
                    .get()
                    .map(|n| {
                        n.summary
                            .meta
                            .outputs
                            .iter()
                            .enumerate()
                            .map(|(j, name)| {
                                view! {
                                    <span class="legend-item">
                                        <span class="swatch" style=format!("background:{}", class_css(j))></span>
                                        {name.clone()}
                                    </span>
                                }
                            })
                            .collect_view()
                    })
            }}
            <span class="legend-note">"strong colour: sure; pale: near a decision boundary"</span>
        </div>
    }
}

/// The input under the pointer, the outputs there and the decision.
#[component]
pub fn HoverReadout() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <div class="hover-readout" data-testid="hover-readout">
            {move || {
                let (Some(h), Some(net)) = (state.hover.get(), state.network.get()) else {
                    return view! { <p class="hint">"Point at the map to see the input, the outputs and the decision there."</p> }.into_any();
                };
                let meta = net.summary.meta;
                let point = meta
                    .inputs
                    .iter()
                    .zip(&h.input)
                    .map(|(s, &v)| format!("{} = {}", s.name, physical_text(s, f64::from(v))))
                    .collect::<Vec<_>>()
                    .join(", ");
                let outputs = h.outputs.clone().unwrap_or_default();
                let rows = meta
                    .outputs
                    .iter()
                    .zip(outputs.iter())
                    .enumerate()
                    .map(|(j, (name, &y))| {
                        let winner = h.decision == Some(j);
                        view! {
                            <tr class:winner=winner>
                                <td><span class="swatch" style=format!("background:{}", class_css(j))></span>{name.clone()}</td>
                                <td class="num">{format!("{y:.5}")}</td>
                            </tr>
                        }
                    })
                    .collect_view();
                let decision = h
                    .decision
                    .and_then(|d| meta.outputs.get(d).cloned())
                    .map(|d| format!("decision: {d} ({})", meta.decision))
                    .unwrap_or_default();
                view! {
                    <p class="point">{point}</p>
                    <p class="decision">{decision}</p>
                    <table class="outputs">{rows}</table>
                }
                .into_any()
            }}
        </div>
    }
}

/// Architecture, inputs and outputs, and the decision rule (which the user can change).
#[component]
pub fn NetworkInfo() -> impl IntoView {
    let state = expect_context::<AppState>();
    let set_rule = move |ev| {
        let Ok(rule) = event_target_value(&ev).parse::<DecisionRule>() else {
            return;
        };
        let Some(net) = state.network.get_untracked() else {
            return;
        };
        let job = bridge::next_job();
        PENDING.with(|p| p.borrow_mut().insert(job, Pending::Rule));
        bridge::send(&Request::SetDecisionRule {
            job,
            network: net.slot,
            rule,
        });
    };
    view! {
        <section class="panel" data-testid="network-info">
            <h2>"Network"</h2>
            {move || {
                let Some(net) = state.network.get() else {
                    return view! { <p class="hint">"No network loaded yet."</p> }.into_any();
                };
                let s = net.summary;
                let layers = s
                    .layers
                    .iter()
                    .enumerate()
                    .map(|(l, layer)| {
                        view! {
                            <tr>
                                <td>{l + 1}</td>
                                <td class="num">{format!("{} → {}", layer.inputs, layer.outputs)}</td>
                                <td>{layer.activation.clone()}</td>
                                <td class="num">{layer.parameters}</td>
                            </tr>
                        }
                    })
                    .collect_view();
                let input_count = s.meta.inputs.len();
                let input_summary = inputs_summary(&s.meta.inputs);
                let inputs = s
                    .meta
                    .inputs
                    .iter()
                    .map(|spec| {
                        let unit = if spec.unit.is_empty() { String::new() } else { format!(" {}", spec.unit) };
                        let scaling = if spec.is_identity_scaling() {
                            String::new()
                        } else {
                            format!(" (network sees (x − {}) / {})", spec.mean, spec.range)
                        };
                        view! {
                            <li>
                                <b>{spec.name.clone()}</b>
                                {format!(": {} to {}{unit}{scaling}", format_tick(spec.min), format_tick(spec.max))}
                            </li>
                        }
                    })
                    .collect_view();
                let outputs = s
                    .meta
                    .outputs
                    .iter()
                    .enumerate()
                    .map(|(j, name)| {
                        view! {
                            <li><span class="swatch" style=format!("background:{}", class_css(j))></span>{name.clone()}</li>
                        }
                    })
                    .collect_view();
                let rule = s.meta.decision.to_string();
                view! {
                    <p class="network-name">
                        <b data-testid="network-name">{s.meta.name.clone()}</b>
                        " "
                        <small>{format!("from {}", s.file_name)}</small>
                    </p>
                    <table class="layers">
                        <thead><tr><th>"layer"</th><th>"in → out"</th><th>"activation"</th><th>"parameters"</th></tr></thead>
                        <tbody>{layers}</tbody>
                    </table>
                    <p data-testid="parameter-count">{format!("{} parameters in {} layers", s.parameters, s.layers.len())}</p>
                    <h3>"Inputs"</h3>
                    {if input_count > LISTED_INPUTS {
                        // An image's 64 or 784 pixels would bury the rest of the panel.
                        view! {
                            <details data-testid="inputs-details">
                                <summary data-testid="inputs-summary">{input_summary}</summary>
                                <ul class="inputs">{inputs}</ul>
                            </details>
                        }
                        .into_any()
                    } else {
                        view! { <ul class="inputs">{inputs}</ul> }.into_any()
                    }}
                    <h3>"Outputs"</h3>
                    <ul class="outputs-list">{outputs}</ul>
                    <label class="advanced">
                        "Decision: "
                        <select data-testid="decision-rule" on:change=set_rule>
                            // `selected` on the options, not `prop:value` on the select: the
                            // value would be set before the options exist.
                            <option value="argmax" selected=rule == "argmax">"argmax (largest output wins)"</option>
                            <option value="argmin" selected=rule == "argmin">"argmin (smallest output wins, as in ACAS Xu)"</option>
                        </select>
                    </label>
                }
                .into_any()
            }}
        </section>
    }
}

/// Inputs listed one by one; a network with more shows a one-line summary that opens to
/// the list.
const LISTED_INPUTS: usize = 12;

/// "64 inputs, pixel 0,0 to pixel 7,7, each 0 to 1": the count, the first and last names,
/// and the range where every input shares it.
fn inputs_summary(inputs: &[birdnn::network::InputSpec]) -> String {
    let (Some(first), Some(last)) = (inputs.first(), inputs.last()) else {
        return "no inputs".into();
    };
    let mut text = format!("{} inputs, {} to {}", inputs.len(), first.name, last.name);
    let shared = inputs.iter().all(|spec| {
        spec.min == first.min
            && spec.max == first.max
            && spec.unit == first.unit
            && spec.is_identity_scaling()
    });
    if shared {
        let unit = if first.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", first.unit)
        };
        text += &format!(
            ", each {} to {}{unit}",
            format_tick(first.min),
            format_tick(first.max)
        );
    }
    text
}

/// Components mounted in a real page (headless Chromium, through wasm-bindgen-test).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{acas_like, mount, settle, text};
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    async fn network_info_shows_layers_units_and_the_decision_rule() {
        let state = AppState::new();
        state.network.set(Some(acas_like()));
        let el = mount(state, || view! { <NetworkInfo/> });
        let t = text(&el);
        for expected in [
            "N1,9",
            "from n19.onnx",
            "5 → 50",
            "identity",
            "555 parameters in 2 layers",
            "rho",
            "0 to 60760 ft",
            "strong right",
        ] {
            assert!(t.contains(expected), "{expected:?} missing from {t}");
        }
        let select: web_sys::HtmlSelectElement = el
            .query_selector("[data-testid=decision-rule]")
            .unwrap()
            .unwrap()
            .unchecked_into();
        assert_eq!(select.value(), "argmin");
        // Five inputs are listed, not folded away.
        assert!(el
            .query_selector("[data-testid=inputs-details]")
            .unwrap()
            .is_none());
        // An image network's pixels fold into one line that opens to the list.
        let mut image = acas_like();
        image.summary.meta = birdnn::images::benchmark::image_meta(8, 8, 10);
        state.network.set(Some(image));
        settle().await;
        let details = el
            .query_selector("[data-testid=inputs-details]")
            .unwrap()
            .expect("the pixels are folded");
        assert!(!details.has_attribute("open"));
        let summary = details
            .query_selector("summary")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap_or_default();
        assert!(summary.starts_with("64 inputs, "), "{summary}");
        assert!(summary.ends_with(", each 0 to 1"), "{summary}");
        let list = details.query_selector("ul").unwrap().unwrap();
        assert_eq!(list.child_element_count(), 64);
        state.network.set(None);
        settle().await;
        assert!(text(&el).contains("No network loaded yet"));
    }
}
