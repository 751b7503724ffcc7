//! The messages as JavaScript values, for `postMessage` between the page and its worker.
//!
//! A structured clone of a plain object costs far less than JSON text of the same message:
//! nothing is printed or parsed, and byte fields (`#[serde(with = "serde_bytes")]`: files,
//! decision-map rows) become `Uint8Array`s whose buffers are transferred to the other side
//! instead of copied. 64-bit integers (job ids, seeds) cross as `BigInt`, so no seed is
//! rounded. Anything that is not a well-formed message decodes to an error, never a panic.

use js_sys::{Array, Object, Uint8Array};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

/// How deep in a message byte fields are looked for: a request's or response's own fields
/// and the fields of the structs it holds (`rows.classes`).
const BYTES_DEPTH: u32 = 2;

/// A message as a JavaScript value, and the buffers to transfer with it.
pub fn to_js<T: Serialize>(message: &T) -> Result<(JsValue, Array), String> {
    let serializer =
        serde_wasm_bindgen::Serializer::new().serialize_large_number_types_as_bigints(true);
    let value = message
        .serialize(&serializer)
        .map_err(|e| format!("a message could not be encoded: {e}"))?;
    let transfer = Array::new();
    collect_buffers(&value, BYTES_DEPTH, &transfer);
    Ok((value, transfer))
}

/// A message from a JavaScript value.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| format!("malformed message: {e}"))
}

/// The buffers of the byte arrays in `value`'s plain-object fields, down to `depth` levels.
/// Only buffers the arrays own whole are taken: the encoder copies bytes out of the wasm
/// memory into fresh buffers, and a view into a larger buffer (the memory itself) must never
/// be transferred away.
fn collect_buffers(value: &JsValue, depth: u32, out: &Array) {
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        let buffer = bytes.buffer();
        if bytes.byte_offset() == 0 && bytes.byte_length() == buffer.byte_length() {
            out.push(&buffer);
        }
        return;
    }
    if depth == 0 || !value.is_object() || Array::is_array(value) {
        return;
    }
    for field in Object::values(value.unchecked_ref()).iter() {
        collect_buffers(&field, depth - 1, out);
    }
}
