//! The repair's charts: its progress on validation data, and fine-tuning's neuron
//! responsibilities.

use crate::state::{AppState, ChartPoint};
use leptos::prelude::*;

/// Validation counterexamples left and decisions kept, per step: a plot with its axes, the
/// latest values at the lines' ends, and a legend.
#[component]
pub(super) fn LiveChart() -> impl IntoView {
    let state = expect_context::<AppState>();
    let r = state.repair_signals;
    // Plot area and the room around it for the axes, in SVG units (CSS scales the chart to
    // the panel's width).
    let (left, top, w, h, bottom, right) = (44.0, 8.0, 380.0, 140.0, 30.0, 56.0);
    move || {
        let chart = r.repair.get().chart;
        if chart.len() < 2 {
            return ().into_any();
        }
        let n = (chart.len() - 1) as f64;
        let x_of = |i: usize| left + i as f64 / n * w;
        let y_of = |share: f64| top + (1.0 - share.clamp(0.0, 1.0)) * h;
        let line = |f: fn(&ChartPoint) -> f64| {
            chart
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{:.1},{:.1}", x_of(i), y_of(f(p))))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let last = chart[chart.len() - 1];
        let y_ticks = [0.0, 0.5, 1.0]
            .into_iter()
            .map(|t| {
                view! {
                    <line x1=left - 4.0 x2=left + w y1=y_of(t) y2=y_of(t) class="grid"/>
                    <text x=left - 6.0 y=y_of(t) + 4.0 text-anchor="end" class="chart-label">{format!("{:.0} %", 100.0 * t)}</text>
                }
            })
            .collect_view();
        let (total_w, total_h) = (left + w + right, top + h + bottom);
        view! {
            <figure class="live-chart-figure">
                <svg
                    class="live-chart"
                    data-testid="repair-chart"
                    viewBox=format!("0 0 {total_w} {total_h}")
                    role="img"
                    aria-label=format!(
                        "repair progress over {} steps: {:.1} % of validation counterexamples left, {:.1} % of decisions kept",
                        chart.len() - 1,
                        100.0 * last.violations,
                        100.0 * last.fidelity
                    )
                >
                    <rect x=left y=top width=w height=h class="chart-frame"/>
                    {y_ticks}
                    <text x=left y=top + h + 16.0 class="chart-label">"0"</text>
                    <text x=left + w y=top + h + 16.0 text-anchor="end" class="chart-label">{format!("{}", chart.len() - 1)}</text>
                    <text x=left + w / 2.0 y=top + h + 26.0 text-anchor="middle" class="chart-label">"repair step"</text>
                    <polyline points=line(|p| p.violations) class="violations"/>
                    <polyline points=line(|p| p.fidelity) class="fidelity"/>
                    <text x=left + w + 4.0 y=y_of(last.violations) + 4.0 class="chart-value violations-label">{format!("{:.1} %", 100.0 * last.violations)}</text>
                    <text x=left + w + 4.0 y=y_of(last.fidelity) + 4.0 class="chart-value fidelity-label">{format!("{:.1} %", 100.0 * last.fidelity)}</text>
                </svg>
                <figcaption class="chart-legend">
                    <span><span class="legend-line violations"></span>"counterexamples left (validation)"</span>
                    <span><span class="legend-line fidelity"></span>"decisions kept (validation)"</span>
                </figcaption>
            </figure>
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
