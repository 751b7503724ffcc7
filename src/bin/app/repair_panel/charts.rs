//! The repair's charts: its progress on validation data, and fine-tuning's neuron
//! responsibilities.

use super::ChartPoint;
use crate::ui::AppState;
use leptos::prelude::*;

/// Validation counterexamples left and decisions kept, per step.
#[component]
pub(super) fn LiveChart() -> impl IntoView {
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
pub(super) fn ResponsibilityChart() -> impl IntoView {
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
