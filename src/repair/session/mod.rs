//! The repair session: a bounded slice of work per step, from the chosen method through the
//! verifier in the loop to the result.

mod inner;
mod last_layer;
mod patching;
mod proving;
mod search;

use crate::falsify::{Falsifier, FalsifierConfig};
use crate::measures::{PacStatement, Rate};
use crate::network::Network;
use crate::property::Property;
use crate::repair::certified::CertifiedRepair;
use crate::repair::domain::{certification_seed, Certification};
use crate::repair::patch;
use crate::repair::{
    measure, CertifiedSummary, HeldOut, InnerMethod, Method, Patch, PatchSummary, Phase,
    RepairData, RepairError, RepairOutcome, RepairProgress, RepairSettings, ReportPlan, Validation,
};
use crate::rng::SplitMix64;
use crate::verify::{Verdict, Verifier};
use inner::{start_inner, starts_with_finetune, Inner};

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
    /// Whether that verifier runs with the extended box budget (a second try).
    proving_extended: bool,
    /// Certified last-layer repair, and the result it started from (with that result's
    /// verdicts, when the verifier ran on it).
    last_layer: Option<(Box<CertifiedRepair>, Network, Vec<Verdict>)>,
    /// The verifier's verdicts on the result, when it ran.
    verdicts: Vec<Verdict>,
    certified_summary: Option<CertifiedSummary>,
    /// A result to patch at the next step (with the verifier's verdicts on it), whether the
    /// patch was tried, and while a patched network is being proved, what it was patched
    /// from.
    patch_pending: Option<(Network, Vec<Verdict>)>,
    patch_tried: bool,
    patch_fallback: Option<(Network, Vec<Verdict>)>,
    patch_summary: Option<PatchSummary>,
    patch_failure: Option<String>,
    /// The method asked for; `settings.method` is the one running (the automatic method
    /// resolves to the region patch or to retraining).
    requested: Method,
    /// The automatic method is trying the region patch of the original; retraining follows
    /// where that patch is not proved.
    auto_patch_first: bool,
    clock: Clock,
    elapsed_ms: f64,
    last: Option<RepairProgress>,
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
        let data = data.into_standard_layout();
        if data.negatives.nrows() == 0 {
            return Err(RepairError::NothingToRepair);
        }
        let validation = Validation::new(original, properties, &data)?;
        let mut settings = settings;
        let requested = settings.method;
        if settings.method == Method::Auto && !patch::suits_auto(original, properties) {
            settings.method = Method::Retrain;
        }
        let session = match settings.method {
            Method::Certified => {
                let mut session =
                    RepairSession::frozen(original, properties, data, settings, validation);
                session.start_last_layer(original.clone(), Vec::new())?;
                session
            }
            Method::Patch | Method::Auto => {
                if let Some(why) = patch::unsupported(original, properties) {
                    return Err(RepairError::Setting(why));
                }
                let mut session =
                    RepairSession::frozen(original, properties, data, settings, validation);
                session.patch_pending = Some((original.clone(), Vec::new()));
                session.patch_tried = true;
                session.auto_patch_first = requested == Method::Auto;
                session
            }
            _ => {
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
                RepairSession::with_inner(original, properties, data, settings, validation, inner)
            }
        };
        Ok(RepairSession {
            requested,
            ..session
        })
    }

    /// A session without a sample-based method: its hand-overs work on `original` as it is.
    fn frozen(
        original: &Network,
        properties: &[Property],
        data: RepairData,
        settings: RepairSettings,
        validation: Validation,
    ) -> Self {
        let inner = Inner::Frozen(Box::new(original.clone()));
        RepairSession::with_inner(original, properties, data, settings, validation, inner)
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
            requested: settings.method,
            auto_patch_first: false,
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
            proving_extended: false,
            last_layer: None,
            verdicts: Vec::new(),
            certified_summary: None,
            patch_pending: None,
            patch_tried: false,
            patch_fallback: None,
            patch_summary: None,
            patch_failure: None,
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
        if self.patch_pending.is_some() {
            return self.step_patch();
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
                cert.negatives.nrows() - cert.falsifier_found,
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
        report.training_negatives = self.data.negatives.nrows();
        report.training_positives = self.data.positives.nrows();
        report.pac = self.pac.clone();
        report.pac_failure = self.pac_failure.clone();
        report.settings = RepairSettings {
            method: self.requested,
            ..self.settings.clone()
        };
        let pac = report.pac.is_some();
        report.proofs = self
            .verdicts
            .iter()
            .map(|v| crate::verify::PropertyProof::from_verdict(v, pac, 0.0))
            .collect();
        report.certified = self.certified_summary.clone();
        report.region_patch = self.patch_summary.clone();
        report.region_patch_failure = self.patch_failure.clone();
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
