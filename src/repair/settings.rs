//! What configures a repair: the method, each method's settings and the verifier in the loop.

use super::{
    setting_error, CertifiedConfig, DomainConfig, FinetuneConfig, InnerMethod, PatchConfig,
    RepairError, RetrainConfig,
};
use serde::{Deserialize, Serialize};

/// The repair methods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The method most likely to end proved with the most decisions kept: the region patch
    /// of the original where it suits the network and the properties (see
    /// [`patch::suits_auto`](super::patch::suits_auto)), proved by the verifier; behaviour-
    /// imitation retraining (with the verifier in the loop and its hand-overs) where it does
    /// not suit, or where its result is not proved. The report names the method used.
    #[default]
    Auto,
    /// Behaviour-imitation retraining of all weights.
    Retrain,
    /// Behaviour-difference localisation and particle swarm scaling of a few neurons.
    Finetune,
    /// Repair until fresh samples and the falsifier find nothing: a PAC statement.
    Domain,
    /// Certified last-layer repair: the hidden layers stay, the last layer is solved for so
    /// that every property provably holds (see [`certified`](super::certified)).
    Certified,
    /// Region patch: a constant offset of the outputs inside each property box, switched on
    /// by indicator neurons added beside the network's own; nothing changes outside the
    /// boxes (see [`patch`](super::patch)).
    Patch,
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Method::Auto),
            "retrain" => Ok(Method::Retrain),
            "finetune" => Ok(Method::Finetune),
            "domain" => Ok(Method::Domain),
            "certified" => Ok(Method::Certified),
            "patch" => Ok(Method::Patch),
            other => Err(format!(
                "unknown method '{other}' (expected auto, retrain, finetune, domain, certified or patch)"
            )),
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Auto => "auto",
            Method::Retrain => "retrain",
            Method::Finetune => "finetune",
            Method::Domain => "domain",
            Method::Certified => "certified",
            Method::Patch => "patch",
        })
    }
}

/// Everything that configures a repair.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RepairSettings {
    /// Which method (default auto).
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
    /// Region patch settings (the method, and the first hand-over of the others).
    pub patch: PatchConfig,
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
    /// Before a result the verifier could neither prove nor refute within `verify_boxes` is
    /// handed over, the verifier tries once more with this many boxes, when it had proved
    /// `extend_when_proved` of every property's region (default 100,000; 0: hand over at
    /// once). Certified last-layer repair proves what it returns but can cost
    /// decisions (measured on ACAS Xu N2,4 / p2: 98.9 % of held-out decisions kept by the
    /// retrained network, proved in 40,000 boxes, against 92.8 % after the hand-over).
    pub extended_boxes: usize,
    /// The share of every property's region the first attempt must have proved for that
    /// second try (default 0.5): where little was proved, more boxes rarely finish (ACAS Xu
    /// p7 and p8: 0-1 % at 20,000 boxes) and only cost time.
    pub extend_when_proved: f64,
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
    /// Hand a result the verifier cannot prove to the region patch first, which keeps
    /// every decision outside the property boxes and inside them changes only forbidden
    /// ones; certified last-layer repair takes over only where the patch is not proved
    /// (default true).
    pub patch: bool,
}

impl Default for ProvingConfig {
    fn default() -> Self {
        ProvingConfig {
            enabled: true,
            verify_boxes: 20_000,
            hand_over: true,
            extended_boxes: 100_000,
            extend_when_proved: 0.5,
            learn_rounds: 12,
            kept_samples: 50_000,
            polish: true,
            patch: true,
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
        if self.proving.extended_boxes > 100_000_000 {
            return Err(setting_error(
                "proving",
                "extended_boxes",
                self.proving.extended_boxes,
                "at most 100000000",
            ));
        }
        if !(0.0..=1.0).contains(&self.proving.extend_when_proved) {
            return Err(setting_error(
                "proving",
                "extend_when_proved",
                self.proving.extend_when_proved,
                "a number in [0, 1]",
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
        if matches!(self.method, Method::Patch | Method::Auto)
            || (self.proving.enabled && self.proving.patch)
        {
            self.patch.check()?;
        }
        match self.method {
            Method::Certified | Method::Patch => Ok(()),
            Method::Retrain | Method::Auto => self.retrain.check(),
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
