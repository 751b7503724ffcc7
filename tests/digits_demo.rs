//! The app's digits demo, through the worker core the browser runs: the committed files are
//! what the generator makes from the shared data, some gallery balls are broken (checked by
//! a forward pass), and a repair of one of them through `Request::Repair`, as the app sends
//! it (the gallery kept, the balls proved before passed along), ends with it proved, every
//! ball proved before still proved, and the other images' classes kept.

mod common;

use birdnn::images::demo::{digits_files, Gallery};
use birdnn::protocol::{Request, Response};
use birdnn::repair::{Method, RepairSettings};
use birdnn::verify::VerifyStatus;
use birdnn::worker::WorkerCore;
use std::path::Path;

fn demo_file(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("www/demos")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("www/demos/{name}: {e}"))
}

#[test]
fn the_committed_digits_demo_is_what_the_generator_makes() {
    let Some(csv) = common::digits_csv() else {
        return;
    };
    for (name, contents) in digits_files(&csv).unwrap() {
        assert!(
            demo_file(&name) == contents,
            "www/demos/{name} is stale: run `cargo run --release --example make_demos`"
        );
    }
}

/// Verifies every gallery ball (slots 1.., see [`core_with_gallery_balls`]) on `network`;
/// returns each ball's verdict status and counterexample.
fn verdicts(
    core: &mut WorkerCore,
    gallery: &Gallery,
    network: u32,
) -> Vec<(VerifyStatus, Option<Vec<f32>>)> {
    let slots: Vec<u32> = (1..=gallery.images.len() as u32).collect();
    core.handle(Request::Verify {
        job: 100 + network as u64,
        network,
        properties: slots.clone(),
        max_boxes: 300,
    });
    let mut out = vec![None; slots.len()];
    for r in core.run_to_idle() {
        let Response::VerifyProgress { verdicts, .. } = r else {
            panic!("{r:?}")
        };
        for (slot, v) in verdicts {
            out[slot as usize - 1] = Some((v.status, v.counterexample.map(|c| c.input)));
        }
    }
    out.into_iter()
        .map(|v| v.expect("a verdict per ball"))
        .collect()
}

#[test]
fn repairing_a_gallery_ball_in_the_worker_proves_it_and_keeps_the_other_proofs() {
    let (mut core, gallery) = core_with_gallery_balls(usize::MAX);
    let net = core.network(0).unwrap().clone();
    let before = verdicts(&mut core, &gallery, 0);
    let broken: Vec<usize> = (0..before.len())
        .filter(|&i| before[i].0 == VerifyStatus::Counterexample)
        .collect();
    // The demo has something to repair, and something already robust.
    assert!(broken.len() >= 3, "{before:?}");
    assert!(
        before.iter().any(|v| v.0 == VerifyStatus::Proved),
        "{before:?}"
    );
    for &i in &broken {
        let x = before[i].1.as_ref().expect("a counterexample");
        let image = gallery.pixels(i);
        assert!(x
            .iter()
            .zip(&image)
            .all(|(a, b)| (a - b).abs() as f64 <= gallery.eps + 1e-6 && (0.0..=1.0).contains(a)));
        assert_ne!(
            net.decisions(&birdnn::tensor::from_rows(std::slice::from_ref(x)).unwrap())
                .unwrap()[0],
            gallery.images[i].label,
            "image {i}: the counterexample must change the decision"
        );
    }
    let chosen = [broken[0]];
    let proved_before: Vec<usize> = (0..before.len())
        .filter(|&i| before[i].0 == VerifyStatus::Proved)
        .collect();
    let keep = gallery.all_pixels();
    core.handle(Request::Repair {
        job: 3,
        network: 0,
        properties: chosen
            .iter()
            .chain(&proved_before)
            .map(|&i| i as u32 + 1)
            .collect(),
        settings: Box::new(RepairSettings {
            method: Method::Retrain,
            seed: 1,
            ..birdnn::images::benchmark::image_repair_settings()
        }),
        result: 50,
        keep: keep.clone(),
    });
    let answers = core.run_to_idle();
    assert!(
        matches!(answers.last(), Some(Response::Repaired { .. })),
        "{:?}",
        answers.last()
    );
    let after = verdicts(&mut core, &gallery, 50);
    for &i in &chosen {
        assert_eq!(
            after[i].0,
            VerifyStatus::Proved,
            "image {i} after the repair"
        );
    }
    // Every ball proved before is still proved (passing them along is what holds them:
    // without, this repair lost 9 of 26).
    for &i in &proved_before {
        assert_eq!(after[i].0, VerifyStatus::Proved, "image {i}, proved before");
    }
    // The chosen image gets its label; the others keep their decisions, all but at most
    // two of the 49 (measured: none).
    let repaired = core.network(50).unwrap();
    let images = birdnn::tensor::from_rows(&keep).unwrap();
    let (now, then) = (
        repaired.decisions(&images).unwrap(),
        net.decisions(&images).unwrap(),
    );
    for &i in &chosen {
        assert_eq!(now[i], gallery.images[i].label, "image {i}");
    }
    let changed = (0..keep.len())
        .filter(|i| !chosen.contains(i) && now[*i] != then[*i])
        .count();
    assert!(
        changed <= 2,
        "{changed} other gallery images changed class: {now:?} vs {then:?}"
    );
}

/// A worker holding the demo network in slot 0 and the balls of the first `balls` gallery
/// images (all of them for `usize::MAX`) in slots 1.., as the app loads them; and the
/// gallery.
fn core_with_gallery_balls(balls: usize) -> (WorkerCore, Gallery) {
    let mut core = WorkerCore::new();
    let loaded = core.handle(Request::LoadNetwork {
        job: 1,
        network: 0,
        file_name: "digits.json".into(),
        bytes: demo_file("digits.json").into_bytes(),
    });
    assert!(
        matches!(&loaded[..], [Response::NetworkLoaded { .. }]),
        "{loaded:?}"
    );
    let gallery = Gallery::parse(&demo_file("digits-gallery.json")).unwrap();
    for i in 0..balls.min(gallery.images.len()) {
        let property = gallery
            .spec(i)
            .property(&format!("image {i}"), 64, 10)
            .unwrap();
        let answer = core.handle(Request::LoadProperty {
            job: 2,
            property: i as u32 + 1,
            file_name: format!("image-{i}.vnnlib"),
            bytes: birdnn::formats::vnnlib::write(&property).into_bytes(),
        });
        assert!(
            matches!(&answer[..], [Response::PropertyLoaded { .. }]),
            "{answer:?}"
        );
    }
    (core, gallery)
}

#[test]
fn inputs_to_keep_of_the_wrong_size_or_not_numbers_are_refused_by_name() {
    let (mut core, gallery) = core_with_gallery_balls(1);
    let mut not_a_number = gallery.pixels(0);
    not_a_number[5] = f32::NAN;
    for (keep, expected) in [
        (vec![vec![0.5; 3]], "has 3 values, the network takes 64"),
        (vec![not_a_number], "not a finite number"),
    ] {
        let answer = core.handle(Request::Repair {
            job: 3,
            network: 0,
            properties: vec![1],
            settings: Box::default(),
            result: 9,
            keep,
        });
        match &answer[..] {
            [Response::Failed { message, .. }] => {
                assert!(message.contains(expected), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert!(core.is_idle() && core.network(9).is_none() && core.network(0).is_some());
    }
}

#[test]
fn a_gallery_repair_searches_its_balls_in_steps_that_report_and_can_be_cancelled() {
    // Searching the 50 gallery balls takes about 15 s natively (each broken ball's search
    // collects its counterexamples); one step used to do all of it (35 s then), beyond a
    // cancel's reach.
    let (mut core, gallery) = core_with_gallery_balls(usize::MAX);
    let keep = gallery.all_pixels();
    core.handle(Request::Repair {
        job: 3,
        network: 0,
        properties: (1..=gallery.images.len() as u32).collect(),
        settings: Box::new(birdnn::images::benchmark::image_repair_settings()),
        result: 9,
        keep,
    });
    let mut searched = Vec::new();
    for _ in 0..40 {
        for answer in core.step() {
            let Response::RepairProgress { stage, .. } = &answer else {
                panic!("{answer:?}")
            };
            let counted = stage
                .strip_prefix("searching the chosen balls for counterexamples: ")
                .unwrap_or_else(|| panic!("{stage}"));
            assert!(counted.ends_with(" of 50"), "{stage}");
            searched.push(counted.split(' ').next().unwrap().parse::<usize>().unwrap());
        }
    }
    // Forty steps in, the searches are still going, and the count never goes back.
    assert_eq!(searched.len(), 40);
    assert!(searched.windows(2).all(|w| w[0] <= w[1]), "{searched:?}");
    assert!(*searched.last().unwrap() < 50, "{searched:?}");
    core.handle(Request::Cancel { job: 3 });
    assert!(core.is_idle() && core.network(9).is_none() && core.network(0).is_some());
}
