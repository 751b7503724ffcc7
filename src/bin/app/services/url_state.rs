//! What outlives the page: the address bar (demo, view, seed and the user's properties, so
//! that a link opens the same picture) and the browser's local storage.

use crate::state::{AppState, View};
use leptos::prelude::*;
use std::cell::RefCell;

/// Where the last uploaded network is kept across reloads.
const STORED_NETWORK: &str = "birdnn.uploaded-network";

/// The last uploaded network (file name and bytes), kept in the browser's local storage so
/// that a reload shows it again. Storage may be full or disabled: then nothing is kept.
pub fn store_upload(file_name: &str, bytes: &[u8]) {
    let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) else {
        return;
    };
    let text = serde_json::json!({ "file_name": file_name, "bytes": bytes }).to_string();
    if storage.set_item(STORED_NETWORK, &text).is_err() {
        let _ = storage.remove_item(STORED_NETWORK);
    }
}

/// The network [`store_upload`] kept, if any.
pub fn stored_upload() -> Option<(String, Vec<u8>)> {
    let storage = web_sys::window()?.local_storage().ok()??;
    let text = storage.get_item(STORED_NETWORK).ok()??;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let name = value["file_name"].as_str()?.to_string();
    let bytes: Vec<u8> = serde_json::from_value(value["bytes"].clone()).ok()?;
    Some((name, bytes))
}

/// A parameter of the page's address.
pub fn url_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get(name)
}

/// The demo the address asks for.
pub fn demo_from_url() -> Option<String> {
    url_param("demo")
}

/// The view in the URL (`x`, `y`, `at`: every input's value in network units), if any.
fn view_from_url() -> Option<View> {
    let x_dim = url_param("x")?.parse().ok()?;
    let y_dim = url_param("y")?.parse().ok()?;
    let fixed = url_param("at")?
        .split(',')
        .map(|v| v.parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect::<Option<Vec<f64>>>()?;
    Some(View {
        x_dim,
        y_dim,
        fixed,
    })
}

/// Keeps the address bar in step with the demo, the view and the seed, so a shared link
/// opens the same picture (`history.replaceState`: no new history entry per slider move).
pub fn write_url(state: AppState) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let mut query = Vec::new();
    if let Some(demo) = state.network.get_untracked().and_then(|n| n.demo) {
        query.push(format!("demo={demo}"));
    }
    if let Some(view) = state.view.get_untracked() {
        let at: Vec<String> = view.fixed.iter().map(|v| format!("{v:.6}")).collect();
        query.push(format!(
            "x={}&y={}&at={}",
            view.x_dim,
            view.y_dim,
            at.join(",")
        ));
    }
    query.push(format!(
        "seed={}",
        state.repair_signals.seed.get_untracked()
    ));
    if url_param("classroom").is_some_and(|v| v == "1") {
        query.push("classroom=1".into());
    }
    // Drawn and imported properties travel with the link (VNN-LIB text, a few hundred
    // characters each); demo properties come back with the demo.
    let own = own_properties(state);
    for (name, text) in &own {
        let value: String = js_sys::encode_uri_component(&format!("{name}\n{text}")).into();
        query.push(format!("prop={value}"));
    }
    // Until the first network has taken the address's properties, keep what storage has.
    if URL_PROPERTIES.with(|p| p.borrow().is_none()) {
        store_properties(&own);
    }
    if let Ok(history) = window.history() {
        let url = format!("?{}", query.join("&"));
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

thread_local! {
    /// The view asked for by the URL, applied to the first network that fits it.
    pub static URL_VIEW: RefCell<Option<View>> = RefCell::new(view_from_url());
    /// The user's properties asked for by the URL (or kept in storage), loaded with the first
    /// network.
    pub static URL_PROPERTIES: RefCell<Option<Vec<(String, String)>>> =
        RefCell::new(Some(properties_from_url_or_storage()));
}

/// Where the user's own properties are kept across reloads.
const STORED_PROPERTIES: &str = "birdnn.properties";

/// The user's (drawn or imported) properties as (file name, VNN-LIB text).
fn own_properties(state: AppState) -> Vec<(String, String)> {
    state
        .properties
        .get_untracked()
        .iter()
        .filter(|p| !p.from_demo)
        .map(|p| {
            (
                p.summary.file_name.clone(),
                String::from_utf8_lossy(&p.bytes).into_owned(),
            )
        })
        .collect()
}

/// A property in the address: its file name, a newline, its VNN-LIB text.
fn properties_from_url_or_storage() -> Vec<(String, String)> {
    let from_url: Vec<(String, String)> = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok())
        .map(|params| {
            params
                .get_all("prop")
                .iter()
                .filter_map(|v| v.as_string())
                .filter_map(|v| {
                    let (name, text) = v.split_once('\n')?;
                    Some((name.to_string(), text.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    if !from_url.is_empty() || demo_from_url().is_some() {
        return from_url;
    }
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(STORED_PROPERTIES).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Keeps the user's properties in local storage (nothing when storage is full or off).
fn store_properties(own: &[(String, String)]) {
    let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) else {
        return;
    };
    let text = serde_json::to_string(own).unwrap_or_default();
    if storage.set_item(STORED_PROPERTIES, &text).is_err() {
        let _ = storage.remove_item(STORED_PROPERTIES);
    }
}
