//! Certified last-layer repair on small networks of every activation: the result is proved
//! by a verifier run on the network read back from its exported ONNX file, a dense forward
//! pass finds no violation, and the decisions outside the region are kept.

use birdnn::formats;
use birdnn::network::{Activation, Network};
use birdnn::property::{InputBox, LinearConstraint, Property, UnsafeRegion};
use birdnn::repair::certified::{CertifiedConfig, CertifiedRepair};
use birdnn::repair::{
    HeldOut, Method, RepairData, RepairSession, RepairSettings, ReportPlan, SamplingPlan,
};
use birdnn::rng::SplitMix64;
use birdnn::sampling::sample_box;
use birdnn::tensor::BatchRows;
use birdnn::verify::{Verifier, VerifyConfig, VerifyStatus};

/// "Inside the square [-0.3, 0.3]^2 the decision must be class 0" (argmax of 3 outputs).
fn must_be_class_0() -> Property {
    let le = |coefficients: Vec<f64>| LinearConstraint {
        coefficients,
        rhs: 0.0,
    };
    Property {
        name: "class-0-in-the-square".into(),
        num_inputs: 2,
        num_outputs: 3,
        input_boxes: vec![InputBox::new(vec![-0.3, -0.3], vec![0.3, 0.3]).unwrap()],
        unsafe_region: UnsafeRegion {
            disjuncts: vec![
                vec![le(vec![1.0, -1.0, 0.0])],
                vec![le(vec![1.0, 0.0, -1.0])],
            ],
        },
    }
}

/// A random network that answers class 0 in most, not all, of the square.
fn problem(act: Activation) -> (Network, Property) {
    let property = must_be_class_0();
    for seed in 0..500 {
        let mut net = Network::random(&[2, 16, 16, 3], act, seed).unwrap();
        let last = net.layers().len() - 1;
        net.layers_mut()[last].bias_mut()[0] += 0.3;
        let x = sample_box(&mut SplitMix64::new(1), &property.input_boxes[0], 2000);
        let bad = birdnn::measures::violations(&net, std::slice::from_ref(&property), &x).unwrap();
        if (0.03..0.3).contains(&bad.ratio()) {
            return (net, property);
        }
    }
    panic!("no suitable random network for {act}");
}

fn domain_box() -> InputBox {
    InputBox::new(vec![-1.0, -1.0], vec![1.0, 1.0]).unwrap()
}

/// Share of fresh inputs outside the property's box whose decision `repaired` keeps.
fn kept_outside(original: &Network, repaired: &Network, property: &Property, seed: u64) -> f64 {
    let x = sample_box(&mut SplitMix64::new(seed), &domain_box(), 40_000);
    let outside: Vec<usize> = (0..x.nrows())
        .filter(|&r| !property.precondition_holds(x.row_slice(r)))
        .collect();
    let x = x.select_rows(&outside);
    let a = original.decisions(&x).unwrap();
    let b = repaired.decisions(&x).unwrap();
    a.iter().zip(&b).filter(|(p, q)| p == q).count() as f64 / a.len() as f64
}

/// The checks that did not compute the verdict: the network read back from its ONNX file
/// is proved by a fresh verifier run, and a dense forward pass of the box finds nothing.
fn assert_independently_safe(repaired: &Network, property: &Property, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repaired.onnx");
    formats::save_network(&path, repaired).unwrap();
    let back = formats::load_network(&path).unwrap();
    let verdict = Verifier::new(
        &back,
        std::slice::from_ref(property),
        VerifyConfig::default(),
    )
    .unwrap()
    .run(|_| true)
    .remove(0);
    assert_eq!(
        verdict.status,
        VerifyStatus::Proved,
        "{what}: re-verified from ONNX"
    );
    let x = sample_box(&mut SplitMix64::new(77), &property.input_boxes[0], 100_000);
    let bad = birdnn::measures::violations(&back, std::slice::from_ref(property), &x).unwrap();
    assert_eq!(bad.count, 0, "{what}: forward pass of 100,000 fresh inputs");
}

fn run_session(
    net: &Network,
    property: &Property,
    method: Method,
) -> birdnn::repair::RepairOutcome {
    let props = [property.clone()];
    let plan = SamplingPlan {
        per_region: 2000,
        domain: 2000,
        ..Default::default()
    };
    let data = RepairData::sampled(net, &props, &plan, 3).unwrap();
    let held_out = HeldOut::sampled(net, &props, &plan, 4).unwrap();
    let settings = RepairSettings {
        method,
        seed: 3,
        ..Default::default()
    };
    let mut session = RepairSession::new(net, &props, data, settings).unwrap();
    session.run(|_| {}).unwrap();
    session.finish(&held_out, &ReportPlan::default()).unwrap()
}

// One test per activation, so that they run side by side.
#[test]
fn both_methods_end_proved_on_relu() {
    both_methods_end_proved(Activation::Relu);
}

#[test]
fn both_methods_end_proved_on_leaky_relu() {
    both_methods_end_proved(Activation::LeakyRelu { alpha: 0.1 });
}

#[test]
fn both_methods_end_proved_on_elu() {
    both_methods_end_proved(Activation::Elu { alpha: 1.0 });
}

#[test]
fn both_methods_end_proved_on_tanh() {
    both_methods_end_proved(Activation::Tanh);
}

#[test]
fn both_methods_end_proved_on_sigmoid() {
    both_methods_end_proved(Activation::Sigmoid);
}

/// Certified repair, retraining (with the verifier in the loop) and the automatic method
/// on a random network of `act` end proved, re-verified from the exported file, keeping
/// most decisions outside (the automatic method's patch: 99.9 % at least).
fn both_methods_end_proved(act: Activation) {
    let (net, property) = problem(act);
    for method in [Method::Certified, Method::Retrain, Method::Auto] {
        let what = format!("{act} {method}");
        let outcome = run_session(&net, &property, method);
        let report = &outcome.report;
        assert_eq!(report.proofs.len(), 1, "{what}");
        assert_eq!(
            report.proofs[0].status, "proved",
            "{what}: {:?}",
            report.certified
        );
        if method == Method::Certified {
            let summary = report
                .certified
                .as_ref()
                .expect("the last-layer repair ran");
            assert!(summary.certified, "{what}: {summary:?}");
            // Only the last layer may change.
            let last = net.layers().len() - 1;
            for l in 0..last {
                assert_eq!(
                    net.layers()[l],
                    outcome.network.layers()[l],
                    "{what}: layer {l}"
                );
            }
        }
        assert_independently_safe(&outcome.network, &property, &what);
        let kept = kept_outside(&net, &outcome.network, &property, 11);
        eprintln!(
            "{what}: kept outside {:.3} %, last layer: {:?}",
            100.0 * kept,
            report.certified
        );
        // The last layer alone reaches everywhere, so it keeps less than retraining. On
        // the sigmoid network its features are too smooth to turn the decision sharply at
        // the square's edge: 1,024 cells instead of 64 keep 85.7 % instead of 85.1 % (with
        // 30,000 decisions protected), so the limit is what a last layer of this network
        // can express, not the partition.
        // Retraining on sigmoid also ends with the last layer's programs (its report has
        // their summary) and keeps about as much: 82.95 % measured.
        // The automatic method patches the box (every activation here makes an
        // indicator): outside it nothing changes but within the band.
        if method == Method::Auto {
            assert_eq!(
                report.method,
                Method::Patch,
                "{what}: {:?}",
                report.region_patch_failure
            );
        }
        let floor = match (method, act) {
            (Method::Auto, _) => 0.999,
            (_, Activation::Sigmoid) => 0.80,
            (Method::Certified, _) => 0.90,
            _ => 0.94,
        };
        assert!(kept >= floor, "{what}: kept outside {:.3} %", 100.0 * kept);
    }
}

/// "Inside the box the decision must be `class`" (argmax of 3 outputs).
fn must_be(class: usize, lower: Vec<f64>, upper: Vec<f64>) -> Property {
    let disjuncts = (0..3)
        .filter(|&o| o != class)
        .map(|o| {
            let mut c = vec![0.0; 3];
            c[class] = 1.0;
            c[o] = -1.0;
            vec![LinearConstraint {
                coefficients: c,
                rhs: 0.0,
            }]
        })
        .collect();
    Property {
        name: format!("class-{class}"),
        num_inputs: 2,
        num_outputs: 3,
        input_boxes: vec![InputBox::new(lower, upper).unwrap()],
        unsafe_region: UnsafeRegion { disjuncts },
    }
}

#[test]
fn cells_the_first_program_cannot_certify_are_split_until_it_can() {
    // Class 0 on one box, class 1 on another just beside it: the decision must turn within
    // the narrow gap, which bounds over the whole boxes are too loose to certify.
    let (net, _) = problem(Activation::Relu);
    let props = [
        must_be(0, vec![-0.6, -0.6], vec![0.3, 0.6]),
        must_be(1, vec![0.32, -0.6], vec![0.9, 0.6]),
    ];
    let kept = sample_box(&mut SplitMix64::new(5), &domain_box(), 5000);
    let config = CertifiedConfig {
        initial_cells: 1,
        max_rounds: 24,
        ..Default::default()
    };
    let mut repair = CertifiedRepair::new(&net, &net, &props, &kept, config).unwrap();
    repair.step().unwrap();
    assert!(!repair.is_done(), "one cell per box cannot be certified");
    assert_eq!(repair.cells(), 2);
    assert!(repair.open_cells() > 0);
    repair.run().unwrap();
    let summary = repair.summary().unwrap();
    eprintln!("{summary:?}");
    assert!(summary.certified, "{summary:?}");
    assert!(summary.cells > 2, "{summary:?}");
    for p in &props {
        assert_independently_safe(repair.network(), p, &p.name);
    }
}

#[test]
fn an_output_activation_or_a_property_that_forbids_everything_is_a_clear_error() {
    let (mut net, property) = problem(Activation::Relu);
    let kept = sample_box(&mut SplitMix64::new(5), &domain_box(), 100);
    let mut always = property.clone();
    always.unsafe_region.disjuncts.push(Vec::new());
    let err = CertifiedRepair::new(&net, &net, &[always], &kept, CertifiedConfig::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("every output unsafe"), "{err}");
    let last = net.layers().len() - 1;
    net.layers_mut()[last].set_activation(Activation::Sigmoid);
    let err = CertifiedRepair::new(&net, &net, &[property], &kept, CertifiedConfig::default())
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("output layer without activation"),
        "{err}"
    );
}
