//! The repair methods in words, and the chosen method's settings.

use crate::state::AppState;
use birdnn::repair::{Method, RepairSettings};
use leptos::prelude::*;

/// What the method does, in a sentence for the page.
pub(super) fn method_help(method: Method) -> &'static str {
    match method {
        Method::Auto => "First the region patch, where the network takes one: a few neurons that shift the outputs only inside each property box. If the verifier cannot prove it, behaviour-imitation retraining takes over. The report names the method used.",
        Method::Retrain => "Retrain the last layers so that each counterexample imitates the nearest correct behaviour, keeping the other decisions.",
        Method::Finetune => "Find the neurons that behave most differently on counterexamples and rescale a few of them (particle swarm search); smallest change.",
        Method::Domain => "Repair, then test with fresh samples and the falsifier until nothing is found: ends with a probably-approximately-correct statement.",
        Method::Certified => "Keep the hidden layers and solve for a new last layer under constraints that make every property hold on every cell of its region; ends proved when the verifier confirms it.",
        Method::Patch => "Add a few neurons that switch on only inside each property box and shift the outputs there: nothing changes outside the boxes, inside only the forbidden decisions; ends proved when the verifier confirms it.",
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
    let band = NumberSetting {
        label: "band",
        help: "How far outside a box (a share of the widest input range) the patch fades out.",
        get: |s| s.patch.band,
        set: |s, v| s.patch.band = v,
        whole: false,
    };
    match method {
        Method::Auto => {
            let mut settings = vec![band];
            settings.extend(retrain);
            settings
        }
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
        Method::Patch => vec![band],
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
pub(super) fn SettingsPanel() -> impl IntoView {
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
