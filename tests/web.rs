//! The core and the app/worker protocol in a real browser (headless Chromium, through
//! wasm-bindgen-test; `./dev test` runs it): messages survive encoding there, and the
//! worker's logic answers exactly as the plain network does.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use birdnn::protocol::{decode, encode, Request, Response};
use birdnn::slice::SliceView;
use birdnn::worker::WorkerCore;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const DEMO: &[u8] = include_bytes!("../www/demos/braking.json");
const PROPERTY: &[u8] = include_bytes!("../www/demos/braking-wet-and-close-must-brake-hard.vnnlib");

/// What the worker does with a message: decode the text, handle it, encode the answers.
fn exchange(core: &mut WorkerCore, request: Request) -> Vec<Response> {
    let request: Request = decode(&encode(&request)).unwrap();
    core.handle(request)
        .iter()
        .map(|r| decode(&encode(r)).unwrap())
        .collect()
}

#[wasm_bindgen_test]
fn the_worker_core_loads_maps_and_probes_in_the_browser() {
    let mut core = WorkerCore::new();
    let answer = exchange(
        &mut core,
        Request::LoadNetwork {
            job: 1,
            network: 7,
            file_name: "braking.json".into(),
            bytes: DEMO.to_vec(),
        },
    );
    let Some(Response::NetworkLoaded { summary, .. }) = answer.first() else {
        panic!("{answer:?}")
    };
    assert_eq!(summary.meta.inputs[0].unit, "m");
    let answer = exchange(
        &mut core,
        Request::LoadProperty {
            job: 2,
            property: 3,
            file_name: "p.vnnlib".into(),
            bytes: PROPERTY.to_vec(),
        },
    );
    assert!(
        matches!(answer.first(), Some(Response::PropertyLoaded { .. })),
        "{answer:?}"
    );
    let net = core.network(7).unwrap().clone();
    let view = SliceView::centred(&net);
    assert!(exchange(
        &mut core,
        Request::DecisionMap {
            job: 3,
            network: 7,
            view: view.clone(),
            resolutions: vec![32]
        }
    )
    .is_empty());
    let mut classes = Vec::new();
    while !core.is_idle() {
        for r in core.step() {
            let Response::MapRows { rows, .. } = decode(&encode(&r)).unwrap() else {
                panic!()
            };
            classes.extend(rows.classes);
        }
    }
    assert_eq!(classes.len(), 32 * 32);
    for (cell, &class) in classes.iter().enumerate() {
        let x = view.cell_centre(cell as u32 % 32, cell as u32 / 32, 32);
        let y = net.forward_one(&x).unwrap();
        assert_eq!(usize::from(class), net.meta().decision.decide(&y).unwrap());
    }
    let answer = exchange(
        &mut core,
        Request::Probe {
            job: 4,
            network: 7,
            input: vec![0.0, 0.5, -0.5],
        },
    );
    let Some(Response::Probed { outputs, .. }) = answer.first() else {
        panic!("{answer:?}")
    };
    assert_eq!(outputs, &net.forward_one(&[0.0, 0.5, -0.5]).unwrap());
}

#[wasm_bindgen_test]
fn malformed_messages_and_files_are_errors_in_the_browser_too() {
    assert!(decode::<Request>("{\"type\":\"decision_map\"}").is_err());
    let mut core = WorkerCore::new();
    let answer = exchange(
        &mut core,
        Request::LoadNetwork {
            job: 1,
            network: 1,
            file_name: "x.nnet".into(),
            bytes: b"1,2,\nnonsense".to_vec(),
        },
    );
    let Some(Response::Failed { message, .. }) = answer.first() else {
        panic!("{answer:?}")
    };
    assert!(message.contains("x.nnet"), "{message}");
}
