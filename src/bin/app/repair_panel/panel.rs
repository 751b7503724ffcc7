//! The check and repair panel: its buttons, progress and exports.

use super::charts::{LiveChart, ResponsibilityChart};
use super::jobs::{
    cancel_repair, cancel_verify, network_and_properties, start_check, start_repair, start_verify,
    EXPORT_JOB,
};
use super::report::{report_markdown, MetricsTable};
use super::settings::{method_help, SettingsPanel};
use crate::bridge;
use crate::services::download::download;
use crate::state::AppState;
use birdnn::protocol::Request;
use birdnn::repair::Method;
use leptos::prelude::*;

/// Counterexamples the worker reports per check.
const MAX_MARKED: usize = birdnn::worker::MAX_REPORTED_COUNTEREXAMPLES;

/// The check and repair controls, the live chart and the measures.
#[component]
pub fn RepairPanel(next_slot: fn() -> u32) -> impl IntoView {
    let state = expect_context::<AppState>();
    let r = state.repair_signals;
    let count_text = move || {
        let c = r.check.get();
        let sampled = c
            .sampled
            .map(|s| format!("{} of {} uniform samples violate", s.count, s.total))
            .unwrap_or_default();
        let marked = c.counterexamples.len();
        if c.running {
            format!(
                "{marked} counterexamples so far ({sampled}; falsifier {}/{} starts)",
                c.starts.0, c.starts.1
            )
        } else if c.sampled.is_some() {
            format!("{marked} counterexamples marked on the map ({sampled}; the falsifier adds those sampling misses; at most {MAX_MARKED} are kept)")
        } else {
            String::new()
        }
    };
    let export = move |format: &'static str| {
        let Some((net, _)) = r.repair.get_untracked().result else {
            return;
        };
        let stem = net
            .summary
            .meta
            .name
            .replace(' ', "-")
            .replace(['(', ')'], "");
        let job = bridge::next_job();
        EXPORT_JOB.with(|e| e.set(Some(job)));
        bridge::send(&Request::Export {
            job,
            network: net.slot,
            file_name: format!("{stem}.{format}"),
        });
    };
    let export_report = move |markdown: bool| {
        let Some((net, report)) = r.repair.get_untracked().result else {
            return;
        };
        let stem = net
            .summary
            .meta
            .name
            .replace(' ', "-")
            .replace(['(', ')'], "");
        if markdown {
            let text = report_markdown(&net.summary.meta.name, &report);
            download(
                &format!("{stem}-report.md"),
                text.as_bytes(),
                "text/markdown",
            );
        } else {
            let text = serde_json::to_string_pretty(&report).unwrap_or_default();
            download(
                &format!("{stem}-report.json"),
                text.as_bytes(),
                "application/json",
            );
        }
    };
    view! {
        <section class="panel" data-testid="repair-panel">
            <h2>"Check and repair"</h2>
            <p>
                <button class="primary" data-testid="check-run" on:click=move |_| start_check(state) disabled=move || r.check.get().running>
                    "Check the properties"
                </button>
                " "
                <span data-testid="counterexample-count" data-count=move || r.check.get().counterexamples.len().to_string()>
                    {count_text}
                </span>
            </p>
            <p>
                <button data-testid="verify-run" disabled=move || r.proof.get().running on:click=move |_| {
                    if let Some((net, properties)) = network_and_properties(state) {
                        start_verify(state, net.slot, properties);
                    }
                }>"Prove"</button>
                " "
                <button data-testid="verify-cancel" on:click=move |_| cancel_verify(state) disabled=move || !r.proof.get().running>
                    "Stop"
                </button>
                " "
                <span data-testid="verify-status">{move || {
                    let p = r.proof.get();
                    let on_screen = state.network.get().map(|n| n.slot);
                    if p.network.is_some() && p.network != on_screen {
                        String::new()
                    } else {
                        p.stage
                    }
                }}</span>
                <span class="hint">" Sound bounds with input splitting: a proof covers every input of the region, not just samples."</span>
            </p>
            <label>
                "Method "
                <select
                    data-testid="repair-method"
                    on:change=move |ev| {
                        if let Ok(m) = event_target_value(&ev).parse::<Method>() {
                            r.method.set(m);
                        }
                    }
                >
                    <option value="auto" selected=move || r.method.get() == Method::Auto>"automatic (patch, else retrain)"</option>
                    <option value="retrain" selected=move || r.method.get() == Method::Retrain>"retrain"</option>
                    <option value="finetune" selected=move || r.method.get() == Method::Finetune>"fine-tune"</option>
                    <option value="domain" selected=move || r.method.get() == Method::Domain>"domain-wise (PAC)"</option>
                    <option value="certified" selected=move || r.method.get() == Method::Certified>"certified last layer"</option>
                    <option value="patch" selected=move || r.method.get() == Method::Patch>"region patch"</option>
                </select>
            </label>
            " "
            <label class="advanced">
                "Seed "
                <input
                    type="number"
                    min="0"
                    data-testid="repair-seed"
                    prop:value=move || r.seed.get().to_string()
                    on:change=move |ev| {
                        if let Ok(s) = event_target_value(&ev).parse::<u64>() {
                            r.seed.set(s);
                        }
                    }
                />
            </label>
            <p class="hint">{move || method_help(r.method.get())}</p>
            <SettingsPanel/>
            <p>
                <button class="primary" data-testid="repair-run" on:click=move |_| start_repair(state, next_slot()) disabled=move || r.repair.get().running>
                    "Repair"
                </button>
                " "
                <button data-testid="repair-cancel" on:click=move |_| cancel_repair(state) disabled=move || !r.repair.get().running>
                    "Cancel"
                </button>
                " "
                <progress data-testid="repair-progress" max="1" value=move || r.repair.get().fraction.to_string()></progress>
                " "
                <span data-testid="repair-stage">{move || r.repair.get().stage}</span>
            </p>
            <LiveChart/>
            <MetricsTable/>
            <ResponsibilityChart/>
            <Show when=move || r.repair.get().result.is_some()>
                <p>
                    // Shown unless the result is already on screen (after "repair again", the
                    // new result replaces the old one; the original stays the way back).
                    <Show when=move || {
                        let on_screen = state.network.get().map(|n| n.slot);
                        r.repair.get().result.is_some_and(|(n, _)| Some(n.slot) != on_screen)
                    }>
                        <button data-testid="use-repaired" on:click=move |_| {
                            if let Some((repaired, _)) = r.repair.get_untracked().result {
                                if state.original.get_untracked().is_none() {
                                    state.original.set(state.network.get_untracked());
                                }
                                state.network.set(Some(repaired));
                            }
                        }>"Show the repaired network"</button>
                    </Show>
                </p>
                <p>
                    "Export the repaired network: "
                    <span data-testid="export-network">
                        <button on:click=move |_| export("onnx")>"ONNX"</button>
                        <button on:click=move |_| export("nnet")>".nnet"</button>
                        <button on:click=move |_| export("json")>"JSON"</button>
                    </span>
                    " "
                    <span data-testid="export-report">
                        <button on:click=move |_| export_report(false)>"Report (JSON)"</button>
                        <button on:click=move |_| export_report(true)>"Report (Markdown)"</button>
                    </span>
                </p>
            </Show>
            <Show when=move || state.original.get().is_some()>
                <p>
                    <button data-testid="use-original" on:click=move |_| {
                        if let Some(original) = state.original.get_untracked() {
                            state.original.set(None);
                            state.network.set(Some(original));
                        }
                    }>"Back to the original network"</button>
                </p>
            </Show>
        </section>
    }
}
