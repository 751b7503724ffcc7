//! The birdnn browser app: a Leptos page that loads networks and draws their decisions on
//! 2-D slices. Every computation runs in the worker (`src/bin/worker`); this binary only
//! shows things and sends requests.
//!
//! Built by trunk from `index.html`; natively it is an empty program (its pure parts are
//! tested natively all the same).

// Natively only the tests use the pure modules.
#![cfg_attr(
    not(all(target_arch = "wasm32", target_os = "unknown")),
    allow(dead_code)
)]

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod bridge;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod compare;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod explain;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod gallery;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod guide;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod page;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod repair_panel;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod services;
mod state;
#[cfg(all(test, target_arch = "wasm32", target_os = "unknown"))]
mod test_support;
mod ticks;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod ui;

// The browser tests of this binary (`./dev test`) run in headless Chromium, not Node.
#[cfg(all(test, target_arch = "wasm32", target_os = "unknown"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn main() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("birdnn app: {info}").into());
    }));
    leptos::mount::mount_to_body(page::App);
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn main() {
    eprintln!("the app runs in a browser: `./dev run` builds and serves it (see README)");
}
