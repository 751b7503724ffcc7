//! The verifier on ACAS Xu: never a proof where VNN-COMP reports a violation (and a
//! re-checked counterexample for each of those), proofs of properties 1, 3 and 4 on networks
//! where they hold, and the instances that defeated its first version.

mod common;

use birdnn::formats;
use birdnn::network::Network;
use birdnn::property::Property;
use birdnn::verify::{Verdict, Verifier, VerifyConfig, VerifyStatus};
use std::path::Path;

fn load(dir: &Path, i: usize, j: usize, p: usize) -> (Network, Property) {
    let net = formats::load_network(&common::network_path(dir, i, j, "onnx")).unwrap();
    let property = formats::load_property(&dir.join(format!("vnnlib/prop_{p}.vnnlib"))).unwrap();
    (net, property)
}

fn verify(net: &Network, property: &Property, max_boxes: usize) -> Verdict {
    let config = VerifyConfig {
        max_boxes,
        ..Default::default()
    };
    Verifier::new(net, std::slice::from_ref(property), config)
        .unwrap()
        .run(|_| true)
        .remove(0)
}

#[test]
fn no_proof_on_a_violated_pair_and_a_counterexample_for_each() {
    let Some(dir) = common::acasxu_dir() else {
        return;
    };
    // The 47 violated instances of VNN-COMP 2021: property 2 on N1,2..N1,6 and on the 34
    // networks N_{i>=2} but N3,3 and N4,2; 3 and 4 on N1,7..N1,9; 7 on N1,9; 8 on N2,9.
    let mut pairs: Vec<((usize, usize), usize)> = common::all_networks()
        .filter(|&(i, j)| {
            (i == 1 && (2..=6).contains(&j)) || (i >= 2 && (i, j) != (3, 3) && (i, j) != (4, 2))
        })
        .map(|n| (n, 2))
        .collect();
    for j in 7..=9 {
        pairs.push(((1, j), 3));
        pairs.push(((1, j), 4));
    }
    pairs.push(((1, 9), 7));
    pairs.push(((2, 9), 8));
    assert_eq!(pairs.len(), 47);
    let mut missed = Vec::new();
    for ((i, j), p) in pairs {
        let (net, property) = load(&dir, i, j, p);
        let v = verify(&net, &property, 5_000);
        assert_ne!(
            v.status,
            VerifyStatus::Proved,
            "N{i},{j}/p{p}: a false proof"
        );
        match &v.counterexample {
            Some(c) => {
                let y = net.forward_one(&c.input).unwrap();
                assert_eq!(y, c.output, "N{i},{j}/p{p}");
                assert!(property.is_negative(&c.input, &y), "N{i},{j}/p{p}");
            }
            None => missed.push(format!("N{i},{j}/p{p}")),
        }
    }
    // Measured (bench-verify): each within 2 s, N5,3 / p2 (whose counterexamples sampling
    // and the falsifier miss) included: the attack on every open box finds its pocket.
    assert!(missed.is_empty(), "no counterexample for {missed:?}");
}

#[test]
fn properties_1_3_and_4_are_proved_where_they_hold() {
    let Some(dir) = common::acasxu_dir() else {
        return;
    };
    for ((i, j), p) in [
        ((1, 1), 1),
        ((2, 2), 3),
        ((1, 2), 3),
        ((1, 1), 4),
        ((3, 7), 4),
        ((5, 9), 4),
    ] {
        let (net, property) = load(&dir, i, j, p);
        let v = verify(&net, &property, 100_000);
        assert_eq!(
            v.status,
            VerifyStatus::Proved,
            "N{i},{j}/p{p}: {:.3} % proved in {} boxes",
            100.0 * v.proved_fraction,
            v.boxes
        );
        assert_eq!(v.proved_fraction, 1.0);
        assert!(v.counterexample.is_none());
    }
}

/// N5,3 / property 2 is violated only in a sliver (COC wins by 8e-6 at the input below, the
/// one a VNN-COMP verifier reports); N4,7 / p1 and N2,8 / p1 hold but took the first
/// verifier past 60 s. Each is decided now.
#[test]
fn the_instances_the_first_verifier_left_unknown_are_decided() {
    let Some(dir) = common::acasxu_dir() else {
        return;
    };
    let (net, property) = load(&dir, 5, 3, 2);
    let known: [f32; 5] = [
        0.675_105_7,
        -0.006_480_545,
        -0.046_433_14,
        0.462_769_8,
        -0.462_978_84,
    ];
    let y = net.forward_one(&known).unwrap();
    assert!(property.is_negative(&known, &y), "{y:?}");
    let v = verify(&net, &property, 1_000_000);
    assert_eq!(v.status, VerifyStatus::Counterexample);
    let c = v.counterexample.unwrap();
    assert_eq!(net.forward_one(&c.input).unwrap(), c.output);
    assert!(property.is_negative(&c.input, &c.output));

    for (i, j) in [(4, 7), (2, 8)] {
        let (net, property) = load(&dir, i, j, 1);
        let v = verify(&net, &property, 1_000_000);
        assert_eq!(
            v.status,
            VerifyStatus::Proved,
            "N{i},{j}/p1: {:.3} % proved in {} boxes",
            100.0 * v.proved_fraction,
            v.boxes
        );
    }
}
