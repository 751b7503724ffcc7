//! The verifier's bounds are sound (every sampled value lies inside them, for every
//! activation), tighten as boxes shrink, and its verdicts agree with what sampling and the
//! falsifier can see on small networks.

use birdnn::network::{Activation, Network};
use birdnn::property::{InputBox, LinearConstraint, Property, UnsafeRegion};
use birdnn::rng::SplitMix64;
use birdnn::sampling::sample_box;
use birdnn::tensor::{BatchGrow, BatchRows};
use birdnn::verify::bounds::{BoundMethod, BoundNetwork, Interval};
use birdnn::verify::{Verifier, VerifyConfig, VerifyStatus};

fn activations() -> Vec<Activation> {
    let mut all = Activation::ALL.to_vec();
    all.push(Activation::LeakyRelu { alpha: 1.5 });
    all.push(Activation::Elu { alpha: 2.0 });
    all
}

/// A random box inside [-2, 2]^n, some of them very thin, some a point in one dimension.
fn random_box(rng: &mut SplitMix64, n: usize) -> InputBox {
    let mut lower = Vec::new();
    let mut upper = Vec::new();
    for _ in 0..n {
        let centre = 4.0 * rng.next_f64() - 2.0;
        let half = match rng.next_u64() % 4 {
            0 => 0.0,
            1 => 1e-4 * rng.next_f64(),
            _ => rng.next_f64(),
        };
        lower.push(centre - half);
        upper.push(centre + half);
    }
    InputBox::new(lower, upper).unwrap()
}

fn interval_of(b: &InputBox) -> Interval {
    Interval::new(b.lower.clone(), b.upper.clone())
}

#[test]
fn every_sampled_value_lies_within_the_bounds_for_every_activation() {
    let mut rng = SplitMix64::new(42);
    for act in activations() {
        for seed in 0..6 {
            let net = Network::random(&[3, 12, 12, 4], act, seed).unwrap();
            let bound_net = BoundNetwork::new(&net);
            for _ in 0..20 {
                let b = random_box(&mut rng, 3);
                let mut x = sample_box(&mut rng, &b, 300);
                // The corners too: extremes often sit there.
                for corner in 0..8u32 {
                    let c: Vec<f32> = (0..3)
                        .map(|i| {
                            if corner >> i & 1 == 1 {
                                b.upper[i] as f32
                            } else {
                                b.lower[i] as f32
                            }
                        })
                        .filter(|_| true)
                        .collect();
                    if b.contains(&c) {
                        x.push_slice(&c).unwrap();
                    }
                }
                let trace = net.forward_trace(&x).unwrap();
                for method in [BoundMethod::Interval, BoundMethod::Symbolic] {
                    let layers = bound_net.layer_bounds(&interval_of(&b), method);
                    for (k, pre) in layers.pre.iter().enumerate() {
                        for r in 0..x.nrows() {
                            assert!(
                                pre.contains(trace.pre[k].row_slice(r)),
                                "{act} {method:?} layer {k}: {:?} outside {:?}",
                                trace.pre[k].row_slice(r),
                                pre
                            );
                            assert!(layers.post[k].contains(trace.post[k + 1].row_slice(r)));
                        }
                    }
                    let out = bound_net.output_bounds(&interval_of(&b), method);
                    for y in trace.output().row_slices() {
                        assert!(out.contains(y), "{act} {method:?}: {y:?} outside {out:?}");
                    }
                }
            }
        }
    }
}

/// Saturated activations (pre-activations in the tens of thousands, where tanh, sigmoid and
/// ELU are exactly at their floors or ceilings in f32) and near-points: the bounds still
/// hold every value the f32 network computes. The rounding allowance follows the value,
/// not the input; this checks that is enough.
#[test]
fn bounds_hold_where_activations_saturate() {
    let mut rng = SplitMix64::new(7);
    for act in activations() {
        for (seed, scale) in [(0u64, 1e3f32), (1, 3e4), (2, 1.0)] {
            let mut net = Network::random(&[3, 10, 10, 4], act, seed).unwrap();
            for w in net.layers_mut()[0].weights_mut() {
                *w *= scale;
            }
            let bound_net = BoundNetwork::new(&net);
            for _ in 0..30 {
                let b = random_box(&mut rng, 3);
                let x = sample_box(&mut rng, &b, 200);
                let trace = net.forward_trace(&x).unwrap();
                for method in [BoundMethod::Interval, BoundMethod::Symbolic] {
                    let layers = bound_net.layer_bounds(&interval_of(&b), method);
                    for k in 0..layers.post.len() {
                        for r in 0..x.nrows() {
                            assert!(
                                layers.post[k].contains(trace.post[k + 1].row_slice(r)),
                                "{act} x{scale} {method:?} layer {k}: {:?} outside {:?}",
                                trace.post[k + 1].row_slice(r),
                                layers.post[k]
                            );
                        }
                    }
                    let out = bound_net.output_bounds(&interval_of(&b), method);
                    for y in trace.output().row_slices() {
                        assert!(
                            out.contains(y),
                            "{act} x{scale} {method:?}: {y:?} outside {out:?}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn bounds_tighten_as_boxes_shrink_and_symbolic_beats_intervals() {
    let mut rng = SplitMix64::new(7);
    for act in activations() {
        let net = Network::random(&[4, 16, 16, 3], act, 3).unwrap();
        let bound_net = BoundNetwork::new(&net);
        let centre: Vec<f64> = (0..4).map(|_| rng.next_f64() - 0.5).collect();
        let mut widths = Vec::new();
        for radius in [0.5, 0.05, 0.005, 0.0] {
            let b = Interval::new(
                centre.iter().map(|c| c - radius).collect(),
                centre.iter().map(|c| c + radius).collect(),
            );
            let interval = bound_net.output_bounds(&b, BoundMethod::Interval);
            let symbolic = bound_net.output_bounds(&b, BoundMethod::Symbolic);
            for o in 0..3 {
                assert!(symbolic.lower[o] >= interval.lower[o] - 1e-12, "{act}");
                assert!(symbolic.upper[o] <= interval.upper[o] + 1e-12, "{act}");
            }
            widths.push(symbolic.max_width());
        }
        assert!(
            widths[1] < 0.3 * widths[0] && widths[2] < 0.3 * widths[1],
            "{act}: {widths:?}"
        );
        assert!(
            widths[3] < 1e-4,
            "{act}: a point's bounds are nearly exact: {widths:?}"
        );
    }
}

/// The refinements branch and bound stands on stay sound: bounds of a sub-box computed with
/// its enclosing box's bounds, a linear bound re-concretised over a sub-box, the box clipped by
/// a linear bound (no point it cuts away can meet the constraint), and optimised ReLU slopes
/// (never below the plain bound, never above a sampled value).
#[test]
fn sub_box_bounds_clipping_and_optimised_slopes_are_sound() {
    let mut rng = SplitMix64::new(99);
    let mut clipped_points = 0;
    let mut raised = 0;
    for act in activations() {
        for seed in 0..5 {
            let net = Network::random(&[3, 16, 16, 16, 3], act, 100 + seed).unwrap();
            let bound_net = BoundNetwork::new(&net);
            for _ in 0..10 {
                let b = random_box(&mut rng, 3);
                let outer = interval_of(&b);
                let layers = bound_net.layer_bounds(&outer, BoundMethod::Symbolic);
                let coefficients: Vec<f64> = (0..3).map(|_| 2.0 * rng.next_f64() - 1.0).collect();
                let outputs = bound_net.output_bounds(&outer, BoundMethod::Symbolic);
                // A threshold inside the output's range, so the constraint is open.
                let rhs = (0..3)
                    .map(|o| coefficients[o] * 0.5 * (outputs.lower[o] + outputs.upper[o]))
                    .sum::<f64>();
                let plain = bound_net
                    .lower_bounds_of_outputs(
                        &layers,
                        &outer,
                        std::slice::from_ref(&coefficients),
                        &[rhs],
                        BoundMethod::Symbolic,
                    )
                    .remove(0);
                let optimised = bound_net.optimised_lower_bound(
                    &layers,
                    &outer,
                    &coefficients,
                    rhs,
                    &plain,
                    10,
                );
                assert!(optimised.value >= plain.value, "{act}");
                if optimised.value > plain.value {
                    raised += 1;
                }
                let clipped = plain.clip(&outer);
                // A sub-box: a random corner half of the box.
                let mut sub = outer.clone();
                for i in 0..3 {
                    let mid = 0.5 * (sub.lower[i] + sub.upper[i]);
                    if rng.next_u64().is_multiple_of(2) {
                        sub.upper[i] = mid;
                    } else {
                        sub.lower[i] = mid;
                    }
                }
                let sub_layers =
                    bound_net.layer_bounds_within(&sub, BoundMethod::Symbolic, Some(&layers.pre));
                let inherited = plain.lowest_over(&sub);
                let x = sample_box(&mut rng, &b, 300);
                let trace = net.forward_trace(&x).unwrap();
                for r in 0..x.nrows() {
                    let (point, y) = (x.row_slice(r), trace.output().row_slice(r));
                    let slack = coefficients
                        .iter()
                        .zip(y)
                        .map(|(&c, &v)| c * v as f64)
                        .sum::<f64>()
                        - rhs;
                    assert!(slack >= plain.value && slack >= optimised.value, "{act}");
                    let inside_clip = clipped.as_ref().is_some_and(|c| c.contains(point));
                    // (A box with a width of 0 may hold no f32 point at all.)
                    if outer.contains(point) && !inside_clip {
                        clipped_points += 1;
                        assert!(slack > 0.0, "{act}: clipping cut away {point:?} ({slack})");
                    }
                    if sub.contains(point) {
                        assert!(slack >= inherited, "{act}");
                        for (k, pre) in sub_layers.pre.iter().enumerate() {
                            assert!(pre.contains(trace.pre[k].row_slice(r)), "{act} layer {k}");
                        }
                    }
                }
            }
        }
    }
    // The checks above had something to check.
    assert!(
        clipped_points > 1000,
        "{clipped_points} points clipped away"
    );
    assert!(raised > 10, "slope optimisation raised {raised} bounds");
}

/// "Output 0 must stay below `limit` on the box": unsafe when y0 >= limit.
fn upper_limit(b: InputBox, limit: f64) -> Property {
    Property {
        name: format!("y0-below-{limit}"),
        num_inputs: b.dims(),
        num_outputs: 2,
        input_boxes: vec![b],
        unsafe_region: UnsafeRegion {
            disjuncts: vec![vec![LinearConstraint {
                coefficients: vec![-1.0, 0.0],
                rhs: -limit,
            }]],
        },
    }
}

#[test]
fn verdicts_match_the_true_maximum_for_every_activation() {
    for act in activations() {
        let net = Network::random(&[2, 10, 10, 2], act, 11).unwrap();
        let b = InputBox::new(vec![-1.0, -1.0], vec![1.0, 1.0]).unwrap();
        // The largest y0 on a fine grid: a limit just above it holds (and is proved), one
        // clearly below it is violated (and a counterexample is found and re-checked).
        let mut max = f64::NEG_INFINITY;
        for i in 0..=200 {
            for j in 0..=200 {
                let x = [i as f32 / 100.0 - 1.0, j as f32 / 100.0 - 1.0];
                max = max.max(net.forward_one(&x).unwrap()[0] as f64);
            }
        }
        let spread = bound_spread(&net, &b);
        let holds = upper_limit(b.clone(), max + 0.05 * spread);
        let config = VerifyConfig {
            max_boxes: 200_000,
            ..Default::default()
        };
        let verdicts = Verifier::new(&net, &[holds], config.clone())
            .unwrap()
            .run(|_| true);
        assert_eq!(
            verdicts[0].status,
            VerifyStatus::Proved,
            "{act}: {verdicts:?}"
        );
        assert_eq!(verdicts[0].proved_fraction, 1.0);

        let broken = upper_limit(b, max - 0.05 * spread);
        let verdicts = Verifier::new(&net, std::slice::from_ref(&broken), config)
            .unwrap()
            .run(|_| true);
        assert_eq!(verdicts[0].status, VerifyStatus::Counterexample, "{act}");
        let c = verdicts[0].counterexample.as_ref().unwrap();
        assert!(broken.is_negative(&c.input, &net.forward_one(&c.input).unwrap()));
        assert_eq!(c.output, net.forward_one(&c.input).unwrap());
    }
}

fn bound_spread(net: &Network, b: &InputBox) -> f64 {
    let out = BoundNetwork::new(net).output_bounds(&interval_of(b), BoundMethod::Symbolic);
    out.upper[0] - out.lower[0]
}

/// The demo's violated property is refuted on the original, and both demo properties are
/// proved on the retrained network: a repair whose success is a proof, not a sample count.
#[test]
fn a_repaired_demo_is_proved_safe() {
    use birdnn::repair::{Method, RepairData, RepairSession, RepairSettings, SamplingPlan};
    let demos = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("www/demos");
    let net = birdnn::formats::load_network(&demos.join("zones-relu.json")).unwrap();
    let properties: Vec<Property> = ["patch-must-be-below", "centre-must-be-centre"]
        .iter()
        .map(|p| {
            birdnn::formats::load_property(&demos.join(format!("zones-relu-{p}.vnnlib"))).unwrap()
        })
        .collect();
    let run = |net: &Network| {
        Verifier::new(net, &properties, VerifyConfig::default())
            .unwrap()
            .run(|_| true)
    };
    let before = run(&net);
    assert_eq!(before[0].status, VerifyStatus::Counterexample);
    assert_eq!(before[1].status, VerifyStatus::Proved);
    let plan = SamplingPlan::default();
    let data = RepairData::sampled(&net, &properties, &plan, 1).unwrap();
    let settings = RepairSettings {
        method: Method::Retrain,
        seed: 1,
        ..Default::default()
    };
    let mut session = RepairSession::new(&net, &properties, data, settings).unwrap();
    session.run(|_| {}).unwrap();
    let after = run(&session.current_best());
    for v in &after {
        assert_eq!(
            v.status,
            VerifyStatus::Proved,
            "{}: {:.3} % proved",
            v.property,
            100.0 * v.proved_fraction
        );
    }
}
