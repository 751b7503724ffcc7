//! Every reader survives mutated and truncated real files: it returns a network, a property,
//! a table or an error, and never panics.

mod common;

use birdnn::formats::{self, csv};
use birdnn::network::{Activation, Network};
use proptest::prelude::*;

/// (file name, bytes) of valid files: the shared benchmark's when present, and files birdnn
/// writes itself (so the test has material without the benchmark).
fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let net = Network::random(&[3, 6, 2], Activation::Tanh, 1).unwrap();
    for ext in ["onnx", "nnet", "json"] {
        let name = format!("own.{ext}");
        files.push((name.clone(), formats::write_network(&name, &net).unwrap()));
    }
    let prop = formats::vnnlib::read(
        "own.vnnlib",
        "(declare-const X_0 Real)(declare-const X_1 Real)(declare-const X_2 Real)\
         (declare-const Y_0 Real)(declare-const Y_1 Real)\
         (assert (or (and (<= X_0 1) (>= X_0 0) (<= X_1 1) (>= X_1 0) (<= X_2 1) (>= X_2 0))\
                     (and (<= X_0 3) (>= X_0 2) (<= X_1 1) (>= X_1 0) (<= X_2 1) (>= X_2 0))))\
         (assert (or (<= Y_0 Y_1) (>= (+ Y_0 (* -2 Y_1)) 0.5)))",
    )
    .unwrap();
    files.push((
        "own.vnnlib".into(),
        formats::vnnlib::write(&prop).into_bytes(),
    ));
    // The same property as a 2.0 query, and one with strict comparisons, != and a scalar.
    files.push((
        "own-2.0.vnnlib".into(),
        formats::vnnlib::write_v2(&prop).into_bytes(),
    ));
    files.push((
        "strict-2.0.vnnlib".into(),
        b"(vnnlib-version <2.0>)\n(declare-network n\n (declare-input X float32 [1, 2])\n           (declare-output Y float32 []))\n(assert (and (> X[0,0] -1.5) (< X[0,0] 1.0)           (>= X[0,1] 0.0) (<= X[0,1] 2.0)))\n(assert (or (!= Y 0.5) (== (- Y (* 2.0 Y)) 3.0)))\n"
            .to_vec(),
    ));
    files.push((
        "hidden-2.0.vnnlib".into(),
        b"(vnnlib-version <2.0>)\n(declare-network n\n (declare-input X float32 [1, 2])\n (declare-hidden H float32 [1,3] \"relu_1\")\n (declare-output Y float32 [1,2]))\n(assert (and (>= X[0,0] -1.5) (<= X[0,0] 1.0) (>= X[0,1] 0.0) (<= X[0,1] 2.0)))\n(assert (or (> H[0,2] 0.5) (and (<= (- H[0,0] H[0,1]) Y[0,1]) (>= Y[0,0] 3.0))))\n"
            .to_vec(),
    ));
    files.push(("own.csv".into(), b"x0,x1,x2\n0.5,1,-2\n3,4e-3,5\n".to_vec()));
    // Quietly: the benchmark's absence is reported by the tests that need it.
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/acasxu");
    let dir = std::env::var_os("BIRDNN_ACASXU_DIR").map_or(dir, Into::into);
    for rel in [
        "onnx/ACASXU_run2a_1_9_batch_2000.onnx",
        "nnet/ACASXU_run2a_1_9_batch_2000.nnet",
        "vnnlib/prop_6.vnnlib",
        "vnnlib/prop_7.vnnlib",
        "reference/inputs.csv",
    ] {
        if let Ok(bytes) = std::fs::read(dir.join(rel)) {
            files.push((rel.rsplit('/').next().unwrap().to_string(), bytes));
        }
    }
    files
}

fn parse_any(name: &str, bytes: &[u8]) {
    if name.ends_with(".vnnlib") {
        let _ = formats::read_property(name, bytes);
        // The solver's path: the query, its property within bounds of the hidden values,
        // and the exact check of an assignment.
        if let Ok(query) = std::str::from_utf8(bytes)
            .map_err(|_| ())
            .and_then(|t| formats::vnnlib::read_query(name, t).map_err(|_| ()))
        {
            let hidden: Vec<Vec<f32>> = query
                .hidden
                .iter()
                .map(|h| vec![0.0; h.tensor.len()])
                .collect();
            let _ = query.property_within(&|_| {
                Some(hidden.iter().map(|h| vec![(-1.0, 1.0); h.len()]).collect())
            });
            let _ = query.is_satisfied_by(formats::vnnlib::Values {
                x: &vec![0.0; query.input.len()],
                hidden: &hidden,
                y: &vec![0.0; query.output.len()],
            });
        }
    } else if name.ends_with(".onnx") {
        let _ = formats::read_network(name, bytes);
        let _ = formats::onnx::read_with_sites(name, bytes, &["relu_1".into(), "input".into()]);
    } else if name.ends_with(".csv") {
        if let Ok(text) = std::str::from_utf8(bytes) {
            let _ = csv::read(name, text);
        }
    } else {
        let _ = formats::read_network(name, bytes);
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Overwrite(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Duplicate(usize, usize),
}

fn apply(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for m in mutations {
        let len = b.len().max(1);
        match m {
            Mutation::Truncate(at) => b.truncate(at % len),
            Mutation::Overwrite(at, v) => {
                if !b.is_empty() {
                    let i = at % b.len();
                    b[i] = *v;
                }
            }
            Mutation::Insert(at, v) => {
                let i = at % len;
                let i = i.min(b.len());
                b.splice(i..i, v.iter().copied());
            }
            Mutation::Delete(at, n) => {
                let i = (at % len).min(b.len());
                let j = (i + n).min(b.len());
                b.drain(i..j);
            }
            Mutation::Duplicate(at, n) => {
                let i = (at % len).min(b.len());
                let j = (i + n).min(b.len());
                let piece = b[i..j].to_vec();
                b.splice(j..j, piece);
            }
        }
    }
    b
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to the formats: digits, separators, parens, protobuf tags.
    let interesting = prop_oneof![
        any::<u8>(),
        Just(b'('),
        Just(b')'),
        Just(b','),
        Just(b'\n'),
        Just(b'-'),
        Just(b'9'),
        Just(0xffu8),
        Just(0x08u8),
    ];
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), interesting).prop_map(|(a, v)| Mutation::Overwrite(a, v)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(a, v)| Mutation::Insert(a, v)),
        (any::<usize>(), 1usize..64).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), 1usize..64).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn mutated_files_never_panic_a_reader(
        pick in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let files = corpus();
        let (name, bytes) = &files[pick % files.len()];
        parse_any(name, &apply(bytes, &mutations));
    }

    #[test]
    fn every_prefix_class_of_a_file_is_handled(pick in any::<usize>(), cut in any::<usize>()) {
        let files = corpus();
        let (name, bytes) = &files[pick % files.len()];
        parse_any(name, &bytes[..cut % (bytes.len() + 1)]);
    }
}

#[test]
fn every_truncation_of_small_files_is_an_error_or_a_network() {
    // Exhaustive over every cut point for the files birdnn writes.
    for (name, bytes) in corpus().into_iter().filter(|(n, _)| n.starts_with("own")) {
        for cut in 0..bytes.len() {
            parse_any(&name, &bytes[..cut]);
        }
    }
}
