//! The loaded properties: whether each fits the network, its proof badge, and its export,
//! edit and remove buttons.

use super::map::box_on_map;
use super::picker::FilePicker;
use crate::bridge;
use crate::services::download::download;
use crate::state::{badge_text, AppState, Draft, View};
use birdnn::protocol::Request;
use birdnn::verify::VerifyStatus;
use leptos::prelude::*;

/// Loaded properties, whether each fits the network, and a way to remove them.
#[component]
pub fn PropertyList() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <section class="panel" data-testid="property-list">
            <h2>"Properties"</h2>
            <label class="file-button" title="VNN-LIB 1.0 or 2.0 files; or drop them anywhere on the page">
                "Import VNN-LIB…"
                <FilePicker testid="property-import" accept=".vnnlib"/>
            </label>
            {move || {
                let props = state.properties.get();
                if props.is_empty() {
                    return view! { <p class="hint">"No property loaded. Demos bring theirs; open a VNN-LIB file to add one."</p> }.into_any();
                }
                let net = state.network.get();
                props
                    .into_iter()
                    .map(|p| {
                        let fit = net.as_ref().map(|n| p.summary.fit(&n.summary));
                        let slot = p.slot;
                        let (file_name, bytes) = (p.summary.file_name.clone(), p.bytes.clone());
                        let stem = file_name.strip_suffix(".vnnlib").unwrap_or(&file_name).to_string();
                        let export = move |_| {
                            download(&format!("{stem}.vnnlib"), &bytes, "text/plain");
                        };
                        // The same property as a VNN-LIB 2.0 query (typed, shaped declarations),
                        // for harnesses that read the newer standard.
                        let summary = p.summary.clone();
                        let export_v2 = move |_| {
                            let property = birdnn::property::Property {
                                name: summary.name.clone(),
                                num_inputs: summary.num_inputs,
                                num_outputs: summary.num_outputs,
                                input_boxes: summary.boxes.clone(),
                                unsafe_region: summary.unsafe_region.clone(),
                            };
                            let text = birdnn::formats::vnnlib::write_v2(&property);
                            let stem = summary.file_name.strip_suffix(".vnnlib").unwrap_or(&summary.file_name);
                            download(&format!("{stem}-2.0.vnnlib"), text.as_bytes(), "text/plain");
                        };
                        let remove = move |_| {
                            bridge::send(&Request::ForgetProperty { property: slot });
                            state.properties.update(|l| l.retain(|q| q.slot != slot));
                        };
                        // Editing takes the property back into a draft box on the slice
                        // (handles to move and resize it, then a requirement and "Add").
                        let first_box = p.summary.boxes.first().cloned();
                        let edit = move |_| {
                            let (Some(view), Some(b)) = (state.view.get_untracked(), first_box.clone()) else {
                                return;
                            };
                            // The box where it lies on the map, even off this slice.
                            let Some((l, t, r, bottom)) = box_on_map(state, &view, &b.lower, &b.upper, false) else {
                                return;
                            };
                            bridge::send(&Request::ForgetProperty { property: slot });
                            state.properties.update(|l| l.retain(|q| q.slot != slot));
                            state.drawing.set(true);
                            state.draft.set(Some(Draft {
                                start: (l, t),
                                end: (r, bottom),
                                dragging: false,
                                moving: None,
                            }));
                        };
                        // Brings the property's (first) box into view: its two widest inputs
                        // on the axes, the others at its centre, so that it is drawn on the map
                        // wherever the slice stood.
                        let shown_box = p.summary.boxes.first().cloned();
                        let show = move |_| {
                            let (Some(net), Some(b)) = (state.network.get_untracked(), shown_box.clone()) else {
                                return;
                            };
                            state.view.set(Some(View::onto_box(&net.summary.meta.inputs, &b.lower, &b.upper)));
                        };
                        let showable = matches!(fit, Some(Ok(())));
                        let editable = !p.from_demo
                            && p.summary.boxes.len() == 1
                            && state.view.get().is_some_and(|v| p.summary.boxes[0].dims() == v.fixed.len());
                        view! {
                            <div class="property">
                                <b>{p.summary.name.clone()}</b>
                                {format!(
                                    " — {} input box{}, {} unsafe case{}",
                                    p.summary.boxes.len(),
                                    if p.summary.boxes.len() == 1 { "" } else { "es" },
                                    p.summary.unsafe_region.disjuncts.len(),
                                    if p.summary.unsafe_region.disjuncts.len() == 1 { "" } else { "s" },
                                )}
                                {match fit {
                                    Some(Err(why)) => view! { <span class="warning">{format!(" (does not fit: {why})")}</span> }.into_any(),
                                    _ => ().into_any(),
                                }}
                                {move || {
                                    let r = state.repair_signals;
                                    let on_screen = state.network.get().map(|n| n.slot);
                                    let proof = r.proof.get();
                                    let pac = r
                                        .repair
                                        .get()
                                        .result
                                        .is_some_and(|(n, rep)| Some(n.slot) == on_screen && rep.pac.is_some());
                                    // After a repair the verifier's verdicts are about the
                                    // repaired network, which the metrics table reports too:
                                    // the badge says so rather than "not proved yet" for the
                                    // original on screen.
                                    let repaired = r
                                        .repair
                                        .get()
                                        .result
                                        .map(|(n, _)| n.slot)
                                        .filter(|s| Some(*s) != on_screen);
                                    let (verdict, whose) = match proof.verdict(on_screen, slot) {
                                        Some(v) => (Some(v), ""),
                                        None => (repaired.and_then(|s| proof.verdict(Some(s), slot)), "repaired: "),
                                    };
                                    let (status, text) = match verdict {
                                        Some(v) => (
                                            match v.status {
                                                VerifyStatus::Proved => "proved",
                                                VerifyStatus::Counterexample => "violated",
                                                VerifyStatus::Unknown if pac => "pac",
                                                VerifyStatus::Unknown => "unknown",
                                            },
                                            format!("{whose}{}", badge_text(v, pac)),
                                        ),
                                        None if pac => ("pac", "PAC certified".to_string()),
                                        None => ("unchecked", "not proved yet".to_string()),
                                    };
                                    let network = if verdict.is_some() && !whose.is_empty() { "repaired" } else { "shown" };
                                    view! {
                                        <span class=format!("badge badge-{status}") data-testid="proof-badge" data-status=status data-network=network>{text}</span>
                                    }
                                }}
                                {showable.then(|| view! {
                                    <button class="remove" data-testid="property-show" on:click=show title="Put this property's box on the map: its two widest inputs on the axes, the others at its centre">"show on map"</button>
                                })}
                                <button class="remove" data-testid="property-export" on:click=export title="The property as it was loaded">"VNN-LIB"</button>
                                <button class="remove" data-testid="property-export-v2" on:click=export_v2 title="The property as a VNN-LIB 2.0 query (typed, shaped declarations)">"2.0"</button>
                                {editable.then(|| view! {
                                    <button class="remove" data-testid="property-edit" on:click=edit title="Edit its box on the map and choose its requirement again">"edit"</button>
                                })}
                                <button class="remove" on:click=remove aria-label="remove property">"remove"</button>
                            </div>
                        }
                    })
                    .collect_view()
                    .into_any()
            }}
        </section>
    }
}
