//! Image-robustness properties and their repair: construction, the VNN-LIB round trip, the
//! real digits file, and a repair of a few balls on a tiny image classifier trained here.
//! Every claim is re-checked by something that did not make it: a forward pass for
//! counterexamples, a falsifier with seeds the repair never used for "unbroken" boxes.

mod common;

use birdnn::demos::TrainingPlan;
use birdnn::falsify::FalsifierConfig;
use birdnn::formats::vnnlib;
use birdnn::images::benchmark::{
    accuracy, attack, image_repair_settings, repair_images, repair_set, split_images,
    train_image_classifier, unrepaired_pool_balls, ImageDataPlan,
};
use birdnn::images::measure::{held_out_robustness, measure_image_repair};
use birdnn::images::{robustness_property, ImageSet};
use birdnn::network::Activation;
use birdnn::rng::SplitMix64;
use birdnn::sampling::sample_property;
use birdnn::tensor::BatchRows;

/// 4x4 images of a horizontal (class 0) or vertical (class 1) bar at a random place, with
/// noise: a task a 16-8-8-2 network learns, whose balls a small radius can break.
fn bars(count: usize, seed: u64) -> ImageSet {
    let mut rng = SplitMix64::new(seed);
    let mut text = String::new();
    for k in 0..count {
        let label = k % 2;
        let at = rng.below(4);
        let mut levels = [0u32; 16];
        for (i, level) in levels.iter_mut().enumerate() {
            let (r, c) = (i / 4, i % 4);
            let on = if label == 0 { r == at } else { c == at };
            *level = if on {
                12 + rng.below(5) as u32
            } else {
                rng.below(6) as u32
            };
        }
        let line: Vec<String> = levels.iter().map(u32::to_string).collect();
        text.push_str(&format!("{},{label}\n", line.join(",")));
    }
    ImageSet::parse_csv(&text, 4, 4, 16.0, 2).unwrap()
}

#[test]
fn image_properties_are_clipped_balls_and_survive_the_vnnlib_round_trip() {
    let images = bars(4, 1);
    let property = robustness_property("bar", images.image(0), images.labels[0], 0.1, 2).unwrap();
    let b = &property.input_boxes[0];
    for (i, &p) in images.image(0).iter().enumerate() {
        assert!(b.lower[i] >= 0.0 && b.upper[i] <= 1.0, "pixel {i} clipped");
        assert!(
            b.lower[i] <= p as f64 && p as f64 <= b.upper[i],
            "pixel {i} inside"
        );
        assert!((b.upper[i] - b.lower[i]) <= 0.2 + 1e-12);
    }
    // Written as VNN-LIB 1.0 and 2.0 and read back: the same inputs are counterexamples.
    for text in [vnnlib::write(&property), vnnlib::write_v2(&property)] {
        let back = vnnlib::read("bar.vnnlib", &text).unwrap();
        assert_eq!(back.input_boxes, property.input_boxes);
        let mut rng = SplitMix64::new(2);
        let x = sample_property(&mut rng, &property, 200);
        for r in 0..x.nrows() {
            for y in [[1.0f32, 0.0], [0.0, 1.0], [0.5, 0.5]] {
                assert_eq!(
                    back.is_negative(x.row_slice(r), &y),
                    property.is_negative(x.row_slice(r), &y)
                );
            }
        }
    }
}

#[test]
fn the_shared_digits_file_reads_as_1797_labelled_8x8_images() {
    let Some(text) = common::digits_csv() else {
        return;
    };
    let set = ImageSet::parse_csv(&text, 8, 8, 16.0, 10).unwrap();
    assert_eq!(set.len(), 1797);
    assert_eq!(set.pixels.ncols(), 64);
    assert!(set.pixels.flat().iter().all(|p| (0.0..=1.0).contains(p)));
    for class in 0..10 {
        assert!(set.labels.iter().filter(|&&l| l == class).count() > 150);
    }
    let split = split_images(&set, 0.5, 0.3, 7);
    assert_eq!(
        split.train.len() + split.pool.len() + split.held_out.len(),
        1797
    );
}

#[test]
fn repairing_a_few_balls_of_a_tiny_image_classifier_removes_what_the_falsifier_found() {
    let set = bars(400, 3);
    let split = split_images(&set, 0.5, 0.25, 4);
    let plan = TrainingPlan {
        epochs: 60,
        batch: 16,
        learning_rate: 0.01,
    };
    let (net, train_accuracy) =
        train_image_classifier(&split.train, &[8, 8], Activation::Relu, 2, &plan, 5).unwrap();
    assert!(
        train_accuracy > 0.95,
        "the bars are learnt: {train_accuracy}"
    );
    let eps = 0.15;
    let attack_config = FalsifierConfig {
        starts: 64,
        batch: 64,
        steps: 30,
        max_counterexamples: 8,
        seed: 6,
        ..Default::default()
    };
    let cases = repair_set(&net, &split.pool, eps, 3, &attack_config).unwrap();
    assert!(!cases.is_empty(), "some pool ball breaks at eps {eps}");
    for case in &cases {
        // Each counterexample really is one: inside the ball and misclassified.
        let y = net.forward(&case.counterexamples).unwrap();
        for r in 0..y.nrows() {
            assert!(case
                .property
                .is_negative(case.counterexamples.row_slice(r), y.row_slice(r)));
        }
        let label = split.pool.labels[case.index];
        assert_eq!(
            net.decisions(&split.pool.pixels).unwrap()[case.index],
            label
        );
    }
    // The repair guards the balls of the other pool images the network classifies right,
    // never a repaired one's.
    let guards = unrepaired_pool_balls(&net, &split.pool, &cases).unwrap();
    let decisions = net.decisions(&split.pool.pixels).unwrap();
    let right = (0..split.pool.len())
        .filter(|&i| decisions[i] == split.pool.labels[i])
        .count();
    assert_eq!(guards.len(), right - cases.len());
    for case in &cases {
        assert!(guards
            .iter()
            .all(|g| g.input_boxes[0] != case.property.input_boxes[0]));
    }
    for g in &guards {
        let b = &g.input_boxes[0];
        assert!(b
            .lower
            .iter()
            .zip(&b.upper)
            .all(|(l, u)| *l >= 0.0 && *u <= 1.0 && u - l <= 2.0 * eps + 1e-9));
    }
    // The falsifier-driven repair, without certified training and the kept-ball samples
    // (the digits settings): on these 4x4 bars at eps 0.15 either of those makes the three
    // balls provable but breaks about 46 % of the other held-out balls (measured; an open
    // problem noted on issue 13), where this keeps them.
    let mut settings = birdnn::repair::RepairSettings {
        seed: 7,
        ..image_repair_settings()
    };
    settings.retrain.interval_weight = 0.0;
    let plan = ImageDataPlan {
        kept_ball_samples: 0,
        ..ImageDataPlan::default()
    };
    let outcome = repair_images(&net, &split, &cases, settings, &plan, &attack_config).unwrap();
    // A falsifier with seeds the repair never used finds nothing in the repaired balls,
    // and the same judge does break them on the original network.
    let mut broken_before = 0;
    for (k, case) in cases.iter().enumerate() {
        let judge = FalsifierConfig {
            seed: 1000 + k as u64,
            starts: 256,
            ..attack_config.clone()
        };
        broken_before += usize::from(attack(&net, &case.property, &judge).unwrap().nrows() > 0);
        let found = attack(&outcome.network, &case.property, &judge).unwrap();
        assert_eq!(
            found.nrows(),
            0,
            "ball of pool image {} still breaks",
            case.index
        );
    }
    assert_eq!(
        broken_before,
        cases.len(),
        "the judge breaks every original ball"
    );
    let judge = FalsifierConfig {
        seed: 99,
        ..attack_config.clone()
    };
    let before = held_out_robustness(&net, &split.held_out, eps, &judge).unwrap();
    let m = measure_image_repair(
        &net,
        &outcome.network,
        &cases,
        &split.held_out,
        &before,
        eps,
        &judge,
        2000,
    )
    .unwrap();
    eprintln!(
        "{} balls: accuracy {:.3} -> {:.3}, proved {}, G {}, newly broken {}",
        cases.len(),
        m.accuracy_before,
        m.accuracy_after,
        m.proved,
        m.generalised,
        m.newly_broken
    );
    assert_eq!(
        m.fixed.count, m.fixed.total,
        "training counterexamples fixed"
    );
    assert_eq!(m.unbroken.count, m.unbroken.total);
    assert!(
        m.newly_broken.count * 10 <= m.newly_broken.total,
        "held-out balls newly broken: {}",
        m.newly_broken
    );
    assert!(
        m.drawdown() <= 2.0,
        "held-out accuracy {:.3} -> {:.3}",
        m.accuracy_before,
        m.accuracy_after
    );
    assert_eq!(
        m.accuracy_before,
        accuracy(&net, &split.held_out).unwrap(),
        "measured on the held-out images"
    );
}
