//! The core and the app/worker protocol in a real browser (headless Chromium, through
//! wasm-bindgen-test; `./dev test` runs it): messages survive encoding there, and the
//! worker's logic answers exactly as the plain network does.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use birdnn::protocol::js::{from_js, to_js};
use birdnn::protocol::{Request, Response};
use birdnn::slice::SliceView;
use birdnn::worker::WorkerCore;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const DEMO: &[u8] = include_bytes!("../www/demos/braking.json");
const PROPERTY: &[u8] = include_bytes!("../www/demos/braking-wet-and-close-must-brake-hard.vnnlib");

/// A message through the JavaScript value the other side receives: encoded, cloned as
/// `postMessage` clones it, decoded.
fn across<T: serde::Serialize + serde::de::DeserializeOwned>(message: &T) -> T {
    let (value, _transfer) = to_js(message).unwrap();
    let global = js_sys::global();
    let clone: js_sys::Function = js_sys::Reflect::get(&global, &"structuredClone".into())
        .unwrap()
        .unchecked_into();
    let cloned = clone.call1(&global, &value).expect("a structured clone");
    from_js(cloned).unwrap()
}

/// What the worker does with a message: decode the value, handle it, encode the answers.
fn exchange(core: &mut WorkerCore, request: Request) -> Vec<Response> {
    core.handle(across(&request)).iter().map(across).collect()
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
            let Response::MapRows { rows, .. } = across(&r) else {
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
fn bytes_cross_as_transferred_typed_arrays_and_seeds_keep_all_64_bits() {
    let rows = Response::MapRows {
        job: 5,
        rows: birdnn::slice::MapRows {
            resolution: 2,
            first_row: 0,
            classes: vec![0, 1, 2, 3],
            confidence: vec![255, 128, 0, 7],
        },
        resolution_done: true,
        job_done: true,
        compute_ms: 0.5,
    };
    let (value, transfer) = to_js(&rows).unwrap();
    let field = |path: &[&str]| {
        path.iter().fold(value.clone(), |v, key| {
            js_sys::Reflect::get(&v, &JsValue::from_str(key)).unwrap()
        })
    };
    assert!(field(&["rows", "classes"]).is_instance_of::<js_sys::Uint8Array>());
    assert!(field(&["rows", "confidence"]).is_instance_of::<js_sys::Uint8Array>());
    assert_eq!(
        transfer.length(),
        2,
        "both byte fields' buffers are transferred"
    );
    assert_eq!(from_js::<Response>(value).unwrap(), rows);
    let load = Request::LoadNetwork {
        job: u64::MAX,
        network: 1,
        file_name: "n.json".into(),
        bytes: DEMO.to_vec(),
    };
    assert_eq!(to_js(&load).unwrap().1.length(), 1);
    assert_eq!(across(&load), load);
    let check = Request::Check {
        job: 9,
        network: 1,
        properties: vec![2],
        samples: 10,
        seed: (1 << 60) + 1,
    };
    assert_eq!(across(&check), check, "a seed past 2^53 is not rounded");
}

/// A probe request whose second input is `value`, built as a JavaScript object (JSON has
/// no NaN or infinity).
fn probe_with(value: f64) -> JsValue {
    let probe =
        js_sys::JSON::parse(r#"{"type":"probe","job":1,"network":0,"input":[0.5,0]}"#).unwrap();
    let input = js_sys::Reflect::get(&probe, &JsValue::from_str("input")).unwrap();
    js_sys::Reflect::set(&input, &JsValue::from_f64(1.0), &JsValue::from_f64(value)).unwrap();
    probe
}

#[wasm_bindgen_test]
fn malformed_messages_and_files_are_errors_in_the_browser_too() {
    let hostile = [
        JsValue::from_str("{\"type\":\"decision_map\"}"),
        JsValue::NULL,
        JsValue::from_f64(f64::NAN),
        js_sys::JSON::parse(r#"{"type":"decision_map"}"#).unwrap(),
        js_sys::JSON::parse(r#"{"type":"probe","job":-1,"network":0,"input":[]}"#).unwrap(),
        js_sys::JSON::parse(
            r#"{"type":"load_network","job":1,"network":1,"file_name":"a","bytes":12}"#,
        )
        .unwrap(),
        js_sys::JSON::parse(r#"{"type":"no_such_request","job":1}"#).unwrap(),
        js_sys::Array::of1(&JsValue::from_f64(1.0)).into(),
        // Numbers an f32 cannot hold: they would reach the network as infinity or NaN.
        js_sys::JSON::parse(r#"{"type":"probe","job":1,"network":0,"input":[0.5,1e39]}"#).unwrap(),
        probe_with(f64::NAN),
        probe_with(f64::NEG_INFINITY),
    ];
    for value in hostile {
        let answer = from_js::<Request>(value.clone());
        assert!(answer.is_err(), "{value:?} decoded to {answer:?}");
        assert!(answer.unwrap_err().starts_with("malformed message"));
    }
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
