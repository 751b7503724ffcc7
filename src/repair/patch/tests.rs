use super::*;
use crate::network::DecisionRule;

use crate::verify::{overall, Verifier, VerifyConfig, VerifyStatus};
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn domain() -> InputBox {
    InputBox::new(vec![-1.0, -1.0], vec![1.0, 1.0]).unwrap()
}

/// A small ReLU network, and the decision it makes at the centre of `b`, which the property
/// then forbids in `b` (so there is something to repair).
fn problem(b: &InputBox) -> (Network, Property) {
    let net = Network::random(&[2, 8, 8, 3], Activation::Relu, 7).unwrap();
    let centre: Vec<f32> = b
        .lower
        .iter()
        .zip(&b.upper)
        .map(|(l, u)| (0.5 * (l + u)) as f32)
        .collect();
    let class = net
        .decisions(&crate::tensor::from_rows(&[centre]).unwrap())
        .unwrap()[0];
    let property = crate::property::decision_must_not_be(
        "not-the-centre's",
        b.clone(),
        3,
        class,
        DecisionRule::Argmax,
    );
    (net, property)
}

fn samples(b: &InputBox, count: usize, seed: u64) -> Array2<f32> {
    sample_box(&mut SplitMix64::new(seed), b, count)
}

fn proved(net: &Network, property: &Property) -> bool {
    let verdicts = Verifier::new(net, std::slice::from_ref(property), VerifyConfig::default())
        .unwrap()
        .run(|_| true);
    overall(&verdicts) == VerifyStatus::Proved
}

#[test]
fn the_patch_acts_exactly_inside_its_box_and_nowhere_past_the_band() {
    let b = InputBox::new(vec![0.2, -0.3], vec![0.6, 0.1]).unwrap();
    let (net, property) = problem(&b);
    assert!(!proved(&net, &property), "the start violates the property");
    let kept = samples(&domain(), 2000, 1);
    let config = PatchConfig::default();
    let (patched, summary) =
        region_patch(&net, std::slice::from_ref(&property), &kept, &config, 3).unwrap();
    // 2 inputs: 4 indicator neurons in the first hidden layer, the indicator in the second.
    assert_eq!(patched.widths(), vec![2, 12, 9, 3]);
    assert_eq!(
        (summary.boxes, summary.whole_domain, summary.neurons_added),
        (1, 0, 5)
    );
    let first = &patched.layers()[0];
    // relu(l_0 - s - x_0) and relu(x_0 - u_0 - s), then the same for x_1, with s half the
    // band (the domain is 2 wide).
    let reach = config.band * 2.0;
    assert_eq!(
        (
            first.weight(0, 8),
            first.bias()[8],
            first.weight(0, 9),
            first.bias()[9]
        ),
        (
            -1.0,
            (0.2 - reach / 2.0) as f32,
            1.0,
            -(0.6 + reach / 2.0) as f32
        )
    );
    assert_eq!((first.weight(1, 8), first.weight(0, 10)), (0.0, 0.0));
    let second = &patched.layers()[1];
    assert_eq!(second.weight(9, 8), -(2.0 / reach) as f32);
    assert_eq!(second.bias()[8], 1.0);
    assert_eq!(second.weight(7, 8), 0.0);
    assert!(proved(&patched, &property), "{summary:?}");

    // Outside the box by more than the band, the outputs are the start's to the bit (the
    // added terms are exact zeros); inside, the start's plus the offsets.
    let all = samples(&domain(), 4000, 2);
    let (before, after) = (net.forward(&all).unwrap(), patched.forward(&all).unwrap());
    let offsets = &summary.offsets[0];
    let mut inside = 0;
    for ((x, y0), y1) in all
        .row_slices()
        .zip(before.row_slices())
        .zip(after.row_slices())
    {
        let outside_by = (0..2)
            .map(|i| {
                (b.lower[i] - x[i] as f64)
                    .max(x[i] as f64 - b.upper[i])
                    .max(0.0)
            })
            .sum::<f64>();
        if b.contains(x) {
            inside += 1;
            for o in 0..3 {
                let expected = y0[o] as f64 + offsets[o];
                assert!(
                    (y1[o] as f64 - expected).abs() <= 1e-5 * (1.0 + expected.abs()),
                    "{x:?}: {y1:?} vs {y0:?} + {offsets:?}"
                );
            }
            assert!(!property.is_negative(x, y1), "{x:?}");
        } else if outside_by > config.band * 2.0 {
            assert_eq!(y0, y1, "{x:?} is outside the box and its band");
        }
    }
    assert!(inside > 100, "{inside} samples in the box");
}

#[test]
fn the_kept_decisions_inside_the_box_stay_where_the_property_allows() {
    let b = InputBox::new(vec![-0.8, -0.8], vec![0.8, 0.8]).unwrap();
    let (net, property) = problem(&b);
    let kept = samples(&domain(), 3000, 4);
    let (patched, summary) = region_patch(
        &net,
        std::slice::from_ref(&property),
        &kept,
        &PatchConfig::default(),
        5,
    )
    .unwrap();
    assert!(proved(&patched, &property));
    // Decisions the property allows are kept: "must not be c" needs only c's score lowered,
    // so the allowed decisions in the box change nowhere (checked on fresh samples).
    let fresh = samples(&b, 4000, 6);
    let (before, after) = (
        net.decisions(&fresh).unwrap(),
        patched.decisions(&fresh).unwrap(),
    );
    let outputs = net.forward(&fresh).unwrap();
    let mut changed = 0;
    for (r, (d0, d1)) in before.iter().zip(&after).enumerate() {
        if !property.is_negative(fresh.row_slice(r), outputs.row_slice(r)) {
            changed += usize::from(d0 != d1);
        }
    }
    assert_eq!(changed, 0, "{summary:?}");
    assert_eq!(summary.changed, 0, "{summary:?}");
}

#[test]
fn a_box_covering_the_domain_moves_only_the_output_bias() {
    let (net, property) = problem(&domain());
    let kept = samples(&domain(), 2000, 7);
    let (patched, summary) = region_patch(
        &net,
        std::slice::from_ref(&property),
        &kept,
        &PatchConfig::default(),
        8,
    )
    .unwrap();
    assert_eq!(patched.widths(), net.widths());
    assert_eq!((summary.whole_domain, summary.neurons_added), (1, 0));
    let layers = net.layers().len();
    for (l, (a, b)) in net.layers().iter().zip(patched.layers()).enumerate() {
        assert_eq!(a.weights(), b.weights(), "layer {l}");
        if l + 1 < layers {
            assert_eq!(a.bias(), b.bias(), "layer {l}");
        }
    }
    assert!(proved(&patched, &property));
    let change = crate::measures::change_size(&net, &patched);
    assert!(change.parameters_changed <= 3 && change.parameters_changed > 0);
}

#[test]
fn networks_the_patch_cannot_serve_are_named() {
    let b = InputBox::new(vec![0.0, 0.0], vec![0.5, 0.5]).unwrap();
    let (_, property) = problem(&b);
    let kept = samples(&domain(), 100, 9);
    // A linear network has nothing to compare with.
    let linear = Network::random(&[2, 8, 8, 3], Activation::Identity, 7).unwrap();
    let shallow = Network::random(&[2, 8, 3], Activation::Relu, 7).unwrap();
    for (net, expected) in [
        (&linear, "in the first two hidden layers"),
        (&shallow, "two hidden layers"),
    ] {
        let err = region_patch(
            net,
            std::slice::from_ref(&property),
            &kept,
            &PatchConfig::default(),
            0,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(expected), "{err}");
    }
    // A box over the whole domain needs no indicator, so any hidden activation will do.
    let (_, everywhere) = problem(&domain());
    assert!(region_patch(&linear, &[everywhere], &kept, &PatchConfig::default(), 0).is_ok());
}

#[test]
fn a_grown_network_counts_only_its_non_zero_new_parameters_as_changed() {
    let b = InputBox::new(vec![0.2, -0.3], vec![0.6, 0.1]).unwrap();
    let (net, property) = problem(&b);
    let kept = samples(&domain(), 500, 10);
    let (patched, _) = region_patch(&net, &[property], &kept, &PatchConfig::default(), 11).unwrap();
    let change = crate::measures::change_size(&net, &patched);
    assert_eq!(change.parameters, patched.parameter_count());
    let nonzero_new: usize = {
        let (old, new) = (net.layers(), patched.layers());
        old.iter()
            .zip(new)
            .map(|(a, b)| {
                let weights = (0..b.inputs())
                    .flat_map(|i| (0..b.outputs()).map(move |o| (i, o)))
                    .filter(|&(i, o)| {
                        (i >= a.inputs() || o >= a.outputs()) && b.weight(i, o) != 0.0
                    })
                    .count();
                let biases = b.bias()[a.outputs()..]
                    .iter()
                    .filter(|v| **v != 0.0)
                    .count();
                weights + biases
            })
            .sum()
    };
    assert_eq!(change.parameters_changed, nonzero_new);
}

/// For each activation that is not ReLU, with two and with three hidden layers: the patched
/// network is proved, keeps every decision past the band (its outputs there bit-identical
/// from the third hidden layer on, within rounding with two), and inside the box moves the
/// outputs by the offsets.
#[test]
fn every_saturating_or_leaky_activation_makes_an_indicator() {
    let b = InputBox::new(vec![0.2, -0.3], vec![0.6, 0.1]).unwrap();
    for act in [
        Activation::LeakyRelu { alpha: 0.1 },
        Activation::Elu { alpha: 1.0 },
        Activation::Tanh,
        Activation::Sigmoid,
    ] {
        for widths in [vec![2, 8, 8, 3], vec![2, 8, 8, 8, 3]] {
            let what = format!("{act} {widths:?}");
            let net = Network::random(&widths, act, 7).unwrap();
            // The same rule (not the decision at the centre of the box) for this network.
            let centre = crate::tensor::from_rows(&[vec![0.4f32, -0.1]]).unwrap();
            let class = net.decisions(&centre).unwrap()[0];
            let property = crate::property::decision_must_not_be(
                "not-the-centre's",
                b.clone(),
                3,
                class,
                DecisionRule::Argmax,
            );
            assert!(!proved(&net, &property), "{what}: the start violates it");
            let kept = samples(&domain(), 2000, 1);
            let config = PatchConfig::default();
            let (patched, summary) =
                region_patch(&net, std::slice::from_ref(&property), &kept, &config, 3)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(summary.neurons_added > 0, "{what}");
            assert!(proved(&patched, &property), "{what}: proved");
            // Past the band (twice its width, to be clear of the slack); leaky ReLU takes
            // a wider one.
            let band = match act {
                Activation::LeakyRelu { .. } => LEAKY_BAND,
                _ => config.band,
            };
            let reach = 4.0 * band * 2.0;
            let far = samples(&domain(), 20_000, 5);
            let keep: Vec<usize> = (0..far.nrows())
                .filter(|&r| {
                    let x = far.row_slice(r);
                    (0..2).any(|i| {
                        (x[i] as f64) < b.lower[i] - reach || (x[i] as f64) > b.upper[i] + reach
                    })
                })
                .collect();
            let far = far.select_rows(&keep);
            let (before, after) = (net.forward(&far).unwrap(), patched.forward(&far).unwrap());
            let largest = before
                .row_slices()
                .zip(after.row_slices())
                .flat_map(|(p, q)| p.iter().zip(q).map(|(a, c)| (a - c).abs()))
                .fold(0.0f32, f32::max);
            let (a, c) = (
                net.decisions(&far).unwrap(),
                patched.decisions(&far).unwrap(),
            );
            let changed = a.iter().zip(&c).filter(|(p, q)| p != q).count();
            if widths.len() > 4 {
                assert_eq!(largest, 0.0, "{what}: bit-identical past the band");
                assert_eq!(changed, 0, "{what}");
            } else {
                // The output layer subtracts the indicator's floor itself: a rounding's
                // difference, which turns only exact ties.
                assert!(largest < 1e-4, "{what}: {largest} past the band");
                assert!(
                    changed * 1000 <= far.nrows(),
                    "{what}: {changed} of {} decisions past the band",
                    far.nrows()
                );
            }
            // Inside, the offsets move the outputs (within the rounding of the indicator).
            let inside = samples(&b, 500, 6);
            let (before, after) = (
                net.forward(&inside).unwrap(),
                patched.forward(&inside).unwrap(),
            );
            for (p, q) in before.row_slices().zip(after.row_slices()) {
                for ((a, c), d) in p.iter().zip(q).zip(&summary.offsets[0]) {
                    let moved = f64::from(c - a);
                    assert!(
                        (moved - d).abs() <= 1e-3 * (1.0 + d.abs()),
                        "{what}: moved {moved}, offset {d}"
                    );
                }
            }
        }
    }
}
