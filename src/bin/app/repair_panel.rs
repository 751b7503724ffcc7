//! Checking and repairing in the page: the buttons, the progress of the worker's job, the
//! counterexamples found, and the measures of the repaired network.
//!
//! The worker does the work (see `birdnn::worker`); this module only asks, listens and shows.
//! A cancelled repair leaves the original network untouched: the result would go to a new
//! slot, and the page drops every answer of a cancelled job.

use crate::bridge;
use crate::state::LoadedNetwork;
use crate::ui::AppState;
use birdnn::falsify::Counterexample;
use birdnn::measures::Rate;
use birdnn::protocol::{JobId, Request, Response};
use birdnn::repair::{Method, RepairReport, RepairSettings};
use birdnn::verify::{Verdict, VerifyStatus};
use leptos::prelude::*;
use std::cell::Cell;
use wasm_bindgen::JsCast;

/// Uniform samples per property in a check.
const CHECK_SAMPLES: usize = 10_000;

/// Counterexamples the worker reports per check.
const MAX_MARKED: usize = birdnn::worker::MAX_REPORTED_COUNTEREXAMPLES;

/// What the check has found so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckState {
    /// A check is running.
    pub running: bool,
    /// Uniform samples that are counterexamples.
    pub sampled: Option<Rate>,
    /// Counterexamples found (sampled and by the falsifier).
    pub counterexamples: Vec<Counterexample>,
    /// Falsifier progress: starts done, starts in all.
    pub starts: (usize, usize),
}

/// One point of the live chart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChartPoint {
    /// Validation counterexamples left, as a share.
    pub violations: f64,
    /// Validation decisions kept, as a share.
    pub fidelity: f64,
}

/// Where the repair stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RepairState {
    /// A repair is running.
    pub running: bool,
    /// What it is doing, in words.
    pub stage: String,
    /// Share of the session's iterations done (0..1).
    pub fraction: f64,
    /// Validation figures per step.
    pub chart: Vec<ChartPoint>,
    /// The repaired network and its report, once done.
    pub result: Option<(LoadedNetwork, RepairReport)>,
}

/// Boxes the verifier may examine per property from the page. Natively, the hardest ACAS Xu
/// instance of VNN-COMP 2021 needs 113,073 (N3,3 / p2, 31 s), and the worker runs about 1.5x
/// slower; the limit leaves room for harder (repaired) networks, with progress and Stop on
/// screen (300k boxes took 155 MB natively).
const VERIFY_MAX_BOXES: usize = 400_000;

/// What the verifier has said about the properties, for one network.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProofState {
    /// A verification is running.
    pub running: bool,
    /// The network slot the verdicts are about.
    pub network: Option<u32>,
    /// What it is doing, in words.
    pub stage: String,
    /// Verdicts per property slot.
    pub verdicts: Vec<(u32, Verdict)>,
}

impl ProofState {
    /// The verdict on a property, if it is about `network`.
    pub fn verdict(&self, network: Option<u32>, property: u32) -> Option<&Verdict> {
        if self.network != network || network.is_none() {
            return None;
        }
        self.verdicts
            .iter()
            .find(|(slot, _)| *slot == property)
            .map(|(_, v)| v)
    }
}

/// The page's repair signals (part of [`AppState`]).
#[derive(Clone, Copy)]
pub struct RepairSignals {
    /// The check.
    pub check: RwSignal<CheckState>,
    /// The repair.
    pub repair: RwSignal<RepairState>,
    /// Chosen method.
    pub method: RwSignal<Method>,
    /// Seed of the check and the repair.
    pub seed: RwSignal<u64>,
    /// The verifier's verdicts.
    pub proof: RwSignal<ProofState>,
    /// Every other setting of the repair (method and seed come from their own controls).
    pub settings: RwSignal<RepairSettings>,
}

impl RepairSignals {
    /// Nothing checked or repaired yet; retraining with seed 1.
    pub fn new() -> Self {
        RepairSignals {
            check: RwSignal::new(CheckState::default()),
            repair: RwSignal::new(RepairState::default()),
            method: RwSignal::new(Method::Retrain),
            seed: RwSignal::new(1),
            proof: RwSignal::new(ProofState::default()),
            settings: RwSignal::new(RepairSettings::default()),
        }
    }

    /// Forgets results that belong to a network no longer on screen.
    pub fn reset(&self) {
        cancel_jobs();
        self.check.set(CheckState::default());
        self.repair.set(RepairState::default());
        self.proof.set(ProofState::default());
    }
}

impl Default for RepairSignals {
    fn default() -> Self {
        Self::new()
    }
}

thread_local! {
    static CHECK_JOB: Cell<Option<JobId>> = const { Cell::new(None) };
    static REPAIR_JOB: Cell<Option<(JobId, u32)>> = const { Cell::new(None) };
    static EXPORT_JOB: Cell<Option<JobId>> = const { Cell::new(None) };
    static VERIFY_JOB: Cell<Option<JobId>> = const { Cell::new(None) };
}

fn cancel_jobs() {
    if let Some(job) = CHECK_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job });
    }
    if let Some((job, _)) = REPAIR_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job });
    }
    if let Some(job) = VERIFY_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job });
    }
}

fn property_slots(state: AppState) -> Vec<u32> {
    let net = state.network.get_untracked();
    state
        .properties
        .get_untracked()
        .iter()
        .filter(|p| {
            net.as_ref()
                .is_some_and(|n| p.summary.fit(&n.summary).is_ok())
        })
        .map(|p| p.slot)
        .collect()
}

/// The network on screen and the properties that fit it; `None` (with a message when there
/// is a network but no property) when there is nothing to check or repair.
fn network_and_properties(state: AppState) -> Option<(LoadedNetwork, Vec<u32>)> {
    let net = state.network.get_untracked()?;
    let properties = property_slots(state);
    if properties.is_empty() {
        state.error.set(Some(
            "No property fits this network: load or draw one first.".into(),
        ));
        return None;
    }
    Some((net, properties))
}

fn start_check(state: AppState) {
    let r = state.repair_signals;
    let Some((net, properties)) = network_and_properties(state) else {
        return;
    };
    if let Some(old) = CHECK_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job: old });
    }
    let job = bridge::next_job();
    CHECK_JOB.with(|c| c.set(Some(job)));
    r.check.set(CheckState {
        running: true,
        ..CheckState::default()
    });
    bridge::send(&Request::Check {
        job,
        network: net.slot,
        properties,
        samples: CHECK_SAMPLES,
        seed: r.seed.get_untracked(),
    });
}

/// Verifies the fitting properties on `network` (the one on screen, or a fresh repair).
fn start_verify(state: AppState, network: u32, properties: Vec<u32>) {
    let r = state.repair_signals;
    if let Some(old) = VERIFY_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job: old });
    }
    let job = bridge::next_job();
    VERIFY_JOB.with(|c| c.set(Some(job)));
    r.proof.set(ProofState {
        running: true,
        network: Some(network),
        stage: "starting".into(),
        verdicts: Vec::new(),
    });
    bridge::send(&Request::Verify {
        job,
        network,
        properties,
        max_boxes: VERIFY_MAX_BOXES,
    });
}

fn cancel_verify(state: AppState) {
    if let Some(job) = VERIFY_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job });
    }
    state.repair_signals.proof.update(|p| {
        p.running = false;
        p.stage = "stopped".into();
    });
}

/// Starts a repair of the network on screen against the listed properties.
pub fn start_repair(state: AppState, next_slot: u32) {
    let r = state.repair_signals;
    let Some((net, mut properties)) = network_and_properties(state) else {
        return;
    };
    properties.extend(crate::gallery::kept_balls(state));
    // The previous result goes, unless it is the network being repaired again.
    if let Some((previous, _)) = r.repair.get_untracked().result {
        if previous.slot != net.slot {
            bridge::send(&Request::ForgetNetwork {
                network: previous.slot,
            });
        }
    }
    let job = bridge::next_job();
    REPAIR_JOB.with(|c| c.set(Some((job, next_slot))));
    r.repair.set(RepairState {
        running: true,
        stage: "starting".into(),
        ..RepairState::default()
    });
    bridge::send(&Request::Repair {
        job,
        network: net.slot,
        properties,
        settings: Box::new(RepairSettings {
            method: r.method.get_untracked(),
            seed: r.seed.get_untracked(),
            ..r.settings.get_untracked()
        }),
        result: next_slot,
        keep: crate::gallery::kept_images(state),
    });
}

/// Cancels the running repair; the original network is unchanged.
pub fn cancel_repair(state: AppState) {
    if let Some((job, _)) = REPAIR_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job });
    }
    state.repair_signals.repair.update(|r| {
        r.running = false;
        r.stage = "cancelled: the original network is unchanged".into();
    });
}

/// Handles the answers of checks, repairs and exports; returns the response if it is not
/// one of those (or `None` once handled).
pub fn handle(state: AppState, response: Response) -> Option<Response> {
    let r = state.repair_signals;
    match response {
        Response::CheckProgress {
            job,
            sampled,
            counterexamples,
            starts_used,
            starts_total,
            done,
        } => {
            if CHECK_JOB.with(Cell::get) == Some(job) {
                r.check.update(|c| {
                    c.sampled = Some(sampled);
                    c.counterexamples.extend(counterexamples);
                    c.starts = (starts_used, starts_total);
                    c.running = !done;
                });
                if done {
                    CHECK_JOB.with(|c| c.set(None));
                }
            }
            None
        }
        Response::VerifyProgress {
            job,
            progress,
            verdicts,
        } => {
            if VERIFY_JOB.with(Cell::get) == Some(job) {
                r.proof.update(|p| {
                    p.verdicts.extend(verdicts);
                    p.running = !progress.done;
                    p.stage = if progress.done {
                        "done".into()
                    } else {
                        format!(
                            "property {} of {}: {} ({:.1} % proved, {} boxes)",
                            progress.property + 1,
                            progress.properties,
                            if progress.stage == "falsifier" {
                                "looking for a counterexample"
                            } else {
                                "splitting the region"
                            },
                            100.0 * progress.proved_fraction,
                            progress.boxes
                        )
                    };
                });
                if progress.done {
                    VERIFY_JOB.with(|c| c.set(None));
                }
            }
            None
        }
        Response::RepairProgress {
            job,
            stage,
            progress,
        } => {
            if REPAIR_JOB.with(Cell::get).map(|(j, _)| j) == Some(job) {
                r.repair.update(|rs| {
                    rs.stage = stage;
                    if let Some(p) = progress {
                        rs.fraction = if p.done {
                            1.0
                        } else {
                            p.iteration as f64 / p.max_iterations.max(1) as f64
                        };
                        rs.chart.push(ChartPoint {
                            violations: p.violations.ratio(),
                            fidelity: p.fidelity.ratio(),
                        });
                    }
                });
            }
            None
        }
        Response::Repaired {
            job,
            network,
            summary,
            report,
            json,
        } => {
            if REPAIR_JOB.with(Cell::get).map(|(j, _)| j) == Some(job) {
                REPAIR_JOB.with(|c| c.set(None));
                let loaded = LoadedNetwork {
                    slot: network,
                    summary,
                    bytes: std::sync::Arc::new(json),
                    bytes_name: "repaired.json".into(),
                    demo: None,
                };
                r.repair.update(|rs| {
                    rs.running = false;
                    rs.fraction = 1.0;
                    rs.stage = "done".into();
                    rs.result = Some((loaded, *report));
                });
                // Try to prove the repaired network at once: "proved" says more than any
                // sample count.
                start_verify(state, network, property_slots(state));
            } else {
                bridge::send(&Request::ForgetNetwork { network });
            }
            None
        }
        Response::Exported {
            job,
            file_name,
            bytes,
        } => {
            if EXPORT_JOB.with(Cell::get) == Some(job) {
                download(&file_name, &bytes, "application/octet-stream");
            }
            None
        }
        Response::Failed { job, message } => {
            if CHECK_JOB.with(Cell::get) == Some(job) {
                CHECK_JOB.with(|c| c.set(None));
                r.check.update(|c| c.running = false);
                state
                    .error
                    .set(Some(format!("The check failed: {message}")));
                return None;
            }
            if REPAIR_JOB.with(Cell::get).map(|(j, _)| j) == Some(job) {
                REPAIR_JOB.with(|c| c.set(None));
                r.repair.update(|rs| {
                    rs.running = false;
                    rs.stage = format!("failed: {message}");
                });
                state
                    .error
                    .set(Some(format!("The repair failed: {message}")));
                return None;
            }
            if EXPORT_JOB.with(Cell::get) == Some(job) {
                state
                    .error
                    .set(Some(format!("The export failed: {message}")));
                return None;
            }
            if VERIFY_JOB.with(Cell::get) == Some(job) {
                VERIFY_JOB.with(|c| c.set(None));
                r.proof.update(|p| {
                    p.running = false;
                    p.stage = format!("failed: {message}");
                });
                return None;
            }
            Some(Response::Failed { job, message })
        }
        other => Some(other),
    }
}

/// Offers bytes to the user as a file download.
pub fn download(file_name: &str, bytes: &[u8], mime: &str) {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    let document = document();
    if let Ok(a) = document.create_element("a") {
        let a: web_sys::HtmlAnchorElement = a.unchecked_into();
        a.set_href(&url);
        a.set_download(file_name);
        a.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// A verdict in a few words: "proved", "violated", "PAC (...)", "unknown: 43 % proved".
pub fn badge_text(v: &Verdict, pac: bool) -> String {
    match v.status {
        VerifyStatus::Proved => "proved".into(),
        VerifyStatus::Counterexample => "violated (counterexample found)".into(),
        VerifyStatus::Unknown if pac => format!(
            "PAC certified; {:.1} % of the region proved",
            100.0 * v.proved_fraction
        ),
        VerifyStatus::Unknown => format!(
            "unknown: {:.1} % of the region proved",
            100.0 * v.proved_fraction
        ),
    }
}

/// The rows of the measures table: (what, value).
fn metric_rows(report: &RepairReport) -> Vec<(&'static str, String)> {
    let pac = report
            .pac
            .as_ref()
            .map(|p| {
                format!(
                    "with confidence ≥ {:.2} %, a random input of the region is a counterexample with probability ≤ {} ({} fresh samples, none unsafe)",
                    100.0 * (1.0 - p.delta),
                    p.epsilon,
                    p.samples
                )
            })
            .or(report.pac_failure.clone())
            .unwrap_or_else(|| "— (domain-wise repair gives one)".into());
    vec![
        (
            "held-out counterexamples",
            format!(
                "{} → {}",
                percent(&report.held_out_violations.before),
                percent(&report.held_out_violations.after)
            ),
        ),
        (
            "fresh samples of the regions",
            format!(
                "{} → {}",
                percent(&report.fresh_violations.before),
                percent(&report.fresh_violations.after)
            ),
        ),
        (
            "falsifier after repair",
            format!("{} counterexamples", report.falsifier_counterexamples),
        ),
        (
            "decisions kept, held-out",
            percent(&report.fidelity_held_out),
        ),
        (
            "decisions kept, outside the regions",
            percent(&report.fidelity_outside),
        ),
        (
            "decisions kept, whole domain",
            percent(&report.fidelity_domain),
        ),
        (
            "parameters changed",
            format!(
                "{} of {}",
                report.change.parameters_changed, report.change.parameters
            ),
        ),
        ("time", format!("{:.2} s", report.wall_ms / 1000.0)),
        ("PAC statement", pac),
    ]
}

/// The report as Markdown: method, seed, the measures, and every setting.
fn report_markdown(network: &str, report: &RepairReport) -> String {
    let mut out = format!(
        "# Repair of {network}\n\nMethod: {}, seed {}, {} (birdnn {}).\n\n| measure | value |\n|---|---|\n",
        report.method,
        report.seed,
        if report.finished { "finished" } else { "stopped early" },
        env!("CARGO_PKG_VERSION")
    );
    for (k, v) in metric_rows(report) {
        out.push_str(&format!("| {k} | {} |\n", v.replace('|', "\\|")));
    }
    out.push_str("\n## Settings\n\n```json\n");
    out.push_str(&serde_json::to_string_pretty(&report.settings).unwrap_or_default());
    out.push_str("\n```\n");
    out
}

fn percent(rate: &Rate) -> String {
    format!(
        "{}/{} ({:.3} %)",
        rate.count,
        rate.total,
        100.0 * rate.ratio()
    )
}

fn method_help(method: Method) -> &'static str {
    match method {
        Method::Retrain => "Retrain the last layers so that each counterexample imitates the nearest correct behaviour, keeping the other decisions.",
        Method::Finetune => "Find the neurons that behave most differently on counterexamples and rescale a few of them (particle swarm search); smallest change.",
        Method::Domain => "Repair, then test with fresh samples and the falsifier until nothing is found: ends with a probably-approximately-correct statement.",
        Method::Certified => "Keep the hidden layers and solve for a new last layer under constraints that make every property hold on every cell of its region; ends proved when the verifier confirms it.",
    }
}

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
                <button data-testid="check-run" on:click=move |_| start_check(state) disabled=move || r.check.get().running>
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
                    <option value="retrain" selected=move || r.method.get() == Method::Retrain>"retrain"</option>
                    <option value="finetune" selected=move || r.method.get() == Method::Finetune>"fine-tune"</option>
                    <option value="domain" selected=move || r.method.get() == Method::Domain>"domain-wise (PAC)"</option>
                    <option value="certified" selected=move || r.method.get() == Method::Certified>"certified last layer"</option>
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
                <button data-testid="repair-run" on:click=move |_| start_repair(state, next_slot()) disabled=move || r.repair.get().running>
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

/// One numeric setting: its name, what it does in plain words, its default, and how to
/// read and write it in the settings.
struct NumberSetting {
    label: &'static str,
    help: &'static str,
    get: fn(&RepairSettings) -> f64,
    set: fn(&mut RepairSettings, f64),
    /// Whether the value must be a whole number.
    whole: bool,
}

fn settings_of(method: Method) -> Vec<NumberSetting> {
    let retrain = vec![
        NumberSetting {
            label: "step size",
            help: "How far each training step moves the weights, as a share of their size. Smaller keeps more of the network, but may need more rounds.",
            get: |s| s.retrain.learning_rate,
            set: |s, v| s.retrain.learning_rate = v,
            whole: false,
        },
        NumberSetting {
            label: "layers trained",
            help: "How many layers, counted from the output, are retrained first; one more is added whenever counterexamples remain.",
            get: |s| s.retrain.trainable_layers as f64,
            set: |s, v| s.retrain.trainable_layers = v as usize,
            whole: true,
        },
        NumberSetting {
            label: "falsifier rounds",
            help: "After training, search the result for counterexamples the samples missed and learn from them, this many times at most.",
            get: |s| s.retrain.falsifier_rounds as f64,
            set: |s, v| s.retrain.falsifier_rounds = v as usize,
            whole: true,
        },
    ];
    match method {
        Method::Retrain => retrain,
        Method::Finetune => vec![
            NumberSetting {
                label: "neurons",
                help: "How many of the most responsible neurons are rescaled. Fewer changes less, more can fix more.",
                get: |s| s.finetune.neurons as f64,
                set: |s, v| s.finetune.neurons = v as usize,
                whole: true,
            },
            NumberSetting {
                label: "swarm iterations",
                help: "How long the particle swarm searches for the rescaling at most.",
                get: |s| s.finetune.iterations as f64,
                set: |s, v| s.finetune.iterations = v as usize,
                whole: true,
            },
        ],
        Method::Certified => vec![
            NumberSetting {
                label: "cells at the start",
                help: "How many cells each property box is cut into before the first program; cells the program cannot certify are split.",
                get: |s| s.certified.initial_cells as f64,
                set: |s, v| s.certified.initial_cells = v as usize,
                whole: true,
            },
            NumberSetting {
                label: "programs",
                help: "How many programs are solved at most (each refines the cells and protects the decisions the last one changed).",
                get: |s| s.certified.max_rounds as f64,
                set: |s, v| s.certified.max_rounds = v as usize,
                whole: true,
            },
        ],
        Method::Domain => vec![
            NumberSetting {
                label: "epsilon",
                help: "The statement bounds the chance that a random input of the region is a counterexample by this.",
                get: |s| s.domain.epsilon,
                set: |s, v| s.domain.epsilon = v,
                whole: false,
            },
            NumberSetting {
                label: "delta",
                help: "The chance that the statement itself is wrong; smaller needs more fresh samples.",
                get: |s| s.domain.delta,
                set: |s, v| s.domain.delta = v,
                whole: false,
            },
        ],
    }
}

/// The chosen method's main settings, each with its default and a line of explanation.
#[component]
fn SettingsPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let r = state.repair_signals;
    view! {
        <details class="advanced" data-testid="repair-settings">
            <summary>"Settings"</summary>
            {move || {
                let method = r.method.get();
                settings_of(method)
                    .into_iter()
                    .map(|setting| {
                        let default = (setting.get)(&RepairSettings::default());
                        let set = setting.set;
                        let whole = setting.whole;
                        view! {
                            <div class="setting">
                                <label>
                                    {setting.label} " "
                                    <input
                                        type="number"
                                        step=if whole { "1" } else { "any" }
                                        data-testid=format!("setting-{}", setting.label.replace(' ', "-"))
                                        prop:value=move || (setting.get)(&r.settings.get()).to_string()
                                        on:change=move |ev| {
                                            let text = event_target_value(&ev);
                                            let value = text.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0);
                                            let mut next = r.settings.get_untracked();
                                            match value {
                                                Some(v) => set(&mut next, if whole { v.round() } else { v }),
                                                None => set(&mut next, default),
                                            }
                                            // The worker would refuse a bad value; say so now.
                                            let check = RepairSettings { method, ..next.clone() }.check();
                                            match check {
                                                Ok(()) => r.settings.set(next),
                                                Err(e) => {
                                                    state.error.set(Some(format!("{} not changed: {e}", setting.label)));
                                                    r.settings.update(|_| {});
                                                }
                                            }
                                        }
                                    />
                                </label>
                                <span class="hint">{format!(" (default {default}) {}", setting.help)}</span>
                            </div>
                        }
                    })
                    .collect_view()
            }}
            <button data-testid="settings-reset" on:click=move |_| r.settings.set(RepairSettings::default())>"Back to the defaults"</button>
        </details>
    }
}

/// Validation counterexamples left and decisions kept, per step.
#[component]
fn LiveChart() -> impl IntoView {
    let state = expect_context::<AppState>();
    let r = state.repair_signals;
    let (w, h) = (300.0, 80.0);
    move || {
        let chart = r.repair.get().chart;
        if chart.len() < 2 {
            return ().into_any();
        }
        let n = (chart.len() - 1) as f64;
        let line = |f: fn(&ChartPoint) -> f64| {
            chart
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{:.1},{:.1}", i as f64 / n * w, (1.0 - f(p)) * h))
                .collect::<Vec<_>>()
                .join(" ")
        };
        view! {
            <svg class="live-chart" data-testid="repair-chart" width=w height=h + 14.0 viewBox=format!("0 0 {w} {}", h + 14.0)>
                <rect x="0" y="0" width=w height=h class="chart-frame"/>
                <polyline points=line(|p| p.violations) class="violations"/>
                <polyline points=line(|p| p.fidelity) class="fidelity"/>
                <text x="2" y=h + 12.0 class="chart-label">"— counterexamples left (validation)   — decisions kept"</text>
            </svg>
        }
        .into_any()
    }
}

/// Fine-tuning's fault localisation: every neuron's responsibility (how differently it
/// behaves on counterexamples and on correct inputs), layer by layer, with the rescaled
/// neurons marked and their factors.
#[component]
fn ResponsibilityChart() -> impl IntoView {
    let state = expect_context::<AppState>();
    let r = state.repair_signals;
    move || {
        let Some((_, report)) = r.repair.get().result else {
            return ().into_any();
        };
        let Some(patch) = report.patch else {
            return ().into_any();
        };
        let neurons: usize = patch.responsibilities.iter().map(Vec::len).sum();
        let max = patch
            .responsibilities
            .iter()
            .flatten()
            .copied()
            .fold(0.0f64, f64::max);
        if neurons == 0 || max <= 0.0 {
            return ().into_any();
        }
        let (width, height, gap) = (480.0f64, 90.0f64, 8.0f64);
        let layers = patch.responsibilities.len() as f64;
        let bar = ((width - gap * (layers - 1.0)) / neurons as f64).max(0.5);
        let mut bars = Vec::new();
        let mut labels = Vec::new();
        let mut x = 0.0;
        for (layer, values) in patch.responsibilities.iter().enumerate() {
            let name = if layer + 1 == patch.responsibilities.len() {
                "output".to_string()
            } else {
                format!("hidden {}", layer + 1)
            };
            labels.push(view! { <text x=x y=height + 12.0 class="chart-label">{name}</text> });
            for (neuron, &v) in values.iter().enumerate() {
                let h = (v / max * height).max(0.5);
                let chosen = patch
                    .neurons
                    .iter()
                    .position(|n| n.layer == layer && n.neuron == neuron);
                let title = match chosen {
                    Some(k) => format!(
                        "layer {}, neuron {neuron}: responsibility {v:.3e}, rescaled by {:.3}",
                        layer + 1,
                        1.0 + patch.scaling[k]
                    ),
                    None => format!(
                        "layer {}, neuron {neuron}: responsibility {v:.3e}",
                        layer + 1
                    ),
                };
                bars.push(view! {
                    <rect
                        x=x
                        y=height - h
                        width=bar
                        height=h
                        class=if chosen.is_some() { "bar chosen" } else { "bar" }
                    >
                        <title>{title}</title>
                    </rect>
                });
                x += bar;
            }
            x += gap;
        }
        view! {
            <figure class="responsibilities">
                <svg data-testid="responsibility-chart" width=width height=height + 16.0 viewBox=format!("0 0 {width} {}", height + 16.0)>
                    {bars}
                    {labels}
                </svg>
                <figcaption>
                    {format!(
                        "Responsibility of every neuron (how differently it behaves on counterexamples and correct inputs); the {} rescaled ones are highlighted.",
                        patch.neurons.len()
                    )}
                </figcaption>
            </figure>
        }
        .into_any()
    }
}

/// The measures of the repaired network, on data the repair never saw.
#[component]
fn MetricsTable() -> impl IntoView {
    let state = expect_context::<AppState>();
    let r = state.repair_signals;
    move || {
        let Some((_, report)) = r.repair.get().result else {
            return ().into_any();
        };
        let mut rows: Vec<(String, String)> = metric_rows(&report)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let proof = r.proof.get();
        let result_slot = r.repair.get().result.map(|(n, _)| n.slot);
        if proof.network == result_slot {
            for (slot, v) in &proof.verdicts {
                let name = state
                    .properties
                    .get()
                    .iter()
                    .find(|p| p.slot == *slot)
                    .map(|p| p.summary.name.clone())
                    .unwrap_or_else(|| v.property.clone());
                rows.push((
                    format!("proof of {name}"),
                    badge_text(v, report.pac.is_some()),
                ));
            }
            if proof.running {
                rows.push(("proof".into(), proof.stage.clone()));
            }
        }
        view! {
            <table class="metrics" data-testid="metrics-table">
                <tbody>
                    {rows
                        .into_iter()
                        .map(|(k, v)| view! { <tr><th>{k}</th><td>{v}</td></tr> })
                        .collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    }
}
