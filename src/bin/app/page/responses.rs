//! What the worker bridge reports: answers to the page's jobs, crashes and restarts.

use crate::bridge::{self, BridgeEvent};
use crate::repair_panel;
use crate::services::loading::{load_property, take_pending, Pending, PENDING};
use crate::services::url_state::{store_upload, URL_PROPERTIES, URL_VIEW};
use crate::state::{AppState, LoadedNetwork, LoadedProperty, MapStatus, View, MAP_SIDE};
use crate::ui::map_jobs::{
    now_ms, schedule_paint, COARSE_LATENCY_MS, COARSE_MS, MAP_JOB, PIXELS, PROBE_JOB, REQUESTED_AT,
    STATUS_AFTER_PAINT,
};
use birdnn::protocol::{Request, Response};
use leptos::prelude::*;
use std::cell::Cell;
use std::sync::Arc;

/// Everything the worker bridge reports arrives here.
pub(super) fn handle_event(state: AppState, event: BridgeEvent) {
    match event {
        BridgeEvent::Response(response) => handle_response(state, response),
        BridgeEvent::Crashed(message) => {
            PENDING.with(|p| p.borrow_mut().clear());
            MAP_JOB.with(|m| m.set(None));
            state.loading.set(Vec::new());
            state.worker_status.set("restarting".into());
            state.error.set(Some(format!(
                "The worker crashed ({}). It has been restarted; your network, properties and \
                 view are kept.",
                message.lines().last().unwrap_or("no message")
            )));
        }
        BridgeEvent::Restarted => {
            state.worker_status.set("ready".into());
            restore_worker(state);
        }
        BridgeEvent::Failed(message) => {
            state.worker_status.set("stopped".into());
            state.error.set(Some(message));
        }
    }
}

/// A restarted worker holds nothing: give it the network and properties on screen again,
/// in the same slots, and ask for the map again.
fn restore_worker(state: AppState) {
    if let Some(net) = state.network.get_untracked() {
        let job = bridge::next_job();
        bridge::send(&Request::LoadNetwork {
            job,
            network: net.slot,
            file_name: net.bytes_name.clone(),
            bytes: net.bytes.to_vec(),
        });
        // The rule on screen may differ from the file's own.
        bridge::send(&Request::SetDecisionRule {
            job: bridge::next_job(),
            network: net.slot,
            rule: net.summary.meta.decision,
        });
        PENDING.with(|p| {
            p.borrow_mut().insert(
                job,
                Pending::Network {
                    slot: net.slot,
                    file_name: net.bytes_name.clone(),
                    bytes: net.bytes.clone(),
                    demo: net.demo.clone(),
                    demo_properties: None,
                    restore: true,
                },
            )
        });
    }
    for p in state.properties.get_untracked() {
        let job = bridge::next_job();
        bridge::send(&Request::LoadProperty {
            job,
            property: p.slot,
            file_name: p.summary.file_name.clone(),
            bytes: p.bytes.to_vec(),
        });
        PENDING.with(|pending| {
            pending.borrow_mut().insert(
                job,
                Pending::Property {
                    slot: p.slot,
                    bytes: p.bytes.clone(),
                    restore: true,
                    from_demo: p.from_demo,
                },
            )
        });
    }
    crate::gallery::restore(state);
    state.map_epoch.update(|e| *e += 1);
}

/// Properties that do not fit the network just loaded (a demo's 2-input boxes under a
/// 5-input upload) leave the list, and a notice names them: kept, they would only be red
/// lines that no check, proof or repair can use.
fn set_aside_unfitting_properties(state: AppState) {
    let Some(net) = state.network.get_untracked() else {
        return;
    };
    let (keep, drop): (Vec<LoadedProperty>, Vec<LoadedProperty>) = state
        .properties
        .get_untracked()
        .into_iter()
        .partition(|p| p.summary.fit(&net.summary).is_ok());
    if drop.is_empty() {
        return;
    }
    for p in &drop {
        bridge::send(&Request::ForgetProperty { property: p.slot });
    }
    let names: Vec<String> = drop.iter().map(|p| p.summary.name.clone()).collect();
    state.properties.set(keep);
    state.notice.set(Some(format!(
        "{} {} not fit {} and {} set aside: {}.",
        names.len(),
        if names.len() == 1 {
            "property does"
        } else {
            "properties do"
        },
        net.summary.meta.name,
        if names.len() == 1 { "was" } else { "were" },
        names.join(", ")
    )));
}

fn handle_response(state: AppState, response: Response) {
    state.worker_status.set("ready".into());
    let Some(response) = crate::gallery::handle(state, response) else {
        return;
    };
    let Some(response) = repair_panel::handle(state, response) else {
        return;
    };
    match response {
        Response::MapRows {
            job,
            rows,
            resolution_done,
            job_done,
            compute_ms,
        } => {
            if MAP_JOB.with(Cell::get) != Some(job) {
                crate::compare::handle(state, job, &rows, job_done);
                return;
            }
            PIXELS.with(|p| p.borrow_mut().paint(&rows));
            let latency = now_ms() - REQUESTED_AT.with(Cell::get);
            if resolution_done && !job_done {
                COARSE_MS.with(|c| c.set(compute_ms));
                COARSE_LATENCY_MS.with(|c| c.set(latency));
                state.map_status.set(MapStatus::Computing(MAP_SIDE));
            }
            if job_done {
                MAP_JOB.with(|m| m.set(None));
                STATUS_AFTER_PAINT.with(|s| {
                    *s.borrow_mut() = Some(MapStatus::Ready {
                        side: rows.resolution,
                        coarse_ms: COARSE_MS.with(Cell::get),
                        fine_ms: compute_ms,
                        coarse_latency_ms: COARSE_LATENCY_MS.with(Cell::get),
                        fine_latency_ms: latency,
                    })
                });
            }
            schedule_paint(state);
        }
        Response::Rechecked { job, violating } => {
            crate::compare::handle_recheck(state, job, violating);
        }
        Response::Probed {
            job,
            outputs,
            decision,
        } => {
            if PROBE_JOB.with(Cell::get) == Some(job) {
                state.hover.update(|h| {
                    if let Some(h) = h {
                        h.outputs = Some(outputs);
                        h.decision = Some(decision);
                    }
                });
            }
        }
        Response::NetworkLoaded {
            job,
            network,
            summary,
        } => {
            let Some(Pending::Network {
                slot,
                file_name,
                bytes,
                demo,
                demo_properties,
                restore,
            }) = take_pending(job)
            else {
                return;
            };
            state.loading.update(|l| l.retain(|n| *n != file_name));
            if restore {
                return;
            }
            debug_assert_eq!(slot, network);
            let old = state.network.get_untracked();
            if let Some(old) = &old {
                bridge::send(&Request::ForgetNetwork { network: old.slot });
            }
            // Everything tied to the old network goes: its repair, its original.
            let repaired = state.repair_signals.repair.get_untracked().result;
            for slot in [
                state.original.get_untracked().map(|o| o.slot),
                repaired.map(|r| r.0.slot),
            ]
            .into_iter()
            .flatten()
            {
                bridge::send(&Request::ForgetNetwork { network: slot });
            }
            repair_panel::reset(state);
            state.original.set(None);
            let n = summary.meta.inputs.len();
            let from_url = URL_VIEW
                .with(|v| v.borrow_mut().take())
                .filter(|v| v.fixed.len() == n && v.x_dim < n && v.y_dim < n && v.x_dim != v.y_dim);
            state.view.set(Some(
                from_url.unwrap_or_else(|| View::centred(&summary.meta.inputs)),
            ));
            state.hover.set(None);
            if demo.is_none() {
                store_upload(&file_name, &bytes);
            }
            let gallery = demo.as_ref().and_then(|id| {
                state
                    .demos
                    .get_untracked()
                    .into_iter()
                    .find(|d| &d.id == id)
                    .and_then(|d| d.gallery)
            });
            state.network.set(Some(LoadedNetwork {
                slot,
                summary,
                bytes,
                bytes_name: file_name,
                demo,
            }));
            crate::gallery::close(state);
            if let Some(file) = gallery {
                crate::gallery::open(state, file, slot);
            }
            if let Some(props) = demo_properties {
                for p in state.properties.get_untracked() {
                    bridge::send(&Request::ForgetProperty { property: p.slot });
                }
                state.properties.set(Vec::new());
                for (name, bytes) in props {
                    load_property(state, name, bytes, true);
                }
            } else {
                set_aside_unfitting_properties(state);
            }
            // The user's own properties from the address (or, without one, from storage)
            // join the first network's.
            for (name, text) in URL_PROPERTIES
                .with(|p| p.borrow_mut().take())
                .unwrap_or_default()
            {
                load_property(state, name, Arc::new(text.into_bytes()), false);
            }
        }
        Response::PropertyLoaded {
            job,
            property,
            summary,
        } => {
            let Some(Pending::Property {
                slot,
                bytes,
                restore,
                from_demo,
                ..
            }) = take_pending(job)
            else {
                return;
            };
            debug_assert_eq!(slot, property);
            if !restore {
                state.properties.update(|list| {
                    list.push(LoadedProperty {
                        slot,
                        summary,
                        bytes,
                        from_demo,
                    })
                });
            }
        }
        Response::DecisionRuleSet { job, summary, .. } => {
            if take_pending(job).is_some() {
                state.network.update(|n| {
                    if let Some(n) = n {
                        n.summary = summary;
                    }
                });
            }
        }
        Response::Failed { job, message } => {
            if MAP_JOB.with(Cell::get) == Some(job) {
                MAP_JOB.with(|m| m.set(None));
                state.map_status.set(MapStatus::Failed(message.clone()));
                state
                    .error
                    .set(Some(format!("The map could not be drawn: {message}")));
                return;
            }
            match take_pending(job) {
                Some(Pending::Network { file_name, .. }) => {
                    state.loading.update(|l| l.retain(|n| *n != file_name));
                    let kept = state
                        .network
                        .get_untracked()
                        .map(|n| format!(" {} is still loaded.", n.summary.meta.name))
                        .unwrap_or_default();
                    state.error.set(Some(format!(
                        "Could not load the network: {message}.{kept}"
                    )));
                }
                Some(Pending::Property { .. }) => {
                    state
                        .error
                        .set(Some(format!("Could not load the property: {message}")));
                }
                Some(Pending::Rule) => {
                    state.error.set(Some(message));
                }
                None => {}
            }
        }
        // Handled by the repair panel, or not answers to anything the page asked.
        Response::Ready { .. }
        | Response::Panicked { .. }
        | Response::CheckProgress { .. }
        | Response::VerifyProgress { .. }
        | Response::RepairProgress { .. }
        | Response::Repaired { .. }
        | Response::Exported { .. } => {}
    }
}
