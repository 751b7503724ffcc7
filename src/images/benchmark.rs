//! The image-robustness benchmark, seeded end to end: split a labelled set into training,
//! repair-pool and held-out images, train a classifier with the project's own trainer, pick
//! the repair set (the first correctly classified pool images the falsifier breaks at
//! `eps`), build the repair's data, and measure a repaired network the way the peers do
//! (drawdown D, generalisation G, efficacy: [`super::measure`]).
//!
//! Nothing here reads files or clocks, so the browser worker runs the same code.

use super::{robustness_property, ImageError, ImageSet};
use crate::demos::{train_classifier, TrainingPlan};
use crate::falsify::{counterexample_inputs, Falsifier, FalsifierConfig};
use crate::network::{Activation, InputSpec, Network, NetworkError, NetworkMeta};
use crate::property::{Property, PropertyError};
use crate::repair::data::{neighbourhood, split, HeldOut, RepairData};
use crate::rng::SplitMix64;
use crate::sampling::sample_box;
use crate::tensor::{to_standard, Array2, ArrayRef2, BatchGrow, BatchRows};

/// Training, repair-pool and held-out images, disjoint.
#[derive(Clone, Debug)]
pub struct Split {
    /// What the classifier is trained on (and the repair keeps the decisions of).
    pub train: ImageSet,
    /// Where the repair set comes from.
    pub pool: ImageSet,
    /// Never seen by training or repair: accuracy, drawdown and generalisation.
    pub held_out: ImageSet,
}

/// Shuffles the images by `seed` and cuts them into `train_share` and `pool_share` of the
/// set, the rest held out.
pub fn split_images(set: &ImageSet, train_share: f64, pool_share: f64, seed: u64) -> Split {
    let mut order: Vec<usize> = (0..set.len()).collect();
    let mut rng = SplitMix64::new(seed);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let n = set.len() as f64;
    let train_end = ((n * train_share).round() as usize).min(set.len());
    let pool_end = ((n * (train_share + pool_share)).round() as usize).clamp(train_end, set.len());
    Split {
        train: set.select(&order[..train_end]),
        pool: set.select(&order[train_end..pool_end]),
        held_out: set.select(&order[pool_end..]),
    }
}

/// Metadata of an image classifier: inputs `pixel r,c` over `[0, 1]`, outputs `class k`.
pub fn image_meta(width: usize, height: usize, classes: usize) -> NetworkMeta {
    let mut meta = NetworkMeta::generic(width * height, classes);
    for (i, spec) in meta.inputs.iter_mut().enumerate() {
        *spec = InputSpec::plain(format!("pixel {},{}", i / width, i % width), 0.0, 1.0);
    }
    meta.outputs = (0..classes).map(|k| format!("class {k}")).collect();
    meta
}

/// A classifier `pixels -> hidden... -> classes` trained on `images`; returns it and its
/// training accuracy.
pub fn train_image_classifier(
    images: &ImageSet,
    hidden: &[usize],
    activation: Activation,
    classes: usize,
    plan: &TrainingPlan,
    seed: u64,
) -> Result<(Network, f64), NetworkError> {
    let mut widths = vec![images.pixels.ncols()];
    widths.extend_from_slice(hidden);
    widths.push(classes);
    let mut net = Network::random(&widths, activation, seed)?;
    net.set_meta(image_meta(images.width, images.height, classes))?;
    let accuracy = train_classifier(&mut net, &images.pixels, &images.labels, plan, seed ^ 1);
    Ok((net, accuracy))
}

/// Share of `images` the network classifies as labelled.
pub fn accuracy(net: &Network, images: &ImageSet) -> Result<f64, NetworkError> {
    let decisions = net.decisions(&images.pixels)?;
    let right = decisions
        .iter()
        .zip(&images.labels)
        .filter(|(d, l)| d == l)
        .count();
    Ok(right as f64 / images.len().max(1) as f64)
}

/// The robustness property of image `i` of `images` under its true label, for a network
/// with `classes` outputs.
pub fn property_of(
    images: &ImageSet,
    i: usize,
    eps: f64,
    classes: usize,
) -> Result<Property, ImageError> {
    robustness_property(
        &format!("image {i} (label {}) eps {eps}", images.labels[i]),
        images.image(i),
        images.labels[i],
        eps,
        classes,
    )
}

/// The falsifier's counterexamples in one property's region (at most
/// `config.max_counterexamples`), as rows.
pub fn attack(
    net: &Network,
    property: &Property,
    config: &FalsifierConfig,
) -> Result<Array2<f32>, PropertyError> {
    let found = Falsifier::new(net, std::slice::from_ref(property), config.clone())?.run();
    Ok(counterexample_inputs(&found, net.input_size()))
}

/// The falsifier of property `i` when a repair set is chosen ([`cases_of`]).
pub(super) fn case_attack(attack_config: &FalsifierConfig, i: usize) -> FalsifierConfig {
    FalsifierConfig {
        seed: attack_config.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        ..attack_config.clone()
    }
}

/// The falsifier of case `k` when the report's held-out counterexamples are drawn
/// ([`held_out_data`]): another seed than the one that found the case.
pub(super) fn held_out_attack(attack_config: &FalsifierConfig, k: usize) -> FalsifierConfig {
    FalsifierConfig {
        seed: attack_config.seed ^ 0x4E1D_0075 ^ k as u64,
        ..attack_config.clone()
    }
}

/// One image of the repair set: correctly classified, broken by the falsifier.
#[derive(Clone, Debug)]
pub struct RepairCase {
    /// Index in the pool.
    pub index: usize,
    /// Its robustness property.
    pub property: Property,
    /// What the falsifier found in the property's region on the original network.
    pub counterexamples: Array2<f32>,
}

/// The repair cases of `properties` (any boxes, the first of each is used): what the
/// falsifier configured by `attack_config` finds in each; properties it finds nothing in are
/// left out.
pub fn cases_of(
    net: &Network,
    properties: &[Property],
    attack_config: &FalsifierConfig,
) -> Result<Vec<RepairCase>, PropertyError> {
    let mut cases = Vec::new();
    for (i, property) in properties.iter().enumerate() {
        let found = attack(net, property, &case_attack(attack_config, i))?;
        if found.nrows() > 0 {
            cases.push(RepairCase {
                index: i,
                property: property.clone(),
                counterexamples: found,
            });
        }
    }
    Ok(cases)
}

/// The first `count` pool images (in pool order) that `net` classifies correctly and the
/// falsifier breaks at `eps`.
pub fn repair_set(
    net: &Network,
    pool: &ImageSet,
    eps: f64,
    count: usize,
    attack_config: &FalsifierConfig,
) -> Result<Vec<RepairCase>, ImageError> {
    let decisions = net.decisions(&pool.pixels)?;
    let mut cases = Vec::new();
    for (i, (&decision, &label)) in decisions.iter().zip(&pool.labels).enumerate() {
        if cases.len() == count {
            break;
        }
        if decision != label {
            continue;
        }
        let property = property_of(pool, i, eps, net.output_size())?;
        let config = FalsifierConfig {
            seed: attack_config.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            ..attack_config.clone()
        };
        let found = attack(net, &property, &config)?;
        if found.nrows() > 0 {
            cases.push(RepairCase {
                index: i,
                property,
                counterexamples: found,
            });
        }
    }
    Ok(cases)
}

/// How the repair's data is drawn around the repair set.
#[derive(Clone, Debug)]
pub struct ImageDataPlan {
    /// Random points of each repair box kept as positives when the original is right there.
    pub box_samples: usize,
    /// Random points within 1 % of the box around each counterexample, kept when wrong.
    pub pocket_samples: usize,
    /// Random points of each training image's ball (the repair set's radius) kept as
    /// positives where the original decides as it does on the image: a repair that moves
    /// boundaries must not move them into the balls of images that were robust.
    pub kept_ball_samples: usize,
    /// Share of each set set aside for validation.
    pub validation_share: f64,
    /// Guard the balls of this many kept images nearest to each repair image (those the
    /// original classifies right): the repair searches them for breaks it made
    /// ([`crate::repair::RepairSession::set_guards`]).
    pub guard_neighbours: usize,
    /// Guard the balls of the pool images left out of the repair set, where the original
    /// is right ([`unrepaired_pool_balls`]).
    pub guard_pool: bool,
}

impl Default for ImageDataPlan {
    fn default() -> Self {
        ImageDataPlan {
            box_samples: 32,
            pocket_samples: 8,
            kept_ball_samples: 2,
            validation_share: 0.2,
            guard_neighbours: 8,
            guard_pool: true,
        }
    }
}

/// The repair's data: the counterexamples of the repair set and the wrong points around
/// them are the negatives; the `kept` inputs (training images) and the right points of each
/// repair box are the positives (their decisions are kept).
pub fn repair_data(
    net: &Network,
    kept: &ArrayRef2<f32>,
    cases: &[RepairCase],
    plan: &ImageDataPlan,
    seed: u64,
) -> Result<RepairData, PropertyError> {
    let kept = &*crate::tensor::standard(kept);
    let mut rng = SplitMix64::new(seed);
    let n = net.input_size();
    let properties: Vec<Property> = cases.iter().map(|c| c.property.clone()).collect();
    // A kept input inside a repair box that breaks it (a misclassified image whose ball is
    // repaired) is a counterexample to fix, not a decision to keep.
    let (mut negatives, mut positives) = crate::repair::data::partition(net, &properties, kept)?;
    let mut candidates = Array2::zeros((0, n));
    for case in cases {
        let region = &case.property.input_boxes[0];
        for r in 0..case.counterexamples.nrows() {
            let x = case.counterexamples.row_slice(r);
            negatives.push_slice(x).expect("input width");
            if let Some(around) = neighbourhood(x, region, 0.01) {
                candidates
                    .append_rows(&sample_box(&mut rng, &around, plan.pocket_samples))
                    .expect("input width");
            }
        }
        candidates
            .append_rows(&sample_box(&mut rng, region, plan.box_samples))
            .expect("input width");
    }
    let (wrong, right) = crate::repair::data::partition(net, &properties, &candidates)?;
    negatives.append_rows(&wrong).expect("input width");
    positives.append_rows(&right).expect("input width");
    let radius = repair_radius(cases);
    if plan.kept_ball_samples > 0 && radius > 0.0 {
        positives
            .append_rows(&kept_ball_points(
                net,
                kept,
                radius,
                plan.kept_ball_samples,
                &mut rng,
            )?)
            .expect("input width");
    }
    let (negatives, validation_negatives) = split(&negatives, plan.validation_share);
    let (positives, validation_positives) = split(&positives, plan.validation_share);
    Ok(RepairData {
        negatives,
        positives,
        validation_negatives,
        validation_positives,
    })
}

/// The balls (of the repair radius) around the `per_case` kept images nearest to each
/// case's image (Euclidean distance from the box centre) that `net` classifies as labelled:
/// where a repair that moves a boundary away from one image moves it into its neighbours.
pub fn guard_balls(
    net: &Network,
    images: &ImageSet,
    cases: &[RepairCase],
    per_case: usize,
) -> Result<Vec<Property>, ImageError> {
    let radius = repair_radius(cases);
    let decisions = net.decisions(&images.pixels)?;
    let right: Vec<usize> = (0..images.len())
        .filter(|&i| decisions[i] == images.labels[i])
        .collect();
    let mut chosen = std::collections::BTreeSet::new();
    for case in cases {
        let region = &case.property.input_boxes[0];
        let centre: Vec<f64> = region
            .lower
            .iter()
            .zip(&region.upper)
            .map(|(l, u)| (l + u) / 2.0)
            .collect();
        let mut by_distance: Vec<(f64, usize)> = right
            .iter()
            .map(|&i| {
                let d: f64 = images
                    .image(i)
                    .iter()
                    .zip(&centre)
                    .map(|(&p, c)| (p as f64 - c).powi(2))
                    .sum();
                (d, i)
            })
            .collect();
        by_distance.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        chosen.extend(by_distance.iter().take(per_case).map(|&(_, i)| i));
    }
    chosen
        .into_iter()
        .map(|i| property_of(images, i, radius, net.output_size()))
        .collect()
}

/// The balls (of the repair radius) of the `pool` images that are not among the `cases`
/// and that `net` classifies as labelled. Training images are fitted by the repair's data,
/// so a repair that breaks their neighbours' balls can still keep their own; no part of
/// the repair is fitted to these, and their breaks are the ones unseen images suffer
/// (measured on digits N = 50, repair seeds 0-3: held-out images newly broken 8.25 -> 4.75
/// on average for ReLU and 9.5 -> 7.0 for tanh).
pub fn unrepaired_pool_balls(
    net: &Network,
    pool: &ImageSet,
    cases: &[RepairCase],
) -> Result<Vec<Property>, ImageError> {
    let radius = repair_radius(cases);
    let repaired: std::collections::BTreeSet<usize> = cases.iter().map(|c| c.index).collect();
    let decisions = net.decisions(&pool.pixels)?;
    (0..pool.len())
        .filter(|i| !repaired.contains(i) && decisions[*i] == pool.labels[*i])
        .map(|i| property_of(pool, i, radius, net.output_size()))
        .collect()
}

/// The largest L-infinity radius of the cases' boxes.
fn repair_radius(cases: &[RepairCase]) -> f64 {
    cases
        .iter()
        .flat_map(|c| {
            let b = &c.property.input_boxes[0];
            b.lower.iter().zip(&b.upper).map(|(l, u)| (u - l) / 2.0)
        })
        .fold(0.0f64, f64::max)
}

/// `per_image` random points of each image's ball of `radius` where the network decides as
/// it does on the image.
fn kept_ball_points(
    net: &Network,
    images: &ArrayRef2<f32>,
    radius: f64,
    per_image: usize,
    rng: &mut SplitMix64,
) -> Result<Array2<f32>, PropertyError> {
    let mut points = Array2::zeros((0, images.ncols()));
    let mut owner = Vec::new();
    for r in 0..images.nrows() {
        if let Ok(around) = super::ball(images.row_slice(r), radius) {
            points
                .append_rows(&sample_box(rng, &around, per_image))
                .expect("input width");
            owner.extend(std::iter::repeat_n(r, per_image));
        }
    }
    let image_decisions = net.decisions(images)?;
    let point_decisions = net.decisions(&points)?;
    let same: Vec<usize> = (0..points.nrows())
        .filter(|&k| point_decisions[k] == image_decisions[owner[k]])
        .collect();
    Ok(points.select_rows(&same))
}

/// Held-out data for the repair's own report: the held-out images as positives, and fresh
/// counterexamples of the repair boxes (another seed) as negatives.
pub fn held_out_data(
    net: &Network,
    held_out: &ArrayRef2<f32>,
    cases: &[RepairCase],
    attack_config: &FalsifierConfig,
) -> Result<HeldOut, PropertyError> {
    let held_out = &*crate::tensor::standard(held_out);
    let mut negatives = Array2::zeros((0, net.input_size()));
    for (k, case) in cases.iter().enumerate() {
        negatives
            .append_rows(&attack(
                net,
                &case.property,
                &held_out_attack(attack_config, k),
            )?)
            .expect("input width");
    }
    Ok(HeldOut {
        negatives,
        positives: to_standard(held_out),
    })
}

/// Repair settings suited to image robustness: every layer trains (the last layer alone
/// cannot move a ball's worth of hidden features), with the interval-bound certified-training
/// term on (weight 1.0; without it retraining left 6-10 of 10 falsifier-clean balls
/// unproved; the kept-ball samples of [`ImageDataPlan`] hold the accuracy), a 2-point validation fidelity drop allowed per round,
/// and the falsifier searching each candidate's boxes up to 20 times. Certified last-layer
/// repair is not handed the result: on the digits networks it could not certify the boxes
/// and cost most of the accuracy (measured: 96.1 % -> 52.4 % with 50 boxes).
pub fn image_repair_settings() -> crate::repair::RepairSettings {
    let mut settings = crate::repair::RepairSettings {
        // Robustness balls are many small boxes: a patch per ball would grow the network
        // by hundreds of neurons each and make no other image robust.
        method: crate::repair::Method::Retrain,
        ..Default::default()
    };
    settings.retrain.trainable_layers = 0;
    settings.retrain.max_fidelity_drop = 0.02;
    settings.retrain.falsifier_rounds = 20;
    settings.retrain.interval_weight = 1.0;
    settings.retrain.guard_rounds = 3;
    settings.proving.verify_boxes = 2000;
    settings.proving.hand_over = false;
    settings.proving.polish = false;
    settings.proving.kept_samples = 0;
    settings.certified.initial_cells = 1;
    settings.certified.verify_boxes = 2000;
    settings.finetune.layer = crate::repair::LayerChoice::All;
    settings
}

/// Repairs the boxes of `cases` on `net` with `settings` (the data drawn by `data_plan`,
/// the held-out report data from `held_out`), and returns the outcome.
pub fn repair_images(
    net: &Network,
    split: &Split,
    cases: &[RepairCase],
    settings: crate::repair::RepairSettings,
    data_plan: &ImageDataPlan,
    attack_config: &FalsifierConfig,
) -> Result<crate::repair::RepairOutcome, ImageError> {
    let properties: Vec<Property> = cases.iter().map(|c| c.property.clone()).collect();
    let data = repair_data(net, &split.train.pixels, cases, data_plan, settings.seed)?;
    let held_out = held_out_data(net, &split.held_out.pixels, cases, attack_config)?;
    let mut session = crate::repair::RepairSession::new(net, &properties, data, settings)?;
    let mut guards = Vec::new();
    if data_plan.guard_neighbours > 0 {
        guards = guard_balls(net, &split.train, cases, data_plan.guard_neighbours)?;
    }
    if data_plan.guard_pool {
        guards.extend(unrepaired_pool_balls(net, &split.pool, cases)?);
    }
    if !guards.is_empty() {
        session.set_guards(guards)?;
    }
    session.run(|_| {})?;
    let plan = crate::repair::ReportPlan {
        region_samples: 100,
        domain_samples: 0,
        ..Default::default()
    };
    Ok(session.finish(&held_out, &plan)?)
}
