//! The core against the shared ACAS Xu reference data: loaders, forward pass, properties,
//! the sampler, violation rates, and the falsifier.

mod common;

use birdnn::falsify::{Falsifier, FalsifierConfig};
use birdnn::formats::{self, csv};
use birdnn::network::{DecisionRule, Network};
use birdnn::property::{classify, Property};
use birdnn::rng::SplitMix64;
use birdnn::sampling::sample_box;
use birdnn::tensor::{Array2, BatchRows};
use common::{acasxu_dir, all_networks, network_path};
use std::collections::HashMap;
use std::path::Path;

fn read_csv(path: &Path) -> Array2<f32> {
    let text = std::fs::read_to_string(path).unwrap();
    csv::read(&path.display().to_string(), &text).unwrap().rows
}

fn load(path: &Path) -> Network {
    formats::load_network(path).unwrap_or_else(|e| panic!("{e}"))
}

fn property(dir: &Path, p: usize) -> Property {
    formats::load_property(&dir.join(format!("vnnlib/prop_{p}.vnnlib"))).unwrap()
}

fn max_abs_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!((a.nrows(), a.ncols()), (b.nrows(), b.ncols()));
    a.flat()
        .iter()
        .zip(b.flat())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn all_45_networks_in_both_formats_match_the_reference_outputs() {
    let Some(dir) = acasxu_dir() else { return };
    let inputs = read_csv(&dir.join("reference/inputs.csv"));
    let inputs_close = read_csv(&dir.join("reference/inputs_close.csv"));
    let mut worst = 0.0f32;
    for (i, j) in all_networks() {
        let expected = read_csv(&dir.join(format!("reference/outputs_{i}_{j}.csv")));
        let expected_close = read_csv(&dir.join(format!("reference/outputs_close_{i}_{j}.csv")));
        let onnx = load(&network_path(&dir, i, j, "onnx"));
        let nnet = load(&network_path(&dir, i, j, "nnet"));
        // Every ONNX weight is the .nnet decimal rounded to f32: the layers are identical.
        assert_eq!(
            onnx.layers(),
            nnet.layers(),
            "N{i},{j}: ONNX and .nnet weights differ"
        );
        for net in [&onnx, &nnet] {
            for (x, y) in [(&inputs, &expected), (&inputs_close, &expected_close)] {
                let d = max_abs_diff(&net.forward(x).unwrap(), y);
                assert!(d <= 1e-5, "N{i},{j}: max difference {d}");
                worst = worst.max(d);
            }
        }
    }
    eprintln!("largest difference from onnxruntime over 45 x 2 x 128 outputs: {worst:e}");
}

#[test]
fn acas_networks_are_recognised_with_physical_units_and_argmin() {
    let Some(dir) = acasxu_dir() else { return };
    for ext in ["onnx", "nnet"] {
        let net = load(&network_path(&dir, 1, 9, ext));
        let meta = net.meta();
        assert_eq!(meta.decision, DecisionRule::Argmin, "{ext}");
        assert_eq!(meta.inputs[0].name, "rho");
        assert_eq!(meta.inputs[0].unit, "ft");
        assert_eq!(meta.outputs[0], "COC");
        assert_eq!(net.widths(), vec![5, 50, 50, 50, 50, 50, 50, 5]);
        assert_eq!(net.parameter_count(), 13_305);
        // rho = 0 ft normalises to the lower bound of the benchmark's box.
        assert!((meta.inputs[0].normalise(0.0) - -0.328_422_877_151_059_56).abs() < 1e-6);
    }
}

#[test]
fn written_onnx_and_nnet_reload_with_identical_outputs() {
    let Some(dir) = acasxu_dir() else { return };
    let inputs = read_csv(&dir.join("reference/inputs_close.csv"));
    let tmp = tempfile::tempdir().unwrap();
    for (i, j) in [(1, 9), (2, 9), (3, 3), (5, 7)] {
        let net = load(&network_path(&dir, i, j, "onnx"));
        let expected = net.forward(&inputs).unwrap();
        for ext in ["onnx", "nnet", "json"] {
            let path = tmp.path().join(format!("n{i}{j}.{ext}"));
            formats::save_network(&path, &net).unwrap();
            let back = load(&path);
            assert_eq!(back.layers(), net.layers(), "N{i},{j} via .{ext}");
            assert_eq!(back.meta().inputs, net.meta().inputs, "N{i},{j} via .{ext}");
            assert_eq!(back.meta().decision, DecisionRule::Argmin);
            assert_eq!(
                back.forward(&inputs).unwrap(),
                expected,
                "N{i},{j} via .{ext}"
            );
        }
    }
}

#[test]
fn all_ten_properties_parse_with_the_documented_shape() {
    let Some(dir) = acasxu_dir() else { return };
    let props: Vec<Property> = (1..=10).map(|p| property(&dir, p)).collect();
    for (k, p) in props.iter().enumerate() {
        assert_eq!((p.num_inputs, p.num_outputs), (5, 5), "prop_{}", k + 1);
    }
    let boxes: Vec<usize> = props.iter().map(|p| p.input_boxes.len()).collect();
    assert_eq!(boxes, [1, 1, 1, 1, 1, 2, 1, 1, 1, 1]);
    let disjuncts: Vec<usize> = props
        .iter()
        .map(|p| p.unsafe_region.disjuncts.len())
        .collect();
    assert_eq!(disjuncts, [1, 1, 1, 1, 4, 4, 2, 3, 4, 4]);
    // Property 1: COC >= 1500 ft/s (raw), i.e. -Y_0 <= -3.991125645861615.
    let p1 = &props[0].unsafe_region.disjuncts[0][0];
    assert_eq!(p1.coefficients, vec![-1.0, 0.0, 0.0, 0.0, 0.0]);
    assert_eq!(p1.rhs, -3.991125645861615);
    // Property 4 fixes psi: a zero-width interval at 0.
    assert_eq!(props[3].input_boxes[0].lower[2], 0.0);
    assert_eq!(props[3].input_boxes[0].upper[2], 0.0);
    // Property 7's box is the whole domain from rho = 0 ft.
    assert_eq!(props[6].input_boxes[0].lower[0], -0.328422877);
    // Writing and reading back gives the same property.
    for p in &props {
        let back = formats::vnnlib::read("back.vnnlib", &formats::vnnlib::write(p)).unwrap();
        assert_eq!(back.input_boxes, p.input_boxes, "{}", p.name);
        assert_eq!(back.unsafe_region, p.unsafe_region, "{}", p.name);
    }
}

#[test]
fn the_sampler_reproduces_the_reference_samples_bit_for_bit() {
    let Some(dir) = acasxu_dir() else { return };
    let text = std::fs::read_to_string(dir.join("reference/sampler_check.csv")).unwrap();
    let mut checked = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let seed: u64 = f[0].parse().unwrap();
        let k: usize = f[1].parse().unwrap();
        let first_u64: u64 = f[2].parse().unwrap();
        let expected: Vec<f32> = f[3..8].iter().map(|v| v.parse().unwrap()).collect();
        // Seeds 1010..1100 step 10 belong to properties 1..10; 1060/1061 are property 6's boxes.
        let (p, box_index) = match seed {
            1060 => (6, 0),
            1061 => (6, 1),
            s => (((s - 1000) / 10) as usize, 0),
        };
        let input_box = &property(&dir, p).input_boxes[box_index];
        let mut rng = SplitMix64::new(seed);
        for _ in 0..5 * k {
            rng.next_u64();
        }
        assert_eq!(rng.clone().next_u64(), first_u64, "seed {seed} row {k}");
        let x = sample_box(&mut rng, input_box, 1);
        assert_eq!(x.row_slice(0), expected.as_slice(), "seed {seed} row {k}");
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} rows checked");
    // reference/inputs.csv: seed 42 over the whole normalised domain.
    let inputs = read_csv(&dir.join("reference/inputs.csv"));
    let domain = birdnn::property::InputBox::new(
        vec![
            -0.32842287715105956,
            -0.5000000551328638,
            -0.5000000551328638,
            -0.5,
            -0.5,
        ],
        vec![
            0.6798577687061284,
            0.5000000551328638,
            0.5000000551328638,
            0.5,
            0.5,
        ],
    )
    .unwrap();
    assert_eq!(sample_box(&mut SplitMix64::new(42), &domain, 64), inputs);
}

struct ReferenceRow {
    i: usize,
    j: usize,
    property: usize,
    region: String,
    seed: u64,
    samples: usize,
    violations: usize,
    in_repair_list: bool,
}

fn reference_rows(dir: &Path) -> Vec<ReferenceRow> {
    let text = std::fs::read_to_string(dir.join("reference/violations.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            ReferenceRow {
                i: f[0].parse().unwrap(),
                j: f[1].parse().unwrap(),
                property: f[2].parse().unwrap(),
                region: f[3].to_string(),
                seed: f[4].parse().unwrap_or(0),
                samples: f[5].parse().unwrap(),
                violations: f[6].parse().unwrap(),
                in_repair_list: f[8] == "1",
            }
        })
        .collect()
}

/// Every (network, property) pair of BIRDNN's repair list, plus property 2 on all 45
/// networks (the 34 violation instances and the ones that do not violate it), compared with
/// onnxruntime's counts on the same 100,000 samples. The core computes in f32 with its own
/// summation order, so points on a decision boundary may flip: a few counts of slack.
#[test]
fn violation_counts_agree_with_the_reference() {
    let Some(dir) = acasxu_dir() else { return };
    let rows = reference_rows(&dir);
    let props: HashMap<usize, Property> = (1..=10).map(|p| (p, property(&dir, p))).collect();
    let mut samples: HashMap<(usize, String), Array2<f32>> = HashMap::new();
    let mut nets: HashMap<(usize, usize), Network> = HashMap::new();
    let (mut compared, mut exact, mut p2_violating) = (0, 0, 0);
    for row in rows
        .iter()
        .filter(|r| r.region == "box" && (r.in_repair_list || r.property == 2))
    {
        let p = &props[&row.property];
        let x = samples
            .entry((row.property, row.region.clone()))
            .or_insert_with(|| {
                sample_box(
                    &mut SplitMix64::new(row.seed),
                    &p.input_boxes[0],
                    row.samples,
                )
            });
        let net = nets
            .entry((row.i, row.j))
            .or_insert_with(|| load(&network_path(&dir, row.i, row.j, "onnx")));
        let count = classify(net, std::slice::from_ref(p), x)
            .unwrap()
            .iter()
            .filter(|&&n| n)
            .count();
        let slack = 3;
        assert!(
            count.abs_diff(row.violations) <= slack,
            "N{},{} p{}: {count} violations, reference {}",
            row.i,
            row.j,
            row.property,
            row.violations
        );
        compared += 1;
        exact += usize::from(count == row.violations);
        if row.property == 2 && count > 0 {
            p2_violating += 1;
        }
    }
    eprintln!("{compared} (network, property) pairs compared, {exact} exactly equal");
    assert!(compared >= 140, "only {compared} pairs compared");
    // The benchmark's statement: 34 networks violate property 2 (N1,x are not meant for it).
    let p2_instances = rows
        .iter()
        .filter(|r| r.property == 2 && r.i >= 2 && r.violations > 0)
        .count();
    assert!(
        p2_violating >= p2_instances,
        "{p2_violating} vs {p2_instances}"
    );
}

#[test]
fn property_6_union_counts_agree_with_the_reference() {
    let Some(dir) = acasxu_dir() else { return };
    let rows = reference_rows(&dir);
    let p6 = property(&dir, 6);
    for (i, j) in [(1, 1), (2, 9), (4, 5)] {
        let net = load(&network_path(&dir, i, j, "onnx"));
        let mut total = 0;
        for (k, seed) in [(0usize, 1060u64), (1, 1061)] {
            let x = sample_box(&mut SplitMix64::new(seed), &p6.input_boxes[k], 100_000);
            total += classify(&net, std::slice::from_ref(&p6), &x)
                .unwrap()
                .iter()
                .filter(|&&n| n)
                .count();
        }
        let reference = rows
            .iter()
            .find(|r| (r.i, r.j, r.property) == (i, j, 6) && r.region == "union")
            .unwrap();
        assert_eq!(reference.samples, 200_000);
        assert!(
            total.abs_diff(reference.violations) <= 3,
            "N{i},{j}: {total} vs {}",
            reference.violations
        );
    }
}

/// On N1,9 with property 7, 100,000 uniform samples contain no counterexample; the
/// falsifier finds some, and each one checks out on the real network.
#[test]
fn the_falsifier_finds_counterexamples_that_sampling_misses_on_n19_p7() {
    let Some(dir) = acasxu_dir() else { return };
    let net = load(&network_path(&dir, 1, 9, "onnx"));
    let p7 = property(&dir, 7);
    let props = [p7];
    let x = sample_box(&mut SplitMix64::new(7), &props[0].input_boxes[0], 100_000);
    let sampled = classify(&net, &props, &x)
        .unwrap()
        .iter()
        .filter(|&&n| n)
        .count();
    assert_eq!(
        sampled, 0,
        "uniform sampling found {sampled} counterexamples"
    );

    let config = FalsifierConfig {
        seed: 1,
        max_counterexamples: 20,
        ..Default::default()
    };
    let found = Falsifier::new(&net, &props, config).unwrap().run();
    eprintln!(
        "falsifier found {} counterexamples on N1,9 / p7",
        found.len()
    );
    assert!(!found.is_empty(), "the falsifier found no counterexample");
    for c in &found {
        let y = net.forward_one(&c.input).unwrap();
        assert_eq!(y, c.output);
        assert!(props[0].is_negative(&c.input, &y), "{c:?}");
        // The advisory is strong left or strong right where the property forbids it.
        let advisory = net.meta().decision.decide(&y).unwrap();
        assert!(advisory == 3 || advisory == 4, "advisory {advisory}");
    }
}
