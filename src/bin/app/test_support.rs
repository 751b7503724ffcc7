//! Helpers of the component tests: mounting a view in the page, letting effects run, and a
//! network to show. Test-only, shared by the tests of `ui` and `page`.

use crate::state::{AppState, LoadedNetwork};
use birdnn::network::NetworkMeta;
use birdnn::protocol::{LayerSummary, NetworkSummary};
use leptos::prelude::*;
use std::sync::Arc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Lets the reactive system run its pending effects.
pub async fn settle() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 10);
    });
    let _ = JsFuture::from(promise).await;
}

/// An ACAS Xu network's summary (five inputs in physical units, argmin), with no bytes.
pub fn acas_like() -> LoadedNetwork {
    let mut layers = vec![LayerSummary {
        inputs: 5,
        outputs: 50,
        activation: "relu".into(),
        parameters: 300,
    }];
    layers.push(LayerSummary {
        inputs: 50,
        outputs: 5,
        activation: "identity".into(),
        parameters: 255,
    });
    let mut meta = NetworkMeta::acas_xu();
    meta.name = "N1,9".into();
    LoadedNetwork {
        slot: 1,
        summary: NetworkSummary {
            file_name: "n19.onnx".into(),
            meta,
            layers,
            parameters: 555,
            margin_scale: 0.01,
        },
        bytes: Arc::new(Vec::new()),
        bytes_name: "n19.onnx".into(),
        demo: None,
    }
}

/// Mounts a view with `state` in context into a fresh element of the page.
pub fn mount<N: IntoView + 'static>(
    state: AppState,
    view: impl FnOnce() -> N + 'static,
) -> web_sys::HtmlElement {
    let div: web_sys::HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&div).unwrap();
    let handle = leptos::mount::mount_to(div.clone(), move || {
        provide_context(state);
        view()
    });
    handle.forget();
    div
}

/// The element's text.
pub fn text(el: &web_sys::HtmlElement) -> String {
    el.text_content().unwrap_or_default()
}
