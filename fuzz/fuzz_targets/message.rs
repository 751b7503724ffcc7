//! The worker's message decoder on any text, and the worker on what it decodes: an error or
//! an answer, never a panic. A decoded message encodes and decodes to itself.
#![no_main]

use birdnn::protocol::{decode, encode, Request};
use birdnn::worker::WorkerCore;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// A worker holding a small network in slot 0 and a property in slot 1, as the page leaves
/// it after loading a demo.
fn loaded() -> WorkerCore {
    static FILES: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    let (net, property) = FILES.get_or_init(|| {
        let net =
            birdnn::network::Network::random(&[2, 4, 3], birdnn::network::Activation::Relu, 1)
                .expect("a network");
        let net = birdnn::formats::write_network("n.json", &net).expect("written");
        let property = b"(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)\
            (declare-const Y_1 Real)(declare-const Y_2 Real)(assert (>= X_0 0))(assert (<= X_0 1))\
            (assert (>= X_1 0))(assert (<= X_1 1))(assert (>= Y_0 Y_1))"
            .to_vec();
        (net, property)
    });
    let mut core = WorkerCore::new();
    core.handle(Request::LoadNetwork {
        job: 1,
        network: 0,
        file_name: "n.json".into(),
        bytes: net.clone(),
    });
    core.handle(Request::LoadProperty {
        job: 2,
        property: 1,
        file_name: "p.vnnlib".into(),
        bytes: property.clone(),
    });
    core
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(request) = decode::<Request>(text) else {
        return;
    };
    let again: Request = decode(&encode(&request)).expect("an encoded message decodes");
    assert_eq!(encode(&again), encode(&request));
    // Answering must not panic; running the jobs it queues is the other tests' work (a
    // valid repair takes seconds), so only a few steps of it run here.
    let mut core = loaded();
    core.handle(request);
    for _ in 0..3 {
        if core.is_idle() {
            break;
        }
        core.step();
    }
});
