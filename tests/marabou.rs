//! A second verifier checks birdnn's: the Marabou verifier (maraboupy, from PyPI) reads the
//! same ONNX and VNN-LIB files and must agree with every verdict it reaches. Needs Python
//! with maraboupy and onnx (`pip install maraboupy==2.0.0 onnx`); skipped with a message where
//! they are missing, except under CI (`CI=true`), where that is a failure. Repaired networks
//! are checked the same way, from the ONNX files birdnn exports.

mod common;

use birdnn::formats;
use birdnn::measures;
use birdnn::network::Network;
use birdnn::property::Property;
use birdnn::repair::{
    HeldOut, Method, RepairData, RepairSession, RepairSettings, ReportPlan, SamplingPlan,
};
use birdnn::verify::{Verdict, Verifier, VerifyConfig, VerifyStatus};
use std::path::{Path, PathBuf};

/// Seconds Marabou gets per problem: the instances below take it 0.5-3 s on one thread.
const MARABOU_TIMEOUT: u32 = 60;

/// Marabou's answer line for each (model, property); `None` when it is not installed.
fn marabou(problems: &[(PathBuf, PathBuf)]) -> Option<Vec<String>> {
    let mut args = vec![MARABOU_TIMEOUT.to_string().into()];
    for (model, property) in problems {
        args.push(model.clone().into_os_string());
        args.push(property.clone().into_os_string());
    }
    let stdout = common::python_support("marabou_verify.py", &args)?;
    let lines: Vec<String> = stdout.lines().map(str::to_string).collect();
    assert_eq!(lines.len(), problems.len(), "one answer per problem");
    Some(lines)
}

fn birdnn_verdict(net: &Network, property: &Property) -> Verdict {
    Verifier::new(net, std::slice::from_ref(property), VerifyConfig::default())
        .unwrap()
        .run(|_| true)
        .remove(0)
}

/// Checks every problem: where Marabou decides, the verdicts must agree (`unsat` = proved,
/// `sat` = a counterexample, which birdnn's forward pass must also confirm for Marabou's
/// input up to Marabou's own tolerance). Returns how many Marabou decided.
fn cross_check(problems: &[(String, Network, Property, PathBuf, PathBuf)]) -> Option<usize> {
    let files: Vec<(PathBuf, PathBuf)> = problems
        .iter()
        .map(|(_, _, _, m, p)| (m.clone(), p.clone()))
        .collect();
    let answers = marabou(&files)?;
    let mut decided = 0;
    for ((name, net, property, _, _), answer) in problems.iter().zip(&answers) {
        let ours = birdnn_verdict(net, property);
        if let Some(c) = &ours.counterexample {
            let y = net.forward_one(&c.input).unwrap();
            assert!(property.is_negative(&c.input, &y), "{name}: {c:?}");
        }
        let theirs = answer.split_whitespace().next().unwrap_or("");
        match theirs {
            "unsat" => {
                decided += 1;
                assert_eq!(
                    ours.status,
                    VerifyStatus::Proved,
                    "{name}: Marabou proves it, birdnn says {} ({:.2} % proved)",
                    ours.status,
                    100.0 * ours.proved_fraction
                );
            }
            "sat" => {
                decided += 1;
                assert_ne!(
                    ours.status,
                    VerifyStatus::Proved,
                    "{name}: birdnn proves it, Marabou has a counterexample: {answer}"
                );
                let x: Vec<f32> = answer
                    .split_whitespace()
                    .skip(1)
                    .map(|v| v.parse::<f64>().unwrap() as f32)
                    .collect();
                let y = net.forward_one(&x).unwrap();
                let (margin, _) = property.unsafe_region.violation_margin(&y);
                assert!(
                    margin <= 1e-4,
                    "{name}: Marabou's input is not unsafe in birdnn's forward pass \
                     (margin {margin}): {answer}"
                );
            }
            _ => eprintln!("{name}: Marabou did not decide ({answer})"),
        }
        eprintln!("{name}: birdnn {}, Marabou {theirs}", ours.status);
    }
    Some(decided)
}

#[test]
fn marabou_agrees_on_acasxu_instances_it_decides() {
    let Some(dir) = common::acasxu_dir() else {
        return;
    };
    // Properties that hold (p3 on N3,3 and N5,5, p4 on N2,2 and N4,4) and that are violated
    // (p2 on N2,1, N4,6 and N5,7; p3 on N1,7): Marabou decides each within a few seconds.
    let instances = [
        ((3, 3), 3),
        ((5, 5), 3),
        ((2, 2), 4),
        ((4, 4), 4),
        ((2, 1), 2),
        ((4, 6), 2),
        ((5, 7), 2),
        ((1, 7), 3),
    ];
    let problems: Vec<_> = instances
        .iter()
        .map(|&((i, j), p)| {
            let model = common::network_path(&dir, i, j, "onnx");
            let vnnlib = dir.join(format!("vnnlib/prop_{p}.vnnlib"));
            let net = formats::load_network(&model).unwrap();
            let property = formats::load_property(&vnnlib).unwrap();
            (format!("N{i},{j}/p{p}"), net, property, model, vnnlib)
        })
        .collect();
    let Some(decided) = cross_check(&problems) else {
        return;
    };
    assert!(decided >= 6, "Marabou decided only {decided} of 8");
}

#[test]
fn marabou_agrees_on_the_demo_properties() {
    let demos = Path::new(env!("CARGO_MANIFEST_DIR")).join("www/demos");
    let tmp = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for (demo, properties) in [
        (
            "zones-relu",
            &[
                "zones-relu-patch-must-be-below",
                "zones-relu-centre-must-be-centre",
            ][..],
        ),
        (
            "braking",
            &[
                "braking-far-and-slow-must-cruise",
                "braking-wet-and-close-must-brake-hard",
            ][..],
        ),
    ] {
        let net = formats::load_network(&demos.join(format!("{demo}.json"))).unwrap();
        // Marabou reads ONNX: the network goes through birdnn's own ONNX writer.
        let model = tmp.path().join(format!("{demo}.onnx"));
        formats::save_network(&model, &net).unwrap();
        for p in properties {
            let vnnlib = demos.join(format!("{p}.vnnlib"));
            let property = formats::load_property(&vnnlib).unwrap();
            problems.push((p.to_string(), net.clone(), property, model.clone(), vnnlib));
        }
    }
    let Some(decided) = cross_check(&problems) else {
        return;
    };
    assert_eq!(
        decided,
        problems.len(),
        "Marabou decides every demo property"
    );
}

#[test]
fn marabou_agrees_that_repaired_demo_networks_are_safe() {
    // The demos' networks repaired by the default method, with the verifier in the loop:
    // every property the session calls proved must be proved by Marabou too, reading the
    // repaired network from birdnn's exported ONNX file.
    marabou_agrees_on_demos_repaired_by(Method::Retrain);
}

#[test]
fn marabou_agrees_that_region_patched_demo_networks_are_safe() {
    // The same with the region patch, whose networks grow indicator neurons with steep
    // weights: Marabou reads them from the exported file and must prove the same.
    marabou_agrees_on_demos_repaired_by(Method::Patch);
}

fn marabou_agrees_on_demos_repaired_by(method: Method) {
    let demos = Path::new(env!("CARGO_MANIFEST_DIR")).join("www/demos");
    let tmp = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for (demo, names) in [
        (
            "zones-relu",
            [
                "zones-relu-patch-must-be-below",
                "zones-relu-centre-must-be-centre",
            ],
        ),
        (
            "braking",
            [
                "braking-far-and-slow-must-cruise",
                "braking-wet-and-close-must-brake-hard",
            ],
        ),
    ] {
        let net = formats::load_network(&demos.join(format!("{demo}.json"))).unwrap();
        let vnnlibs: Vec<PathBuf> = names
            .iter()
            .map(|p| demos.join(format!("{p}.vnnlib")))
            .collect();
        let properties: Vec<Property> = vnnlibs
            .iter()
            .map(|v| formats::load_property(v).unwrap())
            .collect();
        let plan = SamplingPlan::default();
        let data = RepairData::sampled(&net, &properties, &plan, 1).unwrap();
        let before = measures::violations(&net, &properties, &data.negatives).unwrap();
        assert!(
            before.count > 0,
            "{demo}: the demo network violates a property"
        );
        let held_out = HeldOut::sampled(&net, &properties, &plan, 2).unwrap();
        let settings = RepairSettings {
            seed: 1,
            method,
            ..Default::default()
        };
        let mut session = RepairSession::new(&net, &properties, data, settings).unwrap();
        session.run(|_| {}).unwrap();
        let outcome = session.finish(&held_out, &ReportPlan::default()).unwrap();
        let statuses: Vec<&str> = outcome
            .report
            .proofs
            .iter()
            .map(|p| p.status.as_str())
            .collect();
        assert_eq!(
            statuses,
            ["proved", "proved"],
            "{demo}: the session's verdicts"
        );
        if method == Method::Patch {
            let patch = outcome.report.region_patch.as_ref().expect("patched");
            assert!(patch.neurons_added > 0, "{demo}: {patch:?}");
        }
        let model = tmp.path().join(format!("{demo}-repaired.onnx"));
        formats::save_network(&model, &outcome.network).unwrap();
        let repaired = formats::load_network(&model).unwrap();
        for ((name, property), vnnlib) in names.iter().zip(properties).zip(vnnlibs) {
            problems.push((
                format!("{name} (repaired)"),
                repaired.clone(),
                property,
                model.clone(),
                vnnlib,
            ));
        }
    }
    let Some(decided) = cross_check(&problems) else {
        return;
    };
    assert_eq!(
        decided,
        problems.len(),
        "Marabou decides every property of the repaired networks"
    );
}

#[test]
fn marabou_agrees_on_digits_balls_before_and_after_a_gallery_repair() {
    // The digits demo's gallery: balls birdnn refutes on the original must be sat for
    // Marabou; after a gallery repair of three of them (with two balls proved before passed
    // along, as the app does), every ball the session proves must be unsat for Marabou,
    // read from birdnn's exported ONNX and the VNN-COMP mnistfc-form files of `birdnn balls`.
    use birdnn::images::benchmark::image_repair_settings;
    use birdnn::images::demo::Gallery;
    use birdnn::images::gallery_repair::gallery_repair_data;
    use birdnn::images::spec_file::write_vnnlib;
    let demos = Path::new(env!("CARGO_MANIFEST_DIR")).join("www/demos");
    let net = formats::load_network(&demos.join("digits.json")).unwrap();
    let gallery =
        Gallery::parse(&std::fs::read_to_string(demos.join("digits-gallery.json")).unwrap())
            .unwrap();
    let balls: Vec<Property> = (0..gallery.images.len())
        .map(|k| {
            gallery
                .spec(k)
                .property(&format!("ball {k}"), 64, 10)
                .unwrap()
        })
        .collect();
    let budget = VerifyConfig {
        max_boxes: 2000,
        ..Default::default()
    };
    let verdicts = Verifier::new(&net, &balls, budget).unwrap().run(|_| true);
    let with_status = |status: VerifyStatus, count: usize| -> Vec<usize> {
        (0..balls.len())
            .filter(|&k| verdicts[k].status == status)
            .take(count)
            .collect()
    };
    let refuted = with_status(VerifyStatus::Counterexample, 3);
    let proved = with_status(VerifyStatus::Proved, 2);
    assert_eq!(
        (refuted.len(), proved.len()),
        (3, 2),
        "the demo gallery has both kinds"
    );
    let chosen: Vec<Property> = refuted
        .iter()
        .chain(&proved)
        .map(|&k| balls[k].clone())
        .collect();
    let images: Vec<Vec<f32>> = (0..gallery.images.len())
        .map(|k| gallery.pixels(k))
        .collect();
    let repair = gallery_repair_data(&net, &chosen, &images, 0).unwrap();
    let settings = RepairSettings {
        seed: 0,
        ..image_repair_settings()
    };
    let mut session = RepairSession::new(&net, &chosen, repair.data, settings).unwrap();
    session.set_guards(repair.guards).unwrap();
    session.run(|_| {}).unwrap();
    let plan = ReportPlan {
        region_samples: 100,
        domain_samples: 0,
        ..Default::default()
    };
    let outcome = session.finish(&repair.held_out, &plan).unwrap();
    let statuses: Vec<&str> = outcome
        .report
        .proofs
        .iter()
        .map(|p| p.status.as_str())
        .collect();
    assert_eq!(statuses, ["proved"; 5], "the session's verdicts");

    let tmp = tempfile::tempdir().unwrap();
    let original_model = tmp.path().join("digits.onnx");
    formats::save_network(&original_model, &net).unwrap();
    let repaired_model = tmp.path().join("digits-repaired.onnx");
    formats::save_network(&repaired_model, &outcome.network).unwrap();
    let repaired = formats::load_network(&repaired_model).unwrap();
    let mut problems = Vec::new();
    for (k, &ball) in refuted.iter().chain(&proved).enumerate() {
        let vnnlib = tmp.path().join(format!("ball_{ball}.vnnlib"));
        std::fs::write(&vnnlib, write_vnnlib(&gallery.spec(ball), 10).unwrap()).unwrap();
        let property = formats::load_property(&vnnlib).unwrap();
        if k < refuted.len() {
            problems.push((
                format!("digits ball {ball}"),
                net.clone(),
                property.clone(),
                original_model.clone(),
                vnnlib.clone(),
            ));
        }
        problems.push((
            format!("digits ball {ball} (repaired)"),
            repaired.clone(),
            property,
            repaired_model.clone(),
            vnnlib,
        ));
    }
    let Some(decided) = cross_check(&problems) else {
        return;
    };
    assert_eq!(decided, problems.len(), "Marabou decides every digits ball");
}
