//! The page's side of the worker: starts it, holds requests until it says `Ready`, hands
//! answers to the app, and restarts it after a crash.
//!
//! Web objects are not `Send`, so the bridge lives in a thread-local rather than in a
//! reactive signal. It knows nothing of what the messages mean; the app does.

use birdnn::protocol::js::{from_js, to_js};
use birdnn::protocol::{decode, JobId, Request, Response, PROTOCOL_VERSION};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker};

/// What the bridge tells the app.
pub enum BridgeEvent {
    /// An answer from the worker.
    Response(Response),
    /// The worker crashed (a panic or an uncaught error); it is being restarted.
    Crashed(String),
    /// A restarted worker is ready: the app sends it what it held.
    Restarted,
    /// The worker could not start at all.
    Failed(String),
}

type Handler = Rc<dyn Fn(BridgeEvent)>;

struct Bridge {
    worker: Option<Worker>,
    /// Bumped on every (re)start; events of older workers are ignored.
    generation: u32,
    ready: bool,
    ever_ready: bool,
    queue: Vec<Request>,
    next_job: JobId,
    handler: Option<Handler>,
    // Keeps the callbacks of the current worker alive.
    callbacks: Vec<Closure<dyn FnMut(JsValue)>>,
}

thread_local! {
    static BRIDGE: RefCell<Bridge> = RefCell::new(Bridge {
        worker: None,
        generation: 0,
        ready: false,
        ever_ready: false,
        queue: Vec::new(),
        next_job: 1,
        handler: None,
        callbacks: Vec::new(),
    });
}

/// The script trunk writes for the worker binary (`data-loader-shim`).
const WORKER_SCRIPT: &str = "./worker_loader.js";

/// Starts the worker; `handler` receives everything it says.
pub fn start(handler: impl Fn(BridgeEvent) + 'static) {
    BRIDGE.with(|b| b.borrow_mut().handler = Some(Rc::new(handler)));
    spawn();
}

/// A fresh job id.
pub fn next_job() -> JobId {
    BRIDGE.with(|b| {
        let mut b = b.borrow_mut();
        b.next_job += 1;
        b.next_job
    })
}

/// Sends a request now, or as soon as the worker is ready.
pub fn send(request: &Request) {
    BRIDGE.with(|b| {
        let mut b = b.borrow_mut();
        match (&b.worker, b.ready) {
            (Some(worker), true) => post(worker, request),
            _ => b.queue.push(request.clone()),
        }
    });
}

/// Posts a request as a JavaScript value, its byte buffers transferred.
fn post(worker: &Worker, request: &Request) {
    match to_js(request) {
        Ok((value, transfer)) => {
            if let Err(e) = worker.post_message_with_transfer(&value, &transfer) {
                web_sys::console::error_2(&"birdnn: postMessage failed".into(), &e);
            }
        }
        Err(e) => web_sys::console::error_1(&format!("birdnn: {e}").into()),
    }
}

/// Makes the worker panic (the crash-recovery test hook behind `window.birdnnCrashWorker`).
pub fn crash_for_testing() {
    send(&Request::CrashForTesting);
}

fn emit(event: BridgeEvent) {
    let handler = BRIDGE.with(|b| b.borrow().handler.clone());
    if let Some(h) = handler {
        h(event);
    }
}

fn spawn() {
    let generation = BRIDGE.with(|b| {
        let mut b = b.borrow_mut();
        if let Some(old) = b.worker.take() {
            old.terminate();
        }
        b.generation += 1;
        b.ready = false;
        b.queue.clear();
        // The old worker's callbacks may be running right now (a crash is reported from its
        // own message handler), and its error event may still be queued: they must outlive
        // it. Two small closures per restart are leaked.
        for callback in b.callbacks.drain(..) {
            callback.forget();
        }
        b.generation
    });
    let worker = match Worker::new(WORKER_SCRIPT) {
        Ok(w) => w,
        Err(e) => {
            emit(BridgeEvent::Failed(format!(
                "the browser would not start the worker: {}",
                js_text(&e)
            )));
            return;
        }
    };
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let event: MessageEvent = event.unchecked_into();
        on_message(generation, event);
    });
    let on_error = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let event: ErrorEvent = event.unchecked_into();
        event.prevent_default();
        crashed(
            generation,
            format!("uncaught error in the worker: {}", event.message()),
        );
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    BRIDGE.with(|b| {
        let mut b = b.borrow_mut();
        b.worker = Some(worker);
        b.callbacks = vec![on_message, on_error];
    });
}

fn current(generation: u32) -> bool {
    BRIDGE.with(|b| b.borrow().generation == generation)
}

/// A message from the worker. Protocol 2 and older sent JSON text; a string therefore comes
/// from a worker script cached from an older build, and is read as JSON so that its `Ready`
/// can say which protocol it speaks (and the page can ask for a reload instead of waiting).
fn read_response(data: JsValue) -> Result<Response, String> {
    match data.as_string() {
        Some(text) => decode::<Response>(&text),
        None => from_js::<Response>(data),
    }
}

fn on_message(generation: u32, event: MessageEvent) {
    if !current(generation) {
        return;
    }
    let response = match read_response(event.data()) {
        Ok(r) => r,
        Err(e) => {
            web_sys::console::error_1(&format!("birdnn: {e}").into());
            return;
        }
    };
    match response {
        Response::Ready { protocol } if protocol != PROTOCOL_VERSION => {
            emit(BridgeEvent::Failed(format!(
                "the worker speaks protocol {protocol}, the page {PROTOCOL_VERSION}: reload the page"
            )));
        }
        Response::Ready { .. } => {
            let (queued, restarted) = BRIDGE.with(|b| {
                let mut b = b.borrow_mut();
                b.ready = true;
                let restarted = b.ever_ready;
                b.ever_ready = true;
                (std::mem::take(&mut b.queue), restarted)
            });
            if restarted {
                emit(BridgeEvent::Restarted);
            }
            BRIDGE.with(|b| {
                let b = b.borrow();
                if let Some(w) = &b.worker {
                    for request in &queued {
                        post(w, request);
                    }
                }
            });
        }
        Response::Panicked { message } => crashed(generation, message),
        other => emit(BridgeEvent::Response(other)),
    }
}

fn crashed(generation: u32, message: String) {
    if !current(generation) {
        return;
    }
    let ever_ready = BRIDGE.with(|b| b.borrow().ever_ready);
    if !ever_ready {
        emit(BridgeEvent::Failed(format!(
            "the worker could not start: {message}"
        )));
        return;
    }
    emit(BridgeEvent::Crashed(message));
    spawn();
}

fn js_text(value: &JsValue) -> String {
    value
        .as_string()
        .or_else(|| {
            js_sys::JSON::stringify(value)
                .ok()
                .and_then(|s| s.as_string())
        })
        .unwrap_or_else(|| "unknown error".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn an_old_worker_s_json_text_is_read_so_its_protocol_can_be_named() {
        let old = read_response(JsValue::from_str(r#"{"type":"ready","protocol":2}"#));
        assert_eq!(old, Ok(Response::Ready { protocol: 2 }));
        let (current, _) = to_js(&Response::Ready {
            protocol: PROTOCOL_VERSION,
        })
        .unwrap();
        assert_eq!(
            read_response(current),
            Ok(Response::Ready {
                protocol: PROTOCOL_VERSION
            })
        );
        let nonsense = read_response(JsValue::from_str("not a message")).unwrap_err();
        assert!(nonsense.starts_with("malformed message"), "{nonsense}");
    }
}
