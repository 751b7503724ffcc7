//! Choosing what to load: the demo picker and the file inputs.

use crate::services::loading::{load_demo, load_files};
use crate::state::AppState;
use leptos::prelude::*;

/// Demo picker, file upload and the worker's state.
#[component]
pub fn NetworkPicker() -> impl IntoView {
    let state = expect_context::<AppState>();
    let selected = move || {
        state
            .network
            .get()
            .map(|n| n.demo.unwrap_or_else(|| "upload".into()))
            .unwrap_or_default()
    };
    view! {
        <div class="picker">
            <label>
                "Network "
                <select
                    data-testid="network-picker"
                    prop:value=selected
                    on:change=move |ev| {
                        let id = event_target_value(&ev);
                        if let Some(entry) = state.demos.get_untracked().into_iter().find(|d| d.id == id) {
                            load_demo(state, entry);
                        }
                    }
                >
                    <option value="" disabled=true>"choose a demo"</option>
                    <For each=move || state.demos.get() key=|d| d.id.clone() let:demo>
                        <option value=demo.id.clone() title=demo.description.clone()>{demo.title.clone()}</option>
                    </For>
                    <Show when=move || state.network.get().is_some_and(|n| n.demo.is_none())>
                        <option value="upload">
                            {move || state.network.get().map(|n| format!("uploaded: {}", n.summary.file_name)).unwrap_or_default()}
                        </option>
                    </Show>
                </select>
            </label>
            <label class="file-button advanced" title="ONNX, .nnet or JSON networks, VNN-LIB properties; or drop files anywhere on the page">
                "Open files…"
                <FilePicker testid="network-upload" accept=".onnx,.nnet,.json,.vnnlib"/>
            </label>
            <span class="status" data-testid="worker-status">
                {move || {
                    let loading = state.loading.get();
                    if loading.is_empty() {
                        format!("worker: {}", state.worker_status.get())
                    } else {
                        format!("loading {}…", loading.join(", "))
                    }
                }}
            </span>
        </div>
    }
}

/// A file input whose files go through [`load_files`] (properties by their `.vnnlib`
/// extension, networks otherwise); emptied after each choice so that the same file can be
/// chosen again.
#[component]
pub(super) fn FilePicker(testid: &'static str, accept: &'static str) -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <input
            type="file"
            multiple=true
            accept=accept
            data-testid=testid
            on:change=move |ev| {
                let input: web_sys::HtmlInputElement = event_target(&ev);
                load_files(state, input.files());
                input.set_value("");
            }
        />
    }
}
