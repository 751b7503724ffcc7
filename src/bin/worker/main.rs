//! The browser app's Web Worker: a thin shell that feeds messages to
//! [`birdnn::worker::WorkerCore`] and runs its jobs in slices of a few milliseconds.
//!
//! Between slices it returns to the event loop (through a `MessageChannel`, which, unlike
//! `setTimeout(0)`, is not clamped to 4 ms), so a cancel or a new view is read within one
//! slice. Messages cross as JavaScript values (`birdnn::protocol::js`). A panic posts [`Response::Panicked`] before the wasm instance traps; the app then
//! restarts the worker. It must never run anything on the page's thread, and never send a
//! message before `Ready`.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod web {
    use birdnn::protocol::js::{from_js, to_js};
    use birdnn::protocol::{Request, Response, PROTOCOL_VERSION};
    use birdnn::worker::WorkerCore;
    use std::cell::{Cell, RefCell};
    use wasm_bindgen::prelude::*;
    use web_sys::{DedicatedWorkerGlobalScope, MessageChannel, MessageEvent, MessagePort};

    /// Work done before returning to the event loop: short enough that a cancel is read
    /// quickly, long enough that the message overhead stays small.
    const SLICE_MS: f64 = 12.0;

    thread_local! {
        static CORE: RefCell<WorkerCore> = RefCell::new(WorkerCore::new());
        static TICK: RefCell<Option<MessagePort>> = const { RefCell::new(None) };
        static SCHEDULED: Cell<bool> = const { Cell::new(false) };
    }

    fn scope() -> DedicatedWorkerGlobalScope {
        js_sys::global().unchecked_into()
    }

    fn now_ms() -> f64 {
        scope().performance().map_or(0.0, |p| p.now())
    }

    fn post(response: &Response) {
        let sent = to_js(response).and_then(|(value, transfer)| {
            scope()
                .post_message_with_transfer(&value, &transfer)
                .map_err(|_| "postMessage failed".to_string())
        });
        if let Err(e) = sent {
            web_sys::console::error_1(&format!("birdnn worker: {e}").into());
        }
    }

    /// Asks for a slice of work soon, unless one is already asked for or nothing is queued.
    fn schedule() {
        let idle = CORE.with(|c| c.borrow().is_idle());
        if idle || SCHEDULED.with(Cell::get) {
            return;
        }
        SCHEDULED.with(|s| s.set(true));
        TICK.with(|t| {
            if let Some(port) = t.borrow().as_ref() {
                let _ = port.post_message(&JsValue::NULL);
            }
        });
    }

    fn run_slice() {
        SCHEDULED.with(|s| s.set(false));
        let start = now_ms();
        loop {
            let (out, idle) = CORE.with(|c| {
                let mut core = c.borrow_mut();
                let out = core.step();
                (out, core.is_idle())
            });
            for r in &out {
                post(r);
            }
            if idle || now_ms() - start > SLICE_MS {
                break;
            }
        }
        schedule();
    }

    fn on_request(event: MessageEvent) {
        let request = match from_js::<Request>(event.data()) {
            Ok(r) => r,
            Err(e) => {
                web_sys::console::error_1(&format!("birdnn worker: {e}").into());
                return;
            }
        };
        let out = CORE.with(|c| c.borrow_mut().handle(request));
        for r in &out {
            post(r);
        }
        schedule();
    }

    pub fn start() {
        std::panic::set_hook(Box::new(|info| {
            post(&Response::Panicked {
                message: info.to_string(),
            });
        }));
        CORE.with(|c| c.borrow_mut().set_clock(now_ms));
        let channel = MessageChannel::new().expect("MessageChannel exists in workers");
        let on_tick = Closure::<dyn FnMut(MessageEvent)>::new(|_| run_slice());
        channel
            .port1()
            .set_onmessage(Some(on_tick.as_ref().unchecked_ref()));
        on_tick.forget();
        TICK.with(|t| *t.borrow_mut() = Some(channel.port2()));
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(on_request);
        scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        post(&Response::Ready {
            protocol: PROTOCOL_VERSION,
        });
    }
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn main() {
    web::start();
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn main() {
    eprintln!("the worker runs in a browser: build it with trunk (see README)");
}
