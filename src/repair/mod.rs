//! Repairing a network: a resumable session that the CLI and the browser worker drive.
//!
//! Configure ([`RepairSettings`], checked), build a [`RepairSession`], call
//! [`RepairSession::step`] until it reports `done` (each call does a bounded slice of work
//! and returns [`RepairProgress`]), then [`RepairSession::finish`] measures the result on
//! held-out data and returns the repaired network and its [`RepairReport`]. Cancelling is
//! just not calling `step` again: the original network is never modified.
//!
//! Same seed, same data, same settings: same repaired network, natively and on wasm32. The
//! work done by a step is counted in samples and batches, never in time.

pub mod certified;
pub mod data;
pub mod domain;
pub mod finetune;
mod interval_hinge;
pub mod retrain;

pub use certified::{CertifiedConfig, CertifiedSummary};
pub use data::{HeldOut, RepairData, SamplingPlan};
pub use domain::{DomainConfig, InnerMethod};
pub use finetune::{FinetuneConfig, LayerChoice, NeuronId};
pub use retrain::RetrainConfig;

use crate::falsify::{Counterexample, Falsifier, FalsifierConfig};
use crate::measures::{self, input_domain, ChangeSize, PacStatement, Rate};
use crate::network::{Network, NetworkError};
use crate::property::{Property, PropertyError};
use crate::rng::SplitMix64;
use crate::sampling::{sample_box, sample_property};
use crate::tensor::Matrix;
use crate::verify::{overall, Verdict, Verifier, VerifyConfig, VerifyStatus};
use certified::CertifiedRepair;
use domain::{certification_seed, Certification};
use finetune::FineTuner;
use retrain::Retrainer;
use serde::{Deserialize, Serialize};

/// Why a repair cannot start or go on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RepairError {
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Setting(String),
    /// There is no counterexample to learn from.
    #[error("nothing to repair: no counterexample in the data (the network may already satisfy the properties)")]
    NothingToRepair,
    /// No positive output is safe, so there is no behaviour to imitate.
    #[error("no positive sample has a safe output to imitate")]
    NoSafeBehaviour,
    /// A property does not fit the network.
    #[error(transparent)]
    Property(#[from] PropertyError),
    /// Running the network failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
}

/// The error for a setting out of range, worded the same for every method.
pub(crate) fn setting_error(
    method: &str,
    name: &str,
    value: impl std::fmt::Display,
    expected: &str,
) -> RepairError {
    RepairError::Setting(format!("{method} {name} = {value}: expected {expected}"))
}

/// The repair methods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Behaviour-imitation retraining of all weights.
    #[default]
    Retrain,
    /// Behaviour-difference localisation and particle swarm scaling of a few neurons.
    Finetune,
    /// Repair until fresh samples and the falsifier find nothing: a PAC statement.
    Domain,
    /// Certified last-layer repair: the hidden layers stay, the last layer is solved for so
    /// that every property provably holds (see [`certified`]).
    Certified,
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "retrain" => Ok(Method::Retrain),
            "finetune" => Ok(Method::Finetune),
            "domain" => Ok(Method::Domain),
            "certified" => Ok(Method::Certified),
            other => Err(format!(
                "unknown method '{other}' (expected retrain, finetune, domain or certified)"
            )),
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Retrain => "retrain",
            Method::Finetune => "finetune",
            Method::Domain => "domain",
            Method::Certified => "certified",
        })
    }
}

/// Everything that configures a repair.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RepairSettings {
    /// Which method (default retrain).
    pub method: Method,
    /// Seed of every random choice (default 0).
    pub seed: u64,
    /// Retraining settings (also the inner repair of domain-wise repair).
    pub retrain: RetrainConfig,
    /// Fine-tuning settings (also the inner repair when chosen for domain-wise repair).
    pub finetune: FinetuneConfig,
    /// Domain-wise repair settings.
    pub domain: DomainConfig,
    /// Certified last-layer repair settings (the method, and the hand-over of the others).
    pub certified: CertifiedConfig,
    /// The verifier in the loop: what every method's result goes through before it is
    /// final.
    pub proving: ProvingConfig,
}

/// The verifier in the repair loop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProvingConfig {
    /// Run the verifier on each result (default true). When it finds a counterexample,
    /// the method learns it and repairs again; when it cannot prove the result, certified
    /// last-layer repair takes over from it.
    pub enabled: bool,
    /// Boxes the verifier may examine per property on each result (default 20,000).
    pub verify_boxes: usize,
    /// Hand a result the verifier cannot prove to certified last-layer repair (default
    /// true).
    pub hand_over: bool,
    /// Times a counterexample the verifier found in a result (with the pocket of wrong
    /// inputs around it) is learnt and the method repairs again from that result (default
    /// 12; not for certified repair, which hands over instead). These rounds are the
    /// verifier's own: the falsifier's may all be spent by then.
    pub learn_rounds: usize,
    /// Uniform samples of the input domain whose decisions certified last-layer repair
    /// keeps, besides the repair's positives (default 50,000).
    pub kept_samples: usize,
    /// Also hand a proved result to certified last-layer repair, which refits the last
    /// layer to the original outputs; its network replaces the result only when it is
    /// proved too and keeps more of the sampled decisions (default true).
    pub polish: bool,
}

impl Default for ProvingConfig {
    fn default() -> Self {
        ProvingConfig {
            enabled: true,
            verify_boxes: 20_000,
            hand_over: true,
            learn_rounds: 12,
            kept_samples: 50_000,
            polish: true,
        }
    }
}

impl RepairSettings {
    /// Checks every setting of the chosen method.
    pub fn check(&self) -> Result<(), RepairError> {
        if self.proving.verify_boxes == 0 || self.proving.verify_boxes > 100_000_000 {
            return Err(setting_error(
                "proving",
                "verify_boxes",
                self.proving.verify_boxes,
                "between 1 and 100000000",
            ));
        }
        if self.proving.kept_samples > 2_000_000 {
            return Err(setting_error(
                "proving",
                "kept_samples",
                self.proving.kept_samples,
                "at most 2000000",
            ));
        }
        if self.proving.learn_rounds > 1000 {
            return Err(setting_error(
                "proving",
                "learn_rounds",
                self.proving.learn_rounds,
                "at most 1000",
            ));
        }
        if self.method == Method::Certified || (self.proving.enabled && self.proving.hand_over) {
            self.certified.check()?;
        }
        match self.method {
            Method::Certified => Ok(()),
            Method::Retrain => self.retrain.check(),
            Method::Finetune => self.finetune.check(),
            Method::Domain => {
                self.domain.check()?;
                match self.domain.inner {
                    InnerMethod::Retrain => self.retrain.check(),
                    InnerMethod::Finetune => self.finetune.check(),
                    InnerMethod::Best => {
                        self.retrain.check()?;
                        self.finetune.check()
                    }
                }
            }
        }
    }
}

/// What a session is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Training weights (retraining).
    Training,
    /// Particle swarm search (fine-tuning).
    Searching,
    /// Drawing fresh samples and running the falsifier for a PAC statement.
    Certifying,
    /// Running the falsifier on a retrained candidate: what it finds is learnt next.
    Falsifying,
    /// Running the verifier on a result.
    Proving,
    /// Solving for a certified last layer.
    Solving,
    /// Finished.
    Done,
}

/// Reads `null` as NaN: serde_json writes non-finite numbers as `null`.
fn nan_from_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Progress reported by every step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RepairProgress {
    /// What the session is doing.
    pub phase: Phase,
    /// Round (retraining), swarm iteration (fine-tuning) of the current repair.
    pub iteration: usize,
    /// The most iterations the current repair may take.
    pub max_iterations: usize,
    /// Training loss (retraining) or swarm cost (fine-tuning); NaN while no cost applies
    /// (certifying, falsifying), which JSON carries as `null`.
    #[serde(deserialize_with = "nan_from_null")]
    pub cost: f64,
    /// Validation counterexamples still unsafe.
    pub violations: Rate,
    /// Validation positives whose decision is kept.
    pub fidelity: Rate,
    /// Time spent in `step()` so far (0 where no clock is available).
    pub elapsed_ms: f64,
    /// True once the session has finished.
    pub done: bool,
}

/// The validation data and the original decisions on it.
pub struct Validation {
    properties: Vec<Property>,
    negatives: Matrix,
    positives: Matrix,
    decisions: Vec<usize>,
}

impl Validation {
    fn new(
        original: &Network,
        properties: &[Property],
        data: &RepairData,
    ) -> Result<Self, RepairError> {
        Ok(Validation {
            properties: properties.to_vec(),
            negatives: data.validation_negatives.clone(),
            positives: data.validation_positives.clone(),
            decisions: original.decisions(&data.validation_positives)?,
        })
    }

    /// Validation counterexamples still unsafe on `net`.
    pub fn violations(&self, net: &Network) -> Result<Rate, NetworkError> {
        measures::violations(net, &self.properties, &self.negatives)
    }

    /// Validation positives whose decision `net` keeps.
    pub fn fidelity(&self, net: &Network) -> Result<Rate, NetworkError> {
        let after = net.decisions(&self.positives)?;
        Ok(Rate {
            count: after
                .iter()
                .zip(&self.decisions)
                .filter(|(a, b)| a == b)
                .count(),
            total: self.decisions.len(),
        })
    }

    /// Ordering key of candidates: fewer violations, then fewer changed decisions.
    pub fn score(&self, net: &Network) -> Result<(usize, usize), NetworkError> {
        let v = self.violations(net)?;
        let f = self.fidelity(net)?;
        Ok((v.count, f.total - f.count))
    }

    fn add_negatives(&mut self, found: &Matrix) {
        self.negatives.append_rows(found).expect("same width");
    }

    fn add_positives(&mut self, original: &Network, found: &Matrix) -> Result<(), NetworkError> {
        self.decisions.extend(original.decisions(found)?);
        self.positives.append_rows(found).expect("same width");
        Ok(())
    }
}

enum Inner {
    Retrain(Box<Retrainer>),
    Finetune(Box<FineTuner>),
    /// No sample-based method: certified last-layer repair starts from this network.
    Frozen(Box<Network>),
}

impl Inner {
    fn best(&self) -> Network {
        match self {
            Inner::Retrain(r) => r.best().clone(),
            Inner::Finetune(f) => f.best(),
            Inner::Frozen(n) => (**n).clone(),
        }
    }

    fn is_done(&self) -> bool {
        match self {
            Inner::Retrain(r) => r.is_done(),
            Inner::Finetune(f) => f.is_done(),
            Inner::Frozen(_) => true,
        }
    }

    fn step(&mut self, validation: &Validation) -> Result<RepairProgress, RepairError> {
        match self {
            Inner::Retrain(r) => r.step(validation),
            Inner::Finetune(f) => f.step(validation),
            Inner::Frozen(n) => Ok(RepairProgress {
                phase: Phase::Solving,
                iteration: 0,
                max_iterations: 0,
                cost: f64::NAN,
                violations: validation.violations(n)?,
                fidelity: validation.fidelity(n)?,
                elapsed_ms: 0.0,
                done: false,
            }),
        }
    }
}

/// Random neighbours of a verifier's counterexample tried as lessons with it.
const POCKET_SAMPLES: usize = 256;

/// Programs at most when certified last-layer repair polishes a result already proved.
const POLISH_ROUNDS: usize = 4;

/// Verifier steps (of its own bounded size) per repair step while proving a result.
const PROVING_STEPS_PER_STEP: usize = 32;

/// Milliseconds from some fixed origin; the session only takes differences.
pub type Clock = fn() -> f64;

/// The default clock: the process's monotonic clock natively; none on wasm32, where the
/// browser worker supplies `performance.now()` through [`RepairSession::set_clock`].
pub fn default_clock() -> f64 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        ORIGIN
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
            * 1000.0
    }
    #[cfg(target_arch = "wasm32")]
    {
        0.0
    }
}

/// A repair in progress.
pub struct RepairSession {
    original: Network,
    properties: Vec<Property>,
    data: RepairData,
    validation: Validation,
    settings: RepairSettings,
    inner: Inner,
    certification: Option<Certification>,
    /// Where the current round's repair started.
    round_start: Network,
    /// Candidates of this round so far (domain-wise repair with `Best`).
    tries: Vec<Network>,
    /// The candidate being certified.
    candidate: Option<Network>,
    round: usize,
    pac: Option<PacStatement>,
    pac_failure: Option<String>,
    result: Option<Network>,
    /// The falsifier's search on a retrained candidate, and how many searches found
    /// something (each one followed by more training).
    search: Option<Falsifier>,
    searches: usize,
    /// Regions where the original behaves well that the repair must not break
    /// ([`RepairSession::set_guards`]); whether the running search is over them; and how
    /// many guard searches found something.
    guards: Vec<Property>,
    guarding: bool,
    guard_lessons: usize,
    /// The validation measures of the candidate being searched, once computed.
    search_measures: Option<(Rate, Rate)>,
    /// How many of the verifier's counterexamples the method has learnt.
    lessons: usize,
    /// The verifier on a result, and the result.
    proving: Option<(Box<Verifier>, Network)>,
    /// Certified last-layer repair, and the result it started from (with that result's
    /// verdicts, when the verifier ran on it).
    last_layer: Option<(Box<CertifiedRepair>, Network, Vec<Verdict>)>,
    /// The verifier's verdicts on the result, when it ran.
    verdicts: Vec<Verdict>,
    certified_summary: Option<CertifiedSummary>,
    clock: Clock,
    elapsed_ms: f64,
    last: Option<RepairProgress>,
}

/// Whether a round starts with fine-tuning (domain-wise repair with `Best` tries it first).
fn starts_with_finetune(settings: &RepairSettings) -> bool {
    match settings.method {
        Method::Finetune => true,
        Method::Retrain | Method::Certified => false,
        Method::Domain => settings.domain.inner != InnerMethod::Retrain,
    }
}

#[allow(clippy::too_many_arguments)]
fn start_inner(
    use_finetune: bool,
    settings: &RepairSettings,
    original: &Network,
    start: &Network,
    properties: &[Property],
    data: &RepairData,
    validation: &Validation,
    seed: u64,
) -> Result<Inner, RepairError> {
    Ok(if use_finetune {
        Inner::Finetune(Box::new(FineTuner::new(
            settings.finetune.clone(),
            original,
            start,
            properties,
            data,
            seed,
        )?))
    } else {
        Inner::Retrain(Box::new(Retrainer::new(
            settings.retrain.clone(),
            original,
            start,
            properties,
            data,
            validation,
            seed,
        )?))
    })
}

impl RepairSession {
    /// Checks the settings and the data, and prepares the chosen method.
    pub fn new(
        original: &Network,
        properties: &[Property],
        data: RepairData,
        settings: RepairSettings,
    ) -> Result<Self, RepairError> {
        settings.check()?;
        for p in properties {
            p.check_fits(original)?;
        }
        if data.negatives.rows() == 0 {
            return Err(RepairError::NothingToRepair);
        }
        let validation = Validation::new(original, properties, &data)?;
        if settings.method == Method::Certified {
            let mut session = RepairSession::with_inner(
                original,
                properties,
                data,
                settings,
                validation,
                Inner::Frozen(Box::new(original.clone())),
            );
            session.start_last_layer(original.clone(), Vec::new())?;
            return Ok(session);
        }
        let inner = start_inner(
            starts_with_finetune(&settings),
            &settings,
            original,
            original,
            properties,
            &data,
            &validation,
            settings.seed,
        )?;
        Ok(RepairSession::with_inner(
            original, properties, data, settings, validation, inner,
        ))
    }

    fn with_inner(
        original: &Network,
        properties: &[Property],
        data: RepairData,
        settings: RepairSettings,
        validation: Validation,
        inner: Inner,
    ) -> Self {
        RepairSession {
            round_start: original.clone(),
            tries: Vec::new(),
            candidate: None,
            original: original.clone(),
            properties: properties.to_vec(),
            data,
            validation,
            settings,
            inner,
            certification: None,
            round: 0,
            pac: None,
            pac_failure: None,
            result: None,
            search: None,
            searches: 0,
            guards: Vec::new(),
            guarding: false,
            guard_lessons: 0,
            search_measures: None,
            lessons: 0,
            proving: None,
            last_layer: None,
            verdicts: Vec::new(),
            certified_summary: None,
            clock: default_clock,
            elapsed_ms: 0.0,
            last: None,
        }
    }

    /// Regions where the original's behaviour is to be kept, searched for breaks after the
    /// properties' regions are clean (`retrain.guard_rounds` times at most): a repair that
    /// moves boundaries to fix one image's ball must not move them into the balls of the
    /// images around it. Points of a guard the original itself breaks are never taught.
    pub fn set_guards(&mut self, guards: Vec<Property>) -> Result<(), RepairError> {
        for g in &guards {
            g.check_fits(&self.original)?;
        }
        self.guards = guards;
        Ok(())
    }

    /// Replaces the clock used for `elapsed_ms` (the browser worker passes
    /// `performance.now()`).
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// Whether the session has finished.
    pub fn is_done(&self) -> bool {
        self.result.is_some()
    }

    /// One bounded slice of work.
    pub fn step(&mut self) -> Result<RepairProgress, RepairError> {
        let started = (self.clock)();
        let progress = self.step_inner()?;
        self.elapsed_ms += (self.clock)() - started;
        let progress = RepairProgress {
            elapsed_ms: self.elapsed_ms,
            ..progress
        };
        self.last = Some(progress.clone());
        Ok(progress)
    }

    fn step_inner(&mut self) -> Result<RepairProgress, RepairError> {
        if let Some(net) = &self.result {
            let mut p = self.last.clone().unwrap_or(RepairProgress {
                phase: Phase::Done,
                iteration: 0,
                max_iterations: 0,
                cost: f64::NAN,
                violations: self.validation.violations(net)?,
                fidelity: self.validation.fidelity(net)?,
                elapsed_ms: 0.0,
                done: true,
            });
            p.phase = Phase::Done;
            p.done = true;
            return Ok(p);
        }
        if let Some(cert) = &mut self.certification {
            let candidate = self
                .candidate
                .clone()
                .expect("a candidate is being certified");
            cert.step(
                &candidate,
                &self.properties,
                &self.settings.domain,
                &self.data.negatives,
            )?;
            let drawn = cert.samples_drawn(self.properties.len());
            let total = self.settings.domain.sample_count() * self.properties.len();
            if cert.done {
                self.after_certification(candidate)?;
            }
            let best = self.current_best();
            return Ok(RepairProgress {
                phase: if self.result.is_some() {
                    Phase::Done
                } else {
                    Phase::Certifying
                },
                iteration: drawn,
                max_iterations: total,
                cost: f64::NAN,
                violations: self.validation.violations(&best)?,
                fidelity: self.validation.fidelity(&best)?,
                elapsed_ms: 0.0,
                done: self.result.is_some(),
            });
        }
        if self.last_layer.is_some() {
            return self.step_last_layer();
        }
        if self.proving.is_some() {
            return self.step_proving();
        }
        if self.search.is_some() {
            return self.step_search();
        }
        let mut progress = self.inner.step(&self.validation)?;
        if self.inner.is_done() && self.escalate_retraining()? {
            progress.done = false;
            return Ok(progress);
        }
        if self.inner.is_done() {
            // Each lesson from the verifier earns one more search: a pocket the verifier
            // found may have neighbours the falsifier, started from it, finds at once.
            if self.settings.method == Method::Retrain
                && self.searches
                    < self.settings.retrain.falsifier_rounds + self.lessons + self.guard_lessons
            {
                let config = FalsifierConfig {
                    seed: self.round_seed(0x5EA2C4 + self.searches as u64),
                    ..self.settings.domain.falsifier.clone()
                };
                self.search = Some(Falsifier::with_hints(
                    &self.inner.best(),
                    &self.properties,
                    config,
                    &self.data.negatives,
                )?);
                progress.phase = Phase::Falsifying;
                progress.done = false;
                return Ok(progress);
            }
            if self.settings.method != Method::Domain {
                self.conclude(self.inner.best())?;
                if self.result.is_none() {
                    progress.phase = Phase::Proving;
                    progress.done = false;
                }
                return Ok(progress);
            }
            progress.phase = Phase::Certifying;
            progress.done = false;
            let chosen = if self.settings.domain.inner == InnerMethod::Best {
                // Fine-tuning, then retraining as configured, then retraining without the
                // imitation term (pure margin hinges), all from the same start.
                self.tries.push(self.inner.best());
                let next = match self.tries.len() {
                    1 => Some(self.settings.clone()),
                    2 if self.settings.retrain.alpha > 0.0 => {
                        let mut variant = self.settings.clone();
                        variant.retrain.alpha = 0.0;
                        Some(variant)
                    }
                    _ => None,
                };
                if let Some(variant) = next {
                    self.inner = start_inner(
                        false,
                        &variant,
                        &self.original,
                        &self.round_start,
                        &self.properties,
                        &self.data,
                        &self.validation,
                        self.round_seed(self.tries.len() as u64),
                    )?;
                    progress.phase = Phase::Training;
                    return Ok(progress);
                }
                let mut best: Option<((usize, usize), Network)> = None;
                for candidate in self.tries.drain(..) {
                    let score = self.validation.score(&candidate)?;
                    if best.as_ref().is_none_or(|(b, _)| score < *b) {
                        best = Some((score, candidate));
                    }
                }
                best.expect("at least one try").1
            } else {
                self.inner.best()
            };
            let seed = certification_seed(self.settings.seed, self.round);
            let per_region = self.settings.domain.sample_count();
            self.certification = Some(Certification::new(&self.original, seed, per_region));
            self.candidate = Some(chosen);
        }
        Ok(progress)
    }

    /// A few falsifier steps on the retrained candidate. Counterexamples it finds join the
    /// training and validation data and training goes on from the candidate; when it finds
    /// none, the candidate is the result. Sample-wise retraining otherwise leaves the small
    /// unsafe pockets between its training points that the final measures then find.
    fn step_search(&mut self) -> Result<RepairProgress, RepairError> {
        let search = self.search.as_mut().expect("a search is running");
        for _ in 0..4 {
            if search.is_done() {
                break;
            }
            search.step();
        }
        let searched = search.progress();
        let best = self.inner.best();
        if search.is_done() {
            let found = self.search.take().expect("running").into_counterexamples();
            let guarding = std::mem::take(&mut self.guarding);
            if guarding {
                let lessons = self.guard_lessons_of(&found)?;
                if lessons.rows() == 0 {
                    self.conclude(best.clone())?;
                } else {
                    self.data.add_positives(&lessons);
                    self.validation.add_positives(&self.original, &lessons)?;
                    self.guard_lessons += 1;
                    self.inner = self.new_inner(
                        false,
                        &best,
                        self.round_seed(0x6A2D + self.guard_lessons as u64),
                    )?;
                }
            } else if found.is_empty() {
                if self.guard_lessons < self.settings.retrain.guard_rounds
                    && !self.guards.is_empty()
                {
                    let config = FalsifierConfig {
                        seed: self.round_seed(0x6A2D_5EA2 + self.guard_lessons as u64),
                        starts: self.settings.retrain.guard_starts * self.guards.len(),
                        max_counterexamples: usize::MAX,
                        ..self.settings.domain.falsifier.clone()
                    };
                    self.search = Some(Falsifier::new(&best, &self.guards, config)?);
                    self.guarding = true;
                } else {
                    self.conclude(best.clone())?;
                }
            } else {
                let mut inputs = Matrix::zeros(0, self.original.input_size());
                for c in &found {
                    inputs.push_row(&c.input).expect("input width");
                }
                self.data.add_negatives(&inputs);
                self.validation.add_negatives(&inputs);
                self.searches += 1;
                self.inner =
                    self.new_inner(false, &best, self.round_seed(0x7EAC + self.searches as u64))?;
            }
        }
        // The candidate does not change while the falsifier searches it: its validation
        // measures are computed once per search, not at every step (with a hundred balls
        // and a guard search of a thousand steps, recomputing them was most of the time).
        let (violations, fidelity) = match (self.search.is_some(), self.search_measures) {
            (true, Some(measures)) => measures,
            (still_searching, _) => {
                let measures = (
                    self.validation.violations(&best)?,
                    self.validation.fidelity(&best)?,
                );
                self.search_measures = still_searching.then_some(measures);
                measures
            }
        };
        Ok(RepairProgress {
            phase: if self.result.is_some() {
                Phase::Done
            } else {
                Phase::Falsifying
            },
            iteration: searched.starts_used,
            max_iterations: searched.starts_total,
            cost: f64::NAN,
            violations,
            fidelity,
            elapsed_ms: 0.0,
            done: self.result.is_some(),
        })
    }

    /// The inputs of a guard search's finds where the original keeps every guard that
    /// holds there (a point in two overlapping balls of different classes keeps neither)
    /// and satisfies every property: the original's behaviour is taught only where it is
    /// right.
    fn guard_lessons_of(&self, found: &[Counterexample]) -> Result<Matrix, RepairError> {
        let mut inputs = Matrix::zeros(0, self.original.input_size());
        for c in found {
            inputs.push_row(&c.input).expect("input width");
        }
        let outputs = self.original.forward(&inputs)?;
        let kept: Vec<usize> = (0..inputs.rows())
            .filter(|&r| {
                let (x, y) = (inputs.row(r), outputs.row(r));
                !self
                    .guards
                    .iter()
                    .chain(&self.properties)
                    .any(|g| g.is_negative(x, y))
            })
            .collect();
        Ok(inputs.select_rows(&kept))
    }

    /// A result of a method: final at once without the verifier in the loop, else proved
    /// first.
    fn conclude(&mut self, net: Network) -> Result<(), RepairError> {
        if !self.settings.proving.enabled {
            self.result = Some(net);
            return Ok(());
        }
        let config = VerifyConfig {
            max_boxes: self.settings.proving.verify_boxes,
            ..Default::default()
        };
        let verifier = Verifier::new(&net, &self.properties, config)?;
        self.proving = Some((Box::new(verifier), net));
        Ok(())
    }

    /// A bounded slice of the verifier's work on a result; on its verdict, the result is
    /// final (proved), learnt from (a counterexample, while retraining has rounds left), or
    /// handed to certified last-layer repair.
    fn step_proving(&mut self) -> Result<RepairProgress, RepairError> {
        let (verifier, _) = self.proving.as_mut().expect("proving");
        for _ in 0..PROVING_STEPS_PER_STEP {
            if verifier.is_done() {
                break;
            }
            verifier.step();
        }
        let progress = verifier.progress();
        let share = (progress.property as f64 + progress.proved_fraction)
            / progress.properties.max(1) as f64;
        if verifier.is_done() {
            let (verifier, net) = self.proving.take().expect("proving");
            let verdicts = verifier.verdicts().to_vec();
            let status = overall(&verdicts);
            let learn = status == VerifyStatus::Counterexample
                && self.settings.method != Method::Certified
                && self.lessons < self.settings.proving.learn_rounds;
            if status == VerifyStatus::Proved && self.settings.proving.polish {
                self.start_last_layer(net, verdicts)?;
            } else if status == VerifyStatus::Proved {
                self.verdicts = verdicts;
                self.result = Some(net);
            } else if learn {
                let mut inputs = Matrix::zeros(0, self.original.input_size());
                for c in verdicts.iter().filter_map(|v| v.counterexample.as_ref()) {
                    let seed = self.round_seed(0x90C4 + self.lessons as u64);
                    inputs
                        .append_rows(&data::pocket_around(
                            &net,
                            &self.properties,
                            &c.input,
                            POCKET_SAMPLES,
                            seed,
                        )?)
                        .expect("input width");
                }
                self.data.add_negatives(&inputs);
                self.validation.add_negatives(&inputs);
                self.lessons += 1;
                if self.settings.method == Method::Domain {
                    // The PAC statement was about the candidate the verifier just refuted:
                    // the next candidate is certified afresh.
                    self.pac = None;
                    self.round_start = net.clone();
                    self.candidate = None;
                }
                self.inner = self.new_inner(
                    starts_with_finetune(&self.settings),
                    &net,
                    self.round_seed(0x9F00 + self.lessons as u64),
                )?;
            } else if self.settings.proving.hand_over {
                self.start_last_layer(net, verdicts)?;
            } else {
                self.verdicts = verdicts;
                self.result = Some(net);
            }
        }
        let best = self.current_best();
        Ok(RepairProgress {
            phase: if self.result.is_some() {
                Phase::Done
            } else {
                Phase::Proving
            },
            iteration: (share * 1000.0).round() as usize,
            max_iterations: 1000,
            cost: f64::NAN,
            violations: self.validation.violations(&best)?,
            fidelity: self.validation.fidelity(&best)?,
            elapsed_ms: 0.0,
            done: self.result.is_some(),
        })
    }

    /// Inputs whose decisions certified last-layer repair keeps: the repair's positives and
    /// fresh uniform samples of the domain the original network does not get wrong.
    fn kept_inputs(&self) -> Result<Matrix, RepairError> {
        let mut rng = SplitMix64::new(self.settings.seed ^ 0x6B65_7074);
        let fresh = sample_box(
            &mut rng,
            &input_domain(&self.original),
            self.settings.proving.kept_samples,
        );
        let outputs = self.original.forward(&fresh)?;
        let negative = crate::property::negatives_of(&self.properties, &fresh, &outputs);
        let keep: Vec<usize> = (0..fresh.rows()).filter(|&r| !negative[r]).collect();
        let mut kept = self.data.positives.clone();
        kept.append_rows(&self.data.validation_positives)
            .expect("same width");
        kept.append_rows(&fresh.select_rows(&keep))
            .expect("same width");
        Ok(kept)
    }

    /// Hands `start` (with the verifier's verdicts on it, if any) to certified last-layer
    /// repair; a network it cannot serve (an output activation) stays the result as it is.
    fn start_last_layer(
        &mut self,
        start: Network,
        verdicts: Vec<Verdict>,
    ) -> Result<(), RepairError> {
        let kept = self.kept_inputs()?;
        let mut config = self.settings.certified.clone();
        if overall(&verdicts) == VerifyStatus::Proved && !verdicts.is_empty() {
            // Polishing a proved result is worth a few programs, not a long search.
            config.max_rounds = config.max_rounds.min(POLISH_ROUNDS);
        }
        match CertifiedRepair::new(&self.original, &start, &self.properties, &kept, config) {
            Ok(repair) => {
                self.last_layer = Some((Box::new(repair), start, verdicts));
                Ok(())
            }
            Err(e) if self.settings.method == Method::Certified => Err(e),
            Err(_) => {
                self.verdicts = verdicts;
                self.result = Some(start);
                Ok(())
            }
        }
    }

    /// One program of certified last-layer repair; when it ends, its network is the result
    /// if the verifier proved it, or if what it started from is known to be unsafe and this
    /// one is not.
    fn step_last_layer(&mut self) -> Result<RepairProgress, RepairError> {
        let (repair, _, _) = self.last_layer.as_mut().expect("solving");
        repair.step()?;
        let (rounds, max_rounds) = (repair.rounds(), self.settings.certified.max_rounds);
        if repair.is_done() {
            let (repair, start, start_verdicts) = self.last_layer.take().expect("solving");
            let summary = repair.summary().cloned();
            let certified = summary.as_ref().is_some_and(|s| s.certified);
            let start_unsafe = overall(&start_verdicts) == VerifyStatus::Counterexample;
            let repaired_verdicts = repair.verdicts().to_vec();
            let repaired_unsafe = overall(&repaired_verdicts) == VerifyStatus::Counterexample;
            let start_proved =
                overall(&start_verdicts) == VerifyStatus::Proved && !start_verdicts.is_empty();
            let take_repaired = if start_proved {
                certified && repair.kept_count(repair.network())? > repair.kept_count(&start)?
            } else {
                certified
                    || self.settings.method == Method::Certified
                    || (start_unsafe && !repaired_verdicts.is_empty() && !repaired_unsafe)
            };
            if take_repaired {
                self.verdicts = repaired_verdicts;
                self.result = Some(repair.network().clone());
            } else {
                self.verdicts = start_verdicts;
                self.result = Some(start);
            }
            self.certified_summary = summary;
        }
        let best = self.current_best();
        Ok(RepairProgress {
            phase: if self.result.is_some() {
                Phase::Done
            } else {
                Phase::Solving
            },
            iteration: rounds,
            max_iterations: max_rounds,
            cost: f64::NAN,
            violations: self.validation.violations(&best)?,
            fidelity: self.validation.fidelity(&best)?,
            elapsed_ms: 0.0,
            done: self.result.is_some(),
        })
    }

    fn round_seed(&self, part: u64) -> u64 {
        SplitMix64::new(self.settings.seed ^ ((self.round as u64) << 8) ^ part).next_u64()
    }

    fn new_inner(
        &self,
        use_finetune: bool,
        start: &Network,
        seed: u64,
    ) -> Result<Inner, RepairError> {
        start_inner(
            use_finetune,
            &self.settings,
            &self.original,
            start,
            &self.properties,
            &self.data,
            &self.validation,
            seed,
        )
    }

    /// Retraining starts with the output layer only; when it ends with validation
    /// counterexamples left, it goes on from its best candidate with one more layer.
    /// Returns whether it did.
    fn escalate_retraining(&mut self) -> Result<bool, RepairError> {
        let Inner::Retrain(r) = &self.inner else {
            return Ok(false);
        };
        let layers = self.original.layers().len();
        let k = self.settings.retrain.trainable_layers;
        if k == 0 || k >= layers || self.validation.violations(r.best())?.count == 0 {
            return Ok(false);
        }
        let start = r.best().clone();
        self.settings.retrain.trainable_layers = k + 1;
        let seed = SplitMix64::new(self.settings.seed ^ ((k as u64) << 32)).next_u64();
        self.inner = self.new_inner(false, &start, seed)?;
        Ok(true)
    }

    fn after_certification(&mut self, candidate: Network) -> Result<(), RepairError> {
        let cert = self.certification.take().expect("certifying");
        if let Some(statement) = cert.statement(&self.properties, &self.settings.domain) {
            self.pac = Some(statement);
            return self.conclude(candidate);
        }
        self.round += 1;
        if self.round >= self.settings.domain.max_rounds {
            self.pac_failure = Some(format!(
                "no PAC statement after {} rounds: the last candidate still had {} unsafe inputs among {} fresh samples per region plus the falsifier's {} counterexamples",
                self.round,
                cert.negatives.rows() - cert.falsifier_found,
                cert.per_region,
                cert.falsifier_found
            ));
            return self.conclude(candidate);
        }
        // Learn from what certification found, and repair again from the candidate.
        self.data.add_negatives(&cert.negatives);
        self.validation.add_negatives(&cert.negatives);
        self.round_start = candidate.clone();
        self.candidate = None;
        self.inner = self.new_inner(
            starts_with_finetune(&self.settings),
            &candidate,
            self.round_seed(0),
        )?;
        Ok(())
    }

    /// The best network so far (the original until a candidate exists).
    pub fn current_best(&self) -> Network {
        if let Some(net) = &self.result {
            return net.clone();
        }
        if let Some((repair, _, _)) = &self.last_layer {
            return repair.network().clone();
        }
        if let Some((_, net)) = &self.proving {
            return net.clone();
        }
        self.candidate.clone().unwrap_or_else(|| self.inner.best())
    }

    /// The verifier's verdicts on the result (empty while there is none, or when the
    /// verifier is not in the loop).
    pub fn verdicts(&self) -> &[Verdict] {
        &self.verdicts
    }

    /// The last progress reported.
    pub fn last_progress(&self) -> Option<&RepairProgress> {
        self.last.as_ref()
    }

    /// Runs to the end, calling `on_progress` after every step.
    pub fn run(&mut self, mut on_progress: impl FnMut(&RepairProgress)) -> Result<(), RepairError> {
        while !self.is_done() {
            let p = self.step()?;
            on_progress(&p);
        }
        Ok(())
    }

    /// Measures the result on held-out data and returns it. Works on an unfinished session
    /// too (the best candidate so far is measured; `finished` is false then).
    pub fn finish(
        self,
        held_out: &HeldOut,
        plan: &ReportPlan,
    ) -> Result<RepairOutcome, RepairError> {
        let finished = self.result.is_some();
        let repaired = self.current_best();
        let mut report = measure(
            &self.original,
            &repaired,
            &self.properties,
            held_out,
            &self.data.negatives,
            plan,
        )?;
        report.method = self.settings.method;
        report.seed = self.settings.seed;
        report.finished = finished;
        report.wall_ms = self.elapsed_ms;
        report.rounds = self.round + usize::from(finished);
        report.training_negatives = self.data.negatives.rows();
        report.training_positives = self.data.positives.rows();
        report.pac = self.pac.clone();
        report.pac_failure = self.pac_failure.clone();
        report.settings = self.settings.clone();
        let pac = report.pac.is_some();
        report.proofs = self
            .verdicts
            .iter()
            .map(|v| crate::verify::PropertyProof::from_verdict(v, pac, 0.0))
            .collect();
        report.certified = self.certified_summary.clone();
        if let Inner::Finetune(f) = &self.inner {
            let (neurons, weights) = f.patch();
            report.patch = Some(Patch {
                neurons: neurons.to_vec(),
                scaling: weights.to_vec(),
                responsibilities: f.responsibilities().to_vec(),
            });
        }
        Ok(RepairOutcome {
            network: repaired,
            report,
        })
    }
}

/// How the final report samples fresh data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportPlan {
    /// Fresh uniform samples per property region (default 10,000).
    pub region_samples: usize,
    /// Fresh uniform samples of the whole input domain (default 10,000).
    pub domain_samples: usize,
    /// Falsifier run on the repaired network.
    pub falsifier: FalsifierConfig,
    /// Seed of the fresh samples (default: unrelated to every repair seed).
    pub seed: u64,
}

impl Default for ReportPlan {
    fn default() -> Self {
        ReportPlan {
            region_samples: 10_000,
            domain_samples: 10_000,
            falsifier: FalsifierConfig {
                starts: 2048,
                max_counterexamples: 50,
                seed: 0xFA15_1F1E,
                ..Default::default()
            },
            seed: 0x4E90_27ED,
        }
    }
}

/// The fine-tuning patch, for pictures of what changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Patch {
    /// The patched neurons.
    pub neurons: Vec<NeuronId>,
    /// Their factors `w` (each output is multiplied by `1 + w`).
    pub scaling: Vec<f64>,
    /// Every neuron's responsibility, per layer.
    pub responsibilities: Vec<Vec<f64>>,
}

/// A before/after pair of rates.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BeforeAfter {
    /// On the original network.
    pub before: Rate,
    /// On the repaired network.
    pub after: Rate,
}

/// The measures of method.md section 6, on data the repair never saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RepairReport {
    /// The method used.
    pub method: Method,
    /// The seed used.
    pub seed: u64,
    /// All settings.
    pub settings: RepairSettings,
    /// False when the session was stopped early.
    pub finished: bool,
    /// Held-out counterexamples still unsafe.
    pub held_out_violations: BeforeAfter,
    /// Fresh uniform samples of the regions that are unsafe.
    pub fresh_violations: BeforeAfter,
    /// Counterexamples the falsifier finds on the repaired network (0 is the goal).
    pub falsifier_counterexamples: usize,
    /// Held-out positives whose decision is kept.
    pub fidelity_held_out: Rate,
    /// Fresh positives inside the regions whose decision is kept.
    pub fidelity_inside: Rate,
    /// Fresh samples of the domain outside every region whose decision is kept.
    pub fidelity_outside: Rate,
    /// Fresh samples of the whole domain whose decision is kept.
    pub fidelity_domain: Rate,
    /// The prototype's "accuracy": held-out positives and negatives that satisfy the
    /// properties after repair (for comparison with the paper only).
    pub property_satisfaction: Rate,
    /// Parameter change.
    pub change: ChangeSize,
    /// Mean relative output deviation on held-out positives.
    pub output_deviation: f64,
    /// Time spent repairing (ms; 0 without a clock).
    pub wall_ms: f64,
    /// Repair rounds (domain-wise repair) or 1.
    pub rounds: usize,
    /// Training counterexamples at the end.
    pub training_negatives: usize,
    /// Training positives.
    pub training_positives: usize,
    /// The PAC statement, for domain-wise repair that earned one.
    pub pac: Option<PacStatement>,
    /// Why domain-wise repair earned no statement.
    pub pac_failure: Option<String>,
    /// The fine-tuning patch.
    pub patch: Option<Patch>,
    /// Proof status of every property on the repaired network, when the verifier ran
    /// (the command line and the app run it after the repair).
    #[serde(default)]
    pub proofs: Vec<crate::verify::PropertyProof>,
    /// How certified last-layer repair ended, when it ran.
    #[serde(default)]
    pub certified: Option<CertifiedSummary>,
}

/// A repaired network and its report.
#[derive(Clone, Debug)]
pub struct RepairOutcome {
    /// An ordinary network of the original architecture.
    pub network: Network,
    /// What the repair fixed and kept.
    pub report: RepairReport,
}

/// Measures `repaired` against `original` on held-out and fresh data.
/// `known_counterexamples` (of the original network, e.g. the training negatives) seed half
/// of the falsifier's starts: what a repair leaves unsafe usually sits near them.
pub fn measure(
    original: &Network,
    repaired: &Network,
    properties: &[Property],
    held_out: &HeldOut,
    known_counterexamples: &Matrix,
    plan: &ReportPlan,
) -> Result<RepairReport, RepairError> {
    let mut rng = SplitMix64::new(plan.seed);
    let mut region = Matrix::zeros(0, original.input_size());
    for p in properties {
        region
            .append_rows(&sample_property(&mut rng, p, plan.region_samples))
            .expect("same width");
    }
    let domain = sample_box(&mut rng, &input_domain(original), plan.domain_samples);
    let outside: Vec<usize> = (0..domain.rows())
        .filter(|&r| {
            !properties
                .iter()
                .any(|p| p.precondition_holds(domain.row(r)))
        })
        .collect();
    let outside = domain.select_rows(&outside);

    let falsifier = Falsifier::with_hints(
        repaired,
        properties,
        plan.falsifier.clone(),
        known_counterexamples,
    )?
    .run();
    let mut all_held_out = held_out.negatives.clone();
    all_held_out
        .append_rows(&held_out.positives)
        .expect("same width");
    let unsafe_after = measures::violations(repaired, properties, &all_held_out)?;

    Ok(RepairReport {
        method: Method::default(),
        seed: 0,
        settings: RepairSettings::default(),
        finished: true,
        held_out_violations: BeforeAfter {
            before: measures::violations(original, properties, &held_out.negatives)?,
            after: measures::violations(repaired, properties, &held_out.negatives)?,
        },
        fresh_violations: BeforeAfter {
            before: measures::violations(original, properties, &region)?,
            after: measures::violations(repaired, properties, &region)?,
        },
        falsifier_counterexamples: falsifier.len(),
        fidelity_held_out: measures::fidelity(original, repaired, &held_out.positives)?,
        fidelity_inside: measures::fidelity_on_positives(original, repaired, properties, &region)?,
        fidelity_outside: measures::fidelity(original, repaired, &outside)?,
        fidelity_domain: measures::fidelity(original, repaired, &domain)?,
        property_satisfaction: Rate {
            count: unsafe_after.total - unsafe_after.count,
            total: unsafe_after.total,
        },
        change: measures::change_size(original, repaired),
        output_deviation: measures::relative_output_deviation(
            original,
            repaired,
            &held_out.positives,
        )?,
        wall_ms: 0.0,
        proofs: Vec::new(),
        certified: None,
        rounds: 1,
        training_negatives: 0,
        training_positives: 0,
        pac: None,
        pac_failure: None,
        patch: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_finds_are_taught_only_where_the_original_is_right() {
        use crate::network::{Activation, DecisionRule, DenseLayer, NetworkMeta};
        use crate::property::{decision_must_be, InputBox};
        // y = (-x, x): class 0 for x < 0, class 1 for x > 0.
        let layer =
            DenseLayer::new(1, 2, vec![-1.0, 1.0], vec![0.0, 0.0], Activation::Identity).unwrap();
        let net = Network::new(vec![layer], NetworkMeta::generic(1, 2)).unwrap();
        let class_0_on = |name: &str, lower: f64, upper: f64| {
            decision_must_be(
                name,
                InputBox::new(vec![lower], vec![upper]).unwrap(),
                2,
                0,
                DecisionRule::Argmax,
            )
        };
        let property = class_0_on("repair me", 0.5, 1.0);
        let rows = |v: &[f32]| Matrix::from_vec(v.len(), 1, v.to_vec()).unwrap();
        let data = RepairData {
            negatives: rows(&[0.6, 0.8]),
            positives: rows(&[-0.5, -0.9]),
            validation_negatives: rows(&[0.7]),
            validation_positives: rows(&[-0.6]),
        };
        let mut session = RepairSession::new(
            &net,
            std::slice::from_ref(&property),
            data,
            RepairSettings::default(),
        )
        .unwrap();
        let kept_by_the_original = class_0_on("kept", -1.0, -0.5);
        let broken_by_the_original = class_0_on("broken", 0.2, 0.4);
        session
            .set_guards(vec![kept_by_the_original, broken_by_the_original])
            .unwrap();
        let find = |x: f32| Counterexample {
            input: vec![x],
            output: vec![0.0, 0.0],
            property: 0,
            margin: 0.0,
        };
        // -0.7: the original keeps its guard there. 0.3: the original breaks its guard
        // itself. 0.7: inside the repaired region, where the original is wrong.
        let lessons = session
            .guard_lessons_of(&[find(-0.7), find(0.3), find(0.7)])
            .unwrap();
        assert_eq!(lessons.as_slice(), &[-0.7]);
        let too_wide = decision_must_be(
            "two inputs",
            InputBox::new(vec![0.0, 0.0], vec![1.0, 1.0]).unwrap(),
            2,
            0,
            DecisionRule::Argmax,
        );
        assert!(session.set_guards(vec![too_wide]).is_err());
    }

    #[test]
    fn progress_without_a_cost_survives_json() {
        let p = RepairProgress {
            phase: Phase::Falsifying,
            iteration: 3,
            max_iterations: 10,
            cost: f64::NAN,
            violations: Rate { count: 0, total: 5 },
            fidelity: Rate { count: 5, total: 5 },
            elapsed_ms: 1.0,
            done: false,
        };
        let text = serde_json::to_string(&p).unwrap();
        assert!(text.contains("\"cost\":null"), "{text}");
        let back: RepairProgress = serde_json::from_str(&text).unwrap();
        assert!(back.cost.is_nan());
        assert_eq!(back.phase, Phase::Falsifying);
    }
}
