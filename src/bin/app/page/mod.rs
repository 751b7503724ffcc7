//! The whole page: its layout, the error banner and the start-up (demos, the address, the
//! network kept from before a reload).
//!
//! The top layer: the root component owns the state ([`AppState`], handed to the panels
//! through context) and mounts every panel; the worker's answers come in through
//! [`responses::handle_event`], which routes them to the panels' handlers and drops answers
//! for jobs the page no longer waits for. Nothing imports this module but `main`.

mod responses;

use crate::bridge;
use crate::repair_panel::RepairPanel;
use crate::services::fetch::fetch_bytes;
use crate::services::loading::{load_demo, load_files, load_network};
use crate::services::url_state::{demo_from_url, stored_upload, url_param, write_url};
use crate::state::{next_slot, AppState};
use crate::ui::map_jobs::request_map;
use crate::ui::{
    DecisionMap, DraftForm, HoverReadout, Legend, NetworkInfo, NetworkPicker, PropertyList,
    SliceControls,
};
use birdnn::demos::DemoEntry;
use leptos::prelude::*;
use responses::handle_event;
use std::sync::Arc;
use wasm_bindgen::prelude::*;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let state = AppState::new();
    provide_context(state);
    bridge::start(move |event| handle_event(state, event));
    expose_crash_hook();

    // Read before anything rewrites the address.
    let wanted = demo_from_url();
    wasm_bindgen_futures::spawn_local(async move {
        let demos = fetch_bytes("demos/index.json")
            .await
            .and_then(|b| serde_json::from_slice::<Vec<DemoEntry>>(&b).map_err(|e| e.to_string()));
        match demos {
            Ok(demos) => {
                let first = demos
                    .iter()
                    .find(|d| Some(&d.id) == wanted.as_ref())
                    .or(demos.first())
                    .cloned();
                state.demos.set(demos);
                // No demo asked for: the network uploaded before the reload, if any.
                match (wanted.is_none(), stored_upload()) {
                    (true, Some((name, bytes))) => {
                        load_network(state, name, Arc::new(bytes), None, None);
                    }
                    _ => {
                        if let Some(first) = first {
                            load_demo(state, first);
                        }
                    }
                }
            }
            Err(e) => state
                .error
                .set(Some(format!("The built-in demos could not be listed: {e}"))),
        }
    });

    if let Some(seed) = url_param("seed").and_then(|s| s.parse().ok()) {
        state.repair_signals.seed.set(seed);
    }
    Effect::new(move |_| {
        state.network.track();
        state.view.track();
        state.properties.track();
        state.repair_signals.seed.track();
        write_url(state);
    });

    Effect::new(move |_| {
        state.map_epoch.track();
        let (Some(net), Some(view)) = (state.network.get(), state.view.get()) else {
            return;
        };
        request_map(state, &net, &view);
    });

    let dragging = RwSignal::new(false);
    let walkthrough = RwSignal::new(None::<usize>);
    // `?classroom=1`: advanced controls (seed, decision rule, file upload) are hidden.
    let classroom = url_param("classroom").is_some_and(|v| v == "1");
    view! {
        <div
            class="app"
            class:classroom=classroom
            class:dragging=move || dragging.get()
            on:dragover=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                dragging.set(false);
                load_files(state, ev.data_transfer().and_then(|d| d.files()));
            }
        >
            <header class="top">
                <h1>"birdnn"</h1>
                <p class="tagline">"Repair a neural network so that it keeps a safety property, and see what changed."</p>
                <NetworkPicker/>
                <button class="quiet tour-button" data-testid="tour-open" on:click=move |_| walkthrough.set(Some(0))>
                    "How does it work?"
                </button>
            </header>
            <crate::guide::Steps/>
            <ErrorBanner/>
            <NoticeBanner/>
            <main class="layout">
                <section class="map-column">
                    <crate::gallery::GalleryPanel/>
                    <SliceControls/>
                    <crate::compare::Compare/>
                    <DecisionMap/>
                    <DraftForm/>
                    <Legend/>
                    <HoverReadout/>
                </section>
                <aside class="side-column">
                    <crate::guide::Walkthrough open=walkthrough/>
                    <RepairPanel next_slot=next_slot/>
                    <crate::explain::Explain/>
                    <NetworkInfo/>
                    <PropertyList/>
                </aside>
            </main>
            <div class="drop-hint">"Drop ONNX, .nnet, JSON networks or VNN-LIB properties to load them"</div>
        </div>
    }
}

fn expose_crash_hook() {
    let hook = Closure::<dyn Fn()>::new(bridge::crash_for_testing);
    if let Some(window) = web_sys::window() {
        let _ = js_sys::Reflect::set(&window, &"birdnnCrashWorker".into(), hook.as_ref());
    }
    hook.forget();
}

/// The last error, until dismissed.
#[component]
fn ErrorBanner() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <Show when=move || state.error.get().is_some()>
            <div class="error-banner" role="alert" data-testid="error-banner">
                <span>{move || state.error.get().unwrap_or_default()}</span>
                <button aria-label="dismiss" on:click=move |_| state.error.set(None)>"×"</button>
            </div>
        </Show>
    }
}

/// What the page did on the user's behalf, until dismissed.
#[component]
fn NoticeBanner() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <Show when=move || state.notice.get().is_some()>
            <div class="notice-banner" role="status" data-testid="notice-banner">
                <span>{move || state.notice.get().unwrap_or_default()}</span>
                <button class="quiet" aria-label="dismiss" on:click=move |_| state.notice.set(None)>"×"</button>
            </div>
        </Show>
    }
}

/// Components mounted in a real page (headless Chromium, through wasm-bindgen-test).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{mount, settle};
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    async fn the_error_banner_appears_and_is_dismissed() {
        let state = AppState::new();
        let el = mount(state, || view! { <ErrorBanner/> });
        assert!(el
            .query_selector("[data-testid=error-banner]")
            .unwrap()
            .is_none());
        state
            .error
            .set(Some("broken.onnx: not an ONNX model".into()));
        settle().await;
        let banner = el
            .query_selector("[data-testid=error-banner]")
            .unwrap()
            .unwrap();
        assert!(banner.text_content().unwrap().contains("broken.onnx"));
        let button: web_sys::HtmlElement = banner
            .query_selector("button")
            .unwrap()
            .unwrap()
            .unchecked_into();
        button.click();
        settle().await;
        assert!(el
            .query_selector("[data-testid=error-banner]")
            .unwrap()
            .is_none());
        assert_eq!(state.error.get_untracked(), None);
    }
}
