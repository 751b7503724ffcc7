//! The repair's results in words: the measures table (with the verdicts' badges) and the
//! Markdown report.

use crate::state::{badge_text, AppState};
use birdnn::measures::Rate;
use birdnn::repair::RepairReport;
use leptos::prelude::*;

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
    // What the last two methods did, and whether their network became the result.
    let how = match (&report.region_patch, &report.certified) {
        (Some(p), _) if p.used => format!(
            "region patch: {} box(es), {} neurons added ({} in the whole domain moved the output bias); {} of {} sampled decisions in the boxes changed",
            p.boxes, p.neurons_added, p.whole_domain, p.changed, p.kept
        ),
        (_, Some(c)) if c.kept => format!(
            "certified last layer: {} program(s) on {} cells{}",
            c.rounds,
            c.cells,
            if c.certified { "" } else { ", not certified" }
        ),
        _ => format!("{}", report.method),
    };
    vec![
        ("what changed the network", how),
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
pub(super) fn report_markdown(network: &str, report: &RepairReport) -> String {
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

/// The measures of the repaired network, on data the repair never saw.
#[component]
pub(super) fn MetricsTable() -> impl IntoView {
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
