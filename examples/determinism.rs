//! Prints a fingerprint of what every repair method produces from a fixed seed, and of what
//! the verifier concludes about each network, so that the native build and a wasm32 build can
//! be compared line by line (`./dev test` does).
//! Self-contained: a random network and a property built here, data drawn by the core.

use birdnn::falsify::FalsifierConfig;
use birdnn::network::{Activation, Network};
use birdnn::property::{InputBox, LinearConstraint, Property, UnsafeRegion};
use birdnn::repair::{
    HeldOut, LayerChoice, Method, RepairData, RepairSession, RepairSettings, ReportPlan,
    SamplingPlan,
};
use birdnn::rng::SplitMix64;
use birdnn::sampling::sample_box;
use birdnn::verify::{Verifier, VerifyConfig};

/// FNV-1a over the bit patterns of every parameter.
fn fingerprint(net: &Network) -> u64 {
    net.parameters()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
            (h ^ v.to_bits() as u64).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

/// The verifier's verdict, boxes examined, share proved (its bits) and counterexample, so
/// that the sound verifier's search is compared too.
fn verdict(net: &Network, properties: &[Property]) -> String {
    let config = VerifyConfig {
        max_boxes: 20_000,
        ..Default::default()
    };
    let v = Verifier::new(net, properties, config)
        .unwrap()
        .run(|_| true)
        .remove(0);
    format!(
        "{} {} boxes {:016x} {:?}",
        v.status,
        v.boxes,
        v.proved_fraction.to_bits(),
        v.counterexample.map(|c| c.input)
    )
}

fn main() {
    let le = |coefficients: Vec<f64>| LinearConstraint {
        coefficients,
        rhs: 0.0,
    };
    let property = Property {
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
    };
    let properties = [property];
    let plan = SamplingPlan {
        per_region: 2000,
        domain: 2000,
        falsifier: FalsifierConfig {
            starts: 128,
            max_counterexamples: 20,
            ..Default::default()
        },
        neighbours: 5,
        validation_share: 0.2,
    };
    let report_plan = ReportPlan {
        region_samples: 2000,
        domain_samples: 2000,
        falsifier: FalsifierConfig {
            starts: 128,
            max_counterexamples: 10,
            ..Default::default()
        },
        ..Default::default()
    };
    for act in [
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Elu { alpha: 1.0 },
    ] {
        // The first seed whose network is wrong on 3-30 % of the square.
        let net = (0..500)
            .map(|seed| {
                let mut net = Network::random(&[2, 12, 12, 3], act, seed).unwrap();
                let last = net.layers().len() - 1;
                net.layers_mut()[last].bias_mut()[0] += 0.3;
                net
            })
            .find(|net| {
                let x = sample_box(&mut SplitMix64::new(1), &properties[0].input_boxes[0], 1000);
                let bad = birdnn::measures::violations(net, &properties, &x).unwrap();
                (0.03..0.3).contains(&bad.ratio())
            })
            .expect("a suitable seed");
        println!("{act} network {:016x}", fingerprint(&net));
        println!("{act} network verdict {}", verdict(&net, &properties));
        let data = RepairData::sampled(&net, &properties, &plan, 3).unwrap();
        let held_out = HeldOut::sampled(&net, &properties, &plan, 3).unwrap();
        println!(
            "{act} data {} negatives {} positives",
            data.negatives.nrows(),
            data.positives.nrows()
        );
        for method in [
            Method::Retrain,
            Method::Finetune,
            Method::Domain,
            Method::Certified,
        ] {
            let mut settings = RepairSettings {
                method,
                seed: 5,
                ..Default::default()
            };
            settings.finetune.layer = LayerChoice::All;
            settings.domain.epsilon = 0.02;
            settings.domain.delta = 0.02;
            settings.domain.falsifier.starts = 128;
            let result =
                RepairSession::new(&net, &properties, data.clone(), settings).and_then(|mut s| {
                    s.run(|_| {})?;
                    s.finish(&held_out, &report_plan)
                });
            match result {
                Ok(out) => println!(
                    "{act} {method} {:016x} violations {} fidelity {} pac {} verdict {}",
                    fingerprint(&out.network),
                    out.report.fresh_violations.after,
                    out.report.fidelity_domain,
                    out.report.pac.is_some(),
                    verdict(&out.network, &properties)
                ),
                Err(e) => println!("{act} {method} error {e}"),
            }
        }
    }
}
