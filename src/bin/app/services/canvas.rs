//! Painting on the page's canvases: square RGBA pixels (the decision maps, the comparison's
//! layers, the gallery's images) put on a canvas found by its test id.

use leptos::prelude::*;
use wasm_bindgen::{Clamped, JsCast};

/// Puts square RGBA pixels on the canvas with this test id, if it is on the page.
pub fn put_pixels(testid: &str, rgba: &[u8], side: u32) {
    let Some(canvas) = document()
        .query_selector(&format!("[data-testid={testid}]"))
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok())
    else {
        return;
    };
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    if let Ok(image) =
        web_sys::ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), side, side)
    {
        let _ = ctx.put_image_data(&image, 0.0, 0.0);
    }
}
