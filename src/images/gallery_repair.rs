//! The data of a repair of gallery balls (the app's digits demo), gathered in bounded steps.
//!
//! A gallery repair first runs the falsifier on every chosen ball (its finds are what the
//! repair fixes), then again on every broken ball with another seed (the report's held-out
//! counterexamples). A ball the falsifier cannot break costs its whole budget: on the
//! digits demo that is about 0.7 s natively per ball, 35 s for the 50 gallery balls. The
//! worker runs this a few falsifier batches at a time, so the page can show how far it is
//! and cancel it; and a ball the verifier's bounds prove in one pass (the app passes the
//! balls proved before along, to keep them) is not searched at all: it holds nothing to find.

use super::benchmark::RepairCase;
use super::benchmark::{case_attack, guard_balls, held_out_attack, repair_data, ImageDataPlan};
use super::{ImageError, ImageSet};
use crate::falsify::{counterexample_inputs, Falsifier, FalsifierConfig};
use crate::network::Network;
use crate::property::Property;
use crate::repair::data::{HeldOut, RepairData};
use crate::tensor::{Array2, BatchGrow, BatchRows};
use crate::verify::bounds::{BoundNetwork, Interval};

/// Noisy copies of each gallery image the repair keeps, and how far their pixels move.
const COPIES: usize = 32;
const SPREAD: f64 = 0.125;

/// What a repair of image balls needs when only a few images are at hand (the app's
/// gallery).
pub struct GalleryRepair {
    /// The images and noisy copies of them are kept.
    pub data: RepairData,
    /// The report's held-out inputs: other noisy copies, drawn with another seed.
    pub held_out: HeldOut,
    /// The balls of the images nearest to each repaired one, where the original's decision
    /// is to be kept ([`crate::repair::RepairSession::set_guards`]).
    pub guards: Vec<Property>,
}

/// What a preparation is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatherPhase {
    /// Searching the chosen balls for counterexamples to repair.
    Attacking,
    /// Searching the broken balls again, with other seeds, for the report's held-out
    /// counterexamples.
    HeldOut,
    /// Every search is over: [`GalleryPreparation::finish`] builds the data.
    Ready,
}

/// How far a preparation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GatherProgress {
    /// The phase.
    pub phase: GatherPhase,
    /// Balls searched in this phase.
    pub searched: usize,
    /// Balls this phase searches.
    pub total: usize,
}

/// A gallery repair's data being gathered: [`GalleryPreparation::step`] until ready, then
/// [`GalleryPreparation::finish`].
pub struct GalleryPreparation {
    properties: Vec<Property>,
    images: Vec<Vec<f32>>,
    seed: u64,
    attack_config: FalsifierConfig,
    phase: GatherPhase,
    /// The ball searched next (a property index, then a case index).
    next: usize,
    search: Option<Falsifier>,
    /// The network's sound bounds, made at the first search.
    bounds: Option<BoundNetwork>,
    cases: Vec<RepairCase>,
    held_out_negatives: Array2<f32>,
}

impl GalleryPreparation {
    /// A preparation of a repair of `properties` (one ball each) that keeps `images`,
    /// drawn by `seed`. Nothing is searched yet.
    pub fn new(properties: &[Property], images: &[Vec<f32>], seed: u64) -> Self {
        let width = properties.first().map_or(0, |p| p.num_inputs);
        GalleryPreparation {
            properties: properties.to_vec(),
            images: images.to_vec(),
            seed,
            attack_config: FalsifierConfig {
                seed,
                ..FalsifierConfig::default()
            },
            phase: GatherPhase::Attacking,
            next: 0,
            search: None,
            bounds: None,
            cases: Vec::new(),
            held_out_negatives: Array2::zeros((0, width)),
        }
    }

    /// How far it is.
    pub fn progress(&self) -> GatherProgress {
        let total = match self.phase {
            GatherPhase::Attacking => self.properties.len(),
            GatherPhase::HeldOut | GatherPhase::Ready => self.cases.len(),
        };
        GatherProgress {
            phase: self.phase,
            searched: self.next.min(total),
            total,
        }
    }

    /// Runs at most `batches` falsifier batches on `net` (the network being repaired).
    /// Fails with [`crate::repair::RepairError::NothingToRepair`] once the falsifier has
    /// searched every ball and broken none.
    pub fn step(&mut self, net: &Network, batches: usize) -> Result<GatherProgress, ImageError> {
        for _ in 0..batches.max(1) {
            let ball = match self.phase {
                GatherPhase::Attacking => self.properties.get(self.next),
                GatherPhase::HeldOut => self.cases.get(self.next).map(|c| &c.property),
                GatherPhase::Ready => break,
            };
            let Some(ball) = ball else {
                self.next_phase()?;
                continue;
            };
            if self.phase == GatherPhase::Attacking && self.search.is_none() {
                ball.check_fits(net)?;
                let bounds = self.bounds.get_or_insert_with(|| BoundNetwork::new(net));
                if proved_in_one_pass(bounds, ball) {
                    self.next += 1;
                    continue;
                }
            }
            let search = match &mut self.search {
                Some(search) => search,
                None => {
                    let config = match self.phase {
                        GatherPhase::Attacking => case_attack(&self.attack_config, self.next),
                        _ => held_out_attack(&self.attack_config, self.next),
                    };
                    self.search
                        .insert(Falsifier::new(net, std::slice::from_ref(ball), config)?)
                }
            };
            if !search.is_done() {
                search.step();
            }
            if search.is_done() {
                let found = self.search.take().expect("searched above");
                self.record(found);
                self.next += 1;
            }
        }
        Ok(self.progress())
    }

    /// Whether every search is over.
    pub fn is_ready(&self) -> bool {
        self.phase == GatherPhase::Ready
    }

    fn record(&mut self, search: Falsifier) {
        let rows = counterexample_inputs(
            &search.into_counterexamples(),
            self.held_out_negatives.ncols(),
        );
        match self.phase {
            GatherPhase::Attacking if rows.nrows() > 0 => self.cases.push(RepairCase {
                index: self.next,
                property: self.properties[self.next].clone(),
                counterexamples: rows,
            }),
            GatherPhase::HeldOut => self
                .held_out_negatives
                .append_rows(&rows)
                .expect("same width"),
            _ => {}
        }
    }

    /// Moves on to the next phase; fails, staying where it is (a later call fails the same
    /// way rather than searching again), when the falsifier broke no ball.
    fn next_phase(&mut self) -> Result<(), ImageError> {
        self.phase = match self.phase {
            GatherPhase::Attacking if self.cases.is_empty() => {
                return Err(crate::repair::RepairError::NothingToRepair.into())
            }
            GatherPhase::Attacking => GatherPhase::HeldOut,
            _ => GatherPhase::Ready,
        };
        self.next = 0;
        Ok(())
    }

    /// The repair's data (the searches not over yet are run to the end first); `net` must
    /// be the network the searches ran on.
    pub fn finish(mut self, net: &Network) -> Result<GalleryRepair, ImageError> {
        while !self.is_ready() {
            self.step(net, usize::MAX)?;
        }
        let kept = super::demo::keep_inputs(&self.images, COPIES, SPREAD, self.seed);
        let plan = ImageDataPlan::default();
        let data = repair_data(net, &kept, &self.cases, &plan, self.seed)?;
        let copies =
            super::demo::keep_inputs(&self.images, COPIES, SPREAD, self.seed ^ 0x0C0F_FEE5);
        // Row 0 of every group of COPIES + 1 is the image itself, which the repair keeps.
        let fresh: Vec<usize> = (0..copies.nrows())
            .filter(|r| r % (COPIES + 1) != 0)
            .collect();
        let held_out = HeldOut {
            negatives: self.held_out_negatives,
            positives: copies.select_rows(&fresh),
        };
        // The gallery's images carry no labels here: the original's decisions stand in, and
        // guards keep them only where the original satisfies every property.
        let mut pixels = Array2::zeros((0, net.input_size()));
        for image in &self.images {
            pixels.push_slice(image).map_err(|_| ImageError::Pixels {
                got: image.len(),
                expected: net.input_size(),
            })?;
        }
        let labels = net.decisions(&pixels)?;
        // Only the pixels and labels matter to the guards, not the image's shape.
        let decided = ImageSet {
            width: net.input_size(),
            height: 1,
            pixels,
            labels,
        };
        let guards = guard_balls(net, &decided, &self.cases, plan.guard_neighbours)?;
        Ok(GalleryRepair {
            data,
            held_out,
            guards,
        })
    }
}

/// Whether the bounds of `bounds`, in one pass over each of the property's boxes, exclude
/// its unsafe region: then the falsifier has nothing to find there.
fn proved_in_one_pass(bounds: &BoundNetwork, property: &Property) -> bool {
    property
        .input_boxes
        .iter()
        .all(|b| bounds.excludes_unsafe(&Interval::new(b.lower.clone(), b.upper.clone()), property))
}

/// The data of a gallery repair of `properties` that keeps `images`, gathered in one go.
/// Fails with [`crate::repair::RepairError::NothingToRepair`] when the falsifier breaks no
/// ball.
pub fn gallery_repair_data(
    net: &Network,
    properties: &[Property],
    images: &[Vec<f32>],
    seed: u64,
) -> Result<GalleryRepair, ImageError> {
    GalleryPreparation::new(properties, images, seed).finish(net)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Activation;

    /// A random 16-pixel, 3-class network, 12 random images and the balls of the first
    /// `balls` (labelled as the network decides) at `eps`.
    fn setup(balls: usize, eps: f64) -> (Network, Vec<Property>, Vec<Vec<f32>>) {
        let net = Network::random(&[16, 12, 3], Activation::Relu, 3).unwrap();
        let mut rng = crate::rng::SplitMix64::new(9);
        let images: Vec<Vec<f32>> = (0..12)
            .map(|_| (0..16).map(|_| rng.next_f64() as f32).collect())
            .collect();
        let properties = images[..balls]
            .iter()
            .enumerate()
            .map(|(i, image)| {
                let rows = crate::tensor::from_rows(std::slice::from_ref(image)).unwrap();
                let label = net.decisions(&rows).unwrap()[0];
                super::super::robustness_property(&format!("ball {i}"), image, label, eps, 3)
                    .unwrap()
            })
            .collect();
        (net, properties, images)
    }

    #[test]
    fn stepping_a_batch_at_a_time_gathers_what_one_go_gathers() {
        let (net, properties, images) = setup(6, 0.2);
        let whole = gallery_repair_data(&net, &properties, &images, 5).unwrap();
        let mut preparation = GalleryPreparation::new(&properties, &images, 5);
        let mut steps = 0;
        let mut last = preparation.progress();
        assert_eq!(
            (last.phase, last.searched, last.total),
            (GatherPhase::Attacking, 0, 6)
        );
        while !preparation.is_ready() {
            let now = preparation.step(&net, 1).unwrap();
            // Searched balls only grow within a phase, and phases only move forward.
            assert!(
                (now.phase == last.phase && now.searched >= last.searched)
                    || (last.phase, now.phase) == (GatherPhase::Attacking, GatherPhase::HeldOut)
                    || now.phase == GatherPhase::Ready,
                "{last:?} -> {now:?}"
            );
            last = now;
            steps += 1;
        }
        // One batch per step: every ball's search took several steps.
        assert!(steps > 12, "{steps} steps");
        let stepped = preparation.finish(&net).unwrap();
        assert!(whole.data.negatives.nrows() > 0);
        assert_eq!(stepped.data.negatives, whole.data.negatives);
        assert_eq!(stepped.data.positives, whole.data.positives);
        assert_eq!(stepped.held_out.negatives, whole.held_out.negatives);
        assert_eq!(stepped.held_out.positives, whole.held_out.positives);
        assert_eq!(stepped.guards.len(), whole.guards.len());
    }

    #[test]
    fn balls_the_bounds_prove_are_not_searched_and_leave_nothing_to_repair() {
        // Points (radius 0): the bounds are exact there, so one pass proves each ball, and
        // no falsifier batch is spent on it (a search would take 800 batches per ball).
        let (net, properties, images) = setup(3, 0.0);
        let mut preparation = GalleryPreparation::new(&properties, &images, 5);
        let outcome = preparation.step(&net, 4);
        assert!(
            matches!(
                outcome,
                Err(ImageError::Repair(
                    crate::repair::RepairError::NothingToRepair
                ))
            ),
            "{:?}",
            outcome.map(|_| ())
        );
        // Asked again, it says the same at once instead of starting over.
        assert!(preparation.step(&net, 1).is_err());
        assert_eq!(preparation.progress().searched, 3);
    }

    #[test]
    fn a_ball_of_another_width_is_refused_by_name() {
        let (net, _, images) = setup(1, 0.1);
        let wide = super::super::robustness_property("wide", &[0.5; 20], 0, 0.1, 3).unwrap();
        let mut preparation = GalleryPreparation::new(&[wide], &images, 5);
        let message = preparation.step(&net, 1).err().unwrap().to_string();
        assert!(
            message.contains("'wide'") && message.contains("20 inputs"),
            "{message}"
        );
    }
}
