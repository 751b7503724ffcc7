//! The app's built-in demos: small classifiers that birdnn trains itself, each with the
//! properties that tell a story about it (one it violates, usually one it keeps).
//!
//! Every demo's training data has a *mislabelled patch*, as real data sets do: the network
//! learns the wrong decision there, and the property written for that patch says what the
//! decision must be. The repair has to fix the patch and keep the rest.
//!
//! `cargo run --release --example make_demos` writes them to `www/demos/` (committed, so the
//! app needs no build step to have them); a test checks the committed files are exactly
//! what this module produces. Training is seeded and uses only the core, so it gives the
//! same bytes on every machine.

use crate::formats::{json, vnnlib};
use crate::network::{Activation, DecisionRule, InputSpec, Network, NetworkMeta};
use crate::property::{InputBox, Property};
use crate::rng::SplitMix64;
use crate::tensor::{Array2, ArrayRef2, BatchRows, BatchRowsMut};
use serde::{Deserialize, Serialize};

/// One entry of `www/demos/index.json`: what the app's demo picker lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DemoEntry {
    /// Short identifier, used in URLs.
    pub id: String,
    /// Title shown in the picker.
    pub title: String,
    /// One or two sentences for the user.
    pub description: String,
    /// Network file name (in `www/demos/`).
    pub network: String,
    /// Property file names (in `www/demos/`).
    pub properties: Vec<String>,
    /// An image gallery file (in `www/demos/`): the app opens its image view, and each
    /// image's robustness ball is a property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gallery: Option<String>,
}

/// A demo: its entry, network and properties.
#[derive(Clone, Debug)]
pub struct Demo {
    /// Picker entry.
    pub entry: DemoEntry,
    /// The trained network.
    pub network: Network,
    /// Its properties, in the order of `entry.properties`.
    pub properties: Vec<Property>,
}

impl Demo {
    /// The files of this demo: (file name, contents).
    pub fn files(&self) -> Vec<(String, String)> {
        let mut files = vec![(self.entry.network.clone(), json::write(&self.network))];
        for (name, p) in self.entry.properties.iter().zip(&self.properties) {
            files.push((name.clone(), vnnlib::write(p)));
        }
        files
    }
}

/// Every demo, in picker order.
pub fn all() -> Vec<Demo> {
    vec![
        zones_demo(Activation::Relu),
        zones_demo(Activation::Tanh),
        braking_demo(),
    ]
}

/// Every demo file plus the `index.json` manifest: (file name, contents).
pub fn files() -> Vec<(String, String)> {
    let demos = all();
    let mut entries: Vec<DemoEntry> = demos.iter().map(|d| d.entry.clone()).collect();
    // Its files are made from third-party data (`crate::images::demo`), its entry is not.
    entries.push(crate::images::demo::digits_entry());
    let mut out = vec![(
        "index.json".to_string(),
        serde_json::to_string_pretty(&entries).expect("entries serialise") + "\n",
    )];
    for d in &demos {
        out.extend(d.files());
    }
    out
}

// --- the 2-D "zones" task -------------------------------------------------------------

const ZONE_NAMES: [&str; 3] = ["above", "below", "centre"];

/// True class of a point of the zones task: a disc in the middle, split by the diagonal
/// outside it.
fn zone(x: f32, y: f32) -> usize {
    if x * x + y * y < 0.45 * 0.45 {
        2
    } else if y > x {
        0
    } else {
        1
    }
}

/// The patch of the training data labelled "above" although it lies below the diagonal.
const ZONE_PATCH: ([f64; 2], [f64; 2]) = ([0.45, -0.85], [0.85, -0.45]);

fn zones_demo(activation: Activation) -> Demo {
    let act = activation.to_string();
    let mut rng = SplitMix64::new(2024);
    let (inputs, labels) = labelled_samples(&mut rng, &[(-1.0, 1.0), (-1.0, 1.0)], 4000, |x| {
        if in_box(x, &ZONE_PATCH.0, &ZONE_PATCH.1) {
            0
        } else {
            zone(x[0], x[1])
        }
    });
    let mut meta = NetworkMeta::generic(2, 3);
    meta.name = format!("zones-{act}");
    meta.inputs = vec![
        InputSpec::plain("x", -1.0, 1.0),
        InputSpec::plain("y", -1.0, 1.0),
    ];
    meta.outputs = ZONE_NAMES.iter().map(|s| s.to_string()).collect();
    let mut network = Network::random(&[2, 24, 24, 3], activation, 7).expect("widths");
    network.set_meta(meta).expect("shape");
    train_classifier(&mut network, &inputs, &labels, &TrainingPlan::default(), 11);
    // The property's box covers the mislabelled patch with a margin, so that everything the
    // network learned wrong lies inside it and "decisions kept outside" measures only the
    // repair's collateral damage.
    let patch = decision_property(
        "patch-must-be-below",
        InputBox::new(vec![0.4, -0.9], vec![0.9, -0.4]).expect("box"),
        3,
        1,
    );
    let centre = decision_property(
        "centre-must-be-centre",
        InputBox::new(vec![-0.2, -0.2], vec![0.2, 0.2]).expect("box"),
        3,
        2,
    );
    let id = format!("zones-{act}");
    Demo {
        entry: DemoEntry {
            title: format!("Three zones, {act} (2 inputs)"),
            description: format!(
                "A {act} network sorts points of the square into three zones. A patch of its \
                 training data was mislabelled, so it answers \"above\" in a small square \
                 below the diagonal; the property says that square must be \"below\"."
            ),
            network: format!("{id}.json"),
            properties: vec![
                format!("{id}-patch-must-be-below.vnnlib"),
                format!("{id}-centre-must-be-centre.vnnlib"),
            ],
            gallery: None,
            id,
        },
        network,
        properties: vec![patch, centre],
    }
}

// --- the 3-D braking task -----------------------------------------------------------

const BRAKING_NAMES: [&str; 3] = ["cruise", "brake", "emergency brake"];
const GRAVITY: f32 = 9.81;
const REACTION_SECONDS: f32 = 1.0;

/// Physical ranges of distance (m), speed (m/s) and road friction (coefficient).
const BRAKING_RANGES: [(f64, f64); 3] = [(0.0, 120.0), (0.0, 30.0), (0.2, 1.0)];

/// True advice: compare the distance to the obstacle with the stopping distance.
fn braking_advice(distance: f32, speed: f32, friction: f32) -> usize {
    let stopping = speed * REACTION_SECONDS + speed * speed / (2.0 * friction * GRAVITY);
    if distance > 2.0 * stopping {
        0
    } else if distance > stopping {
        1
    } else {
        2
    }
}

fn braking_demo() -> Demo {
    let specs: Vec<InputSpec> = [("distance", "m"), ("speed", "m/s"), ("friction", "")]
        .iter()
        .zip(BRAKING_RANGES)
        .map(|(&(name, unit), (min, max))| InputSpec {
            name: name.into(),
            unit: unit.into(),
            min,
            max,
            mean: 0.5 * (min + max),
            range: 0.5 * (max - min),
        })
        .collect();
    // Wet road, short distance, fast: the data set called it "brake" instead of "emergency".
    let patch_physical = ([20.0, 20.0, 0.2], [40.0, 30.0, 0.35]);
    let to_network =
        |p: [f64; 3]| -> Vec<f64> { p.iter().zip(&specs).map(|(&v, s)| s.normalise(v)).collect() };
    let (patch_lo, patch_hi) = (to_network(patch_physical.0), to_network(patch_physical.1));
    let mut rng = SplitMix64::new(77);
    let bounds: Vec<(f64, f64)> = specs.iter().map(|s| s.network_bounds()).collect();
    let (inputs, labels) = labelled_samples(&mut rng, &bounds, 6000, |x| {
        if in_box(x, &patch_lo, &patch_hi) {
            return 1;
        }
        let phys: Vec<f32> = x
            .iter()
            .zip(&specs)
            .map(|(&v, s)| s.denormalise(f64::from(v)) as f32)
            .collect();
        braking_advice(phys[0], phys[1], phys[2])
    });
    let meta = NetworkMeta {
        name: "braking".into(),
        inputs: specs.clone(),
        outputs: BRAKING_NAMES.iter().map(|s| s.to_string()).collect(),
        output_scaling: Default::default(),
        decision: Default::default(),
    };
    let mut network = Network::random(&[3, 32, 32, 3], Activation::Relu, 5).expect("widths");
    network.set_meta(meta).expect("shape");
    train_classifier(&mut network, &inputs, &labels, &TrainingPlan::default(), 13);
    // As in the zones demo, the box covers the mislabelled patch with a margin; the true
    // advice is "emergency brake" everywhere in it.
    let wet = decision_property(
        "wet-and-close-must-brake-hard",
        InputBox::new(to_network([15.0, 18.0, 0.2]), to_network([45.0, 30.0, 0.4])).expect("box"),
        3,
        2,
    );
    let far = decision_property(
        "far-and-slow-must-cruise",
        InputBox::new(to_network([90.0, 0.0, 0.5]), to_network([120.0, 5.0, 1.0])).expect("box"),
        3,
        0,
    );
    Demo {
        entry: DemoEntry {
            id: "braking".into(),
            title: "Braking advice, ReLU (3 inputs)".into(),
            description: "Distance to an obstacle, speed and road friction decide between \
                          cruising, braking and an emergency stop. Wet-road samples at short \
                          distance were labelled \"brake\" in training; the property demands an \
                          emergency stop there. Slice by friction to find the mistake."
                .into(),
            network: "braking.json".into(),
            properties: vec![
                "braking-wet-and-close-must-brake-hard.vnnlib".into(),
                "braking-far-and-slow-must-cruise.vnnlib".into(),
            ],
            gallery: None,
        },
        network,
        properties: vec![wet, far],
    }
}

// --- shared pieces --------------------------------------------------------------------

fn in_box(x: &[f32], lo: &[f64], hi: &[f64]) -> bool {
    x.iter()
        .zip(lo.iter().zip(hi))
        .all(|(&v, (&l, &h))| f64::from(v) >= l && f64::from(v) <= h)
}

fn labelled_samples(
    rng: &mut SplitMix64,
    bounds: &[(f64, f64)],
    count: usize,
    label: impl Fn(&[f32]) -> usize,
) -> (Array2<f32>, Vec<usize>) {
    let mut inputs = Array2::zeros((count, bounds.len()));
    let mut labels = Vec::with_capacity(count);
    for r in 0..count {
        let row = inputs.row_slice_mut(r);
        for (v, &(lo, hi)) in row.iter_mut().zip(bounds) {
            *v = (lo + rng.next_f64() * (hi - lo)) as f32;
        }
        labels.push(label(row));
    }
    (inputs, labels)
}

/// "Inside `input_box`, the decision (argmax) must be `class`".
pub fn decision_property(
    name: &str,
    input_box: InputBox,
    outputs: usize,
    class: usize,
) -> Property {
    crate::property::decision_must_be(name, input_box, outputs, class, DecisionRule::Argmax)
}

/// How [`train_classifier`] trains.
#[derive(Clone, Debug)]
pub struct TrainingPlan {
    /// Passes over the data.
    pub epochs: usize,
    /// Samples per step.
    pub batch: usize,
    /// Adam step size.
    pub learning_rate: f32,
}

impl Default for TrainingPlan {
    fn default() -> Self {
        TrainingPlan {
            epochs: 150,
            batch: 64,
            learning_rate: 0.005,
        }
    }
}

/// Trains a classifier (softmax cross-entropy on the outputs, Adam) in place; the batches
/// are shuffled by `seed`. Returns the final training accuracy.
pub fn train_classifier(
    net: &mut Network,
    inputs: &ArrayRef2<f32>,
    labels: &[usize],
    plan: &TrainingPlan,
    seed: u64,
) -> f64 {
    let inputs = &*crate::tensor::standard(inputs);
    const BETA1: f32 = 0.9;
    const BETA2: f32 = 0.999;
    let (mut m, mut v) = (net.zero_gradients(), net.zero_gradients());
    let mut rng = SplitMix64::new(seed);
    let mut order: Vec<usize> = (0..inputs.nrows()).collect();
    let mut t = 0i32;
    for _ in 0..plan.epochs {
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for chunk in order.chunks(plan.batch.max(1)) {
            let x = inputs.select_rows(chunk);
            let trace = net.forward_trace(&x).expect("inputs fit");
            let mut d_out = trace.output().clone();
            for (r, &sample) in chunk.iter().enumerate() {
                let row = d_out.row_slice_mut(r);
                let top = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0.0;
                for y in row.iter_mut() {
                    *y = libm::expf(*y - top);
                    sum += *y;
                }
                for (j, y) in row.iter_mut().enumerate() {
                    let target = if j == labels[sample] { 1.0 } else { 0.0 };
                    *y = (*y / sum - target) / chunk.len() as f32;
                }
            }
            let grads = net.parameter_gradients(&trace, &d_out);
            t += 1;
            let (c1, c2) = (1.0 - BETA1.powi(t), 1.0 - BETA2.powi(t));
            let mut step = net.zero_gradients();
            for ((g, (ml, vl)), sl) in grads
                .iter()
                .zip(m.iter_mut().zip(v.iter_mut()))
                .zip(step.iter_mut())
            {
                let pairs = [
                    (
                        &g.weights,
                        &mut ml.weights,
                        &mut vl.weights,
                        &mut sl.weights,
                    ),
                    (&g.bias, &mut ml.bias, &mut vl.bias, &mut sl.bias),
                ];
                for (gs, ms, vs, ss) in pairs {
                    for (((&gi, mi), vi), si) in gs.iter().zip(ms).zip(vs).zip(ss) {
                        *mi = BETA1 * *mi + (1.0 - BETA1) * gi;
                        *vi = BETA2 * *vi + (1.0 - BETA2) * gi * gi;
                        *si = (*mi / c1) / ((*vi / c2).sqrt() + 1e-8);
                    }
                }
            }
            net.add_scaled(&step, -plan.learning_rate);
        }
    }
    let decisions = net.decisions(inputs).expect("inputs fit");
    let right = decisions.iter().zip(labels).filter(|(a, b)| a == b).count();
    right as f64 / labels.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::falsify::{Falsifier, FalsifierConfig};

    #[test]
    fn decision_properties_flag_every_other_winner() {
        let p = decision_property("p", InputBox::new(vec![0.0], vec![1.0]).unwrap(), 3, 1);
        assert!(!p.is_negative(&[0.5], &[0.0, 1.0, 0.5]));
        assert!(p.is_negative(&[0.5], &[2.0, 1.0, 0.5]));
        assert!(
            p.is_negative(&[0.5], &[0.0, 1.0, 1.0]),
            "ties are violations"
        );
        assert!(!p.is_negative(&[1.5], &[2.0, 1.0, 0.5]), "outside the box");
    }

    #[test]
    fn training_learns_a_separable_task() {
        let mut rng = SplitMix64::new(1);
        let (x, labels) = labelled_samples(&mut rng, &[(-1.0, 1.0), (-1.0, 1.0)], 500, |x| {
            usize::from(x[0] > x[1])
        });
        let mut net = Network::random(&[2, 8, 2], Activation::Relu, 2).unwrap();
        let plan = TrainingPlan {
            epochs: 40,
            ..TrainingPlan::default()
        };
        assert!(train_classifier(&mut net, &x, &labels, &plan, 3) > 0.97);
    }

    /// The committed files are what the generator makes, and each demo tells its story: a
    /// network that learned the task, a violated property (the falsifier finds it) and,
    /// where there is one, a property it keeps on 20,000 samples.
    #[test]
    fn committed_demos_are_regenerated_exactly_and_tell_their_story() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("www/demos");
        for (name, contents) in files() {
            let committed = std::fs::read_to_string(dir.join(&name))
                .unwrap_or_else(|e| panic!("www/demos/{name}: {e} (run make_demos)"));
            assert!(
                committed == contents,
                "www/demos/{name} is stale: run `cargo run --release --example make_demos`"
            );
        }
        for demo in all() {
            let [broken, kept] = &demo.properties[..] else {
                panic!("{}: two properties", demo.entry.id)
            };
            let mut falsifier = Falsifier::new(
                &demo.network,
                std::slice::from_ref(broken),
                FalsifierConfig::default(),
            )
            .unwrap();
            while !falsifier.is_done() {
                falsifier.step();
            }
            assert!(
                !falsifier.counterexamples().is_empty(),
                "{}: {} must be violated",
                demo.entry.id,
                broken.name
            );
            let mut rng = SplitMix64::new(3);
            let x = crate::sampling::sample_property(&mut rng, kept, 20_000);
            let y = demo.network.forward(&x).unwrap();
            let negatives = crate::property::negatives_of(std::slice::from_ref(kept), &x, &y);
            assert!(
                negatives.iter().all(|n| !n),
                "{}: {} must hold",
                demo.entry.id,
                kept.name
            );
        }
    }
}
