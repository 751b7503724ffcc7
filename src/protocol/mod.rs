//! The messages between the browser app and its worker, defined once for both sides.
//!
//! In the browser, messages cross as JavaScript values ([`js`]: structured clones, with byte
//! fields as `Uint8Array`s that are transferred, not copied); natively, and in tests, as JSON
//! text ([`encode`], [`decode`]). Both encodings are round-trip tested. Every request that
//! starts work carries a [`JobId`] chosen by the app; every answer names it, so the app can
//! drop answers for a view the user already left. The worker never sends anything before
//! [`Response::Ready`]: messages posted to a worker whose wasm has not started yet are lost,
//! so the app queues its requests until then.

use crate::falsify::Counterexample;
use crate::measures::Rate;
use crate::network::{DecisionRule, NetworkMeta};
use crate::property::{InputBox, Property, UnsafeRegion};
use crate::repair::{RepairProgress, RepairReport, RepairSettings};
use crate::slice::{MapRows, SliceView};
use crate::verify::{Verdict, VerifyProgress};
use serde::{Deserialize, Serialize};

mod finite;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub mod js;

/// Chosen by the app for each piece of work; answers carry it back.
pub type JobId = u64;
/// Chosen by the app for each network it asks the worker to hold.
pub type NetworkId = u32;
/// Chosen by the app for each property it asks the worker to hold.
pub type PropertyId = u32;

/// Version of the protocol, checked in the handshake (app and worker come from one build,
/// but a cached old worker script must not be spoken to). 3: messages as JavaScript values
/// (2 was JSON text), and the re-check; 4: the region patch (a method, a phase and a report
/// field an older worker does not know); 5: the automatic method.
pub const PROTOCOL_VERSION: u32 = 5;

/// Most inputs one [`Request::Recheck`] may ask about (the page sends the check's finds,
/// at most a few hundred).
pub const MAX_RECHECK_INPUTS: usize = 100_000;

/// Most uniform samples per property one [`Request::Check`] may ask for. The samples are
/// drawn at once, before the falsifier's steps: 2 x 10^9 of them (found by fuzzing) would
/// hold the worker for minutes and ask for gigabytes. The page asks for 10,000.
pub const MAX_CHECK_SAMPLES: usize = 1_000_000;

/// From the app to the worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Parse a network file and hold it as `network` (replacing nothing if parsing fails).
    LoadNetwork {
        /// Job.
        job: JobId,
        /// Slot to hold it in.
        network: NetworkId,
        /// File name; its extension picks the format.
        file_name: String,
        /// File contents.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Parse a VNN-LIB file and hold it as `property`.
    LoadProperty {
        /// Job.
        job: JobId,
        /// Slot to hold it in.
        property: PropertyId,
        /// File name.
        file_name: String,
        /// File contents.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Stop holding a network (and stop its jobs).
    ForgetNetwork {
        /// Slot.
        network: NetworkId,
    },
    /// Stop holding a property.
    ForgetProperty {
        /// Slot.
        property: PropertyId,
    },
    /// Change how a held network's outputs become a decision.
    SetDecisionRule {
        /// Job.
        job: JobId,
        /// Slot.
        network: NetworkId,
        /// The new rule.
        rule: DecisionRule,
    },
    /// Compute a decision map, streamed coarse to fine.
    DecisionMap {
        /// Job.
        job: JobId,
        /// Slot.
        network: NetworkId,
        /// The slice.
        view: SliceView,
        /// Grid sides, computed in this order (coarse first).
        resolutions: Vec<u32>,
    },
    /// Run the network on one input (network units).
    Probe {
        /// Job.
        job: JobId,
        /// Slot.
        network: NetworkId,
        /// The input.
        #[serde(deserialize_with = "finite::vector")]
        input: Vec<f32>,
    },
    /// Ask which of these inputs (network units) are counterexamples to any of the
    /// properties on this network: the check's finds re-checked on a repaired network.
    Recheck {
        /// Job.
        job: JobId,
        /// Slot of the network.
        network: NetworkId,
        /// Slots of the properties.
        properties: Vec<PropertyId>,
        /// The inputs (at most [`MAX_RECHECK_INPUTS`]).
        #[serde(deserialize_with = "finite::vectors")]
        inputs: Vec<Vec<f32>>,
    },
    /// Look for counterexamples: uniform samples of each property's region, then the
    /// falsifier, streamed as they are found.
    Check {
        /// Job.
        job: JobId,
        /// Slot of the network.
        network: NetworkId,
        /// The properties to check.
        properties: Vec<PropertyId>,
        /// Uniform samples per property (at most [`MAX_CHECK_SAMPLES`]).
        samples: usize,
        /// Seed of the samples and the falsifier.
        seed: u64,
    },
    /// Try to prove properties with sound bounds and input splitting (one verdict each).
    Verify {
        /// Job.
        job: JobId,
        /// Slot of the network.
        network: NetworkId,
        /// The properties, verified one after the other.
        properties: Vec<PropertyId>,
        /// Boxes examined per property at most before it is reported unknown.
        max_boxes: usize,
    },
    /// Repair a network against properties; the result goes to a new slot and the original
    /// stays untouched (a cancelled repair leaves no trace).
    Repair {
        /// Job.
        job: JobId,
        /// Slot of the network to repair.
        network: NetworkId,
        /// The properties it must satisfy.
        properties: Vec<PropertyId>,
        /// Method, seed and every setting.
        settings: Box<RepairSettings>,
        /// Slot for the repaired network.
        result: NetworkId,
        /// Inputs whose decisions must be kept (an image gallery's images). Empty: the
        /// data is sampled from the property regions and the input domain; otherwise the
        /// properties are treated as image balls and the repair keeps these inputs and
        /// noisy copies of them ([`crate::images::gallery_repair::gallery_repair_data`]).
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            deserialize_with = "finite::vectors"
        )]
        keep: Vec<Vec<f32>>,
    },
    /// Write a held network in a format (chosen by the file name's extension).
    Export {
        /// Job.
        job: JobId,
        /// Slot.
        network: NetworkId,
        /// File name; `.onnx`, `.nnet` or `.json`.
        file_name: String,
    },
    /// Stop a job; nothing more is sent for it.
    Cancel {
        /// Job.
        job: JobId,
    },
    /// Make the worker panic, so that tests can see the app recover.
    CrashForTesting,
}

/// From the worker to the app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// The worker has started and listens.
    Ready {
        /// [`PROTOCOL_VERSION`] of the worker.
        protocol: u32,
    },
    /// A network was parsed and is held.
    NetworkLoaded {
        /// Job.
        job: JobId,
        /// Slot.
        network: NetworkId,
        /// What the app shows about it.
        summary: NetworkSummary,
    },
    /// A property was parsed and is held.
    PropertyLoaded {
        /// Job.
        job: JobId,
        /// Slot.
        property: PropertyId,
        /// What the app shows about it.
        summary: PropertySummary,
    },
    /// A network's decision rule changed.
    DecisionRuleSet {
        /// Job.
        job: JobId,
        /// Slot.
        network: NetworkId,
        /// The summary with the new rule and margin scale.
        summary: NetworkSummary,
    },
    /// A piece of a decision map.
    MapRows {
        /// Job.
        job: JobId,
        /// The rows.
        rows: MapRows,
        /// Whether this piece completes its resolution.
        resolution_done: bool,
        /// Whether this piece completes the whole job.
        job_done: bool,
        /// Compute time spent on this resolution so far, milliseconds.
        compute_ms: f64,
    },
    /// Progress of a check, with the counterexamples found since the last message.
    CheckProgress {
        /// Job.
        job: JobId,
        /// Uniform samples of the regions that are counterexamples.
        sampled: Rate,
        /// New counterexamples (sampled ones first, then the falsifier's).
        counterexamples: Vec<Counterexample>,
        /// Falsifier starts done so far.
        starts_used: usize,
        /// Falsifier starts in all.
        starts_total: usize,
        /// Whether the check is finished.
        done: bool,
    },
    /// Progress of a verification, with the verdicts finished since the last message.
    VerifyProgress {
        /// Job.
        job: JobId,
        /// The verifier's progress on the property it is working on.
        progress: VerifyProgress,
        /// Newly finished verdicts, with the property slot each is about.
        verdicts: Vec<(PropertyId, Verdict)>,
    },
    /// Progress of a repair.
    RepairProgress {
        /// Job.
        job: JobId,
        /// What is happening, in words.
        stage: String,
        /// The session's own progress, once it runs.
        progress: Option<RepairProgress>,
    },
    /// A repair finished: the repaired network is held in the result slot.
    Repaired {
        /// Job.
        job: JobId,
        /// The result slot.
        network: NetworkId,
        /// Summary of the repaired network.
        summary: NetworkSummary,
        /// What the repair fixed and kept, measured on data it never saw.
        report: Box<RepairReport>,
        /// The repaired network as birdnn JSON, so the page can give it to a restarted
        /// worker.
        #[serde(with = "serde_bytes")]
        json: Vec<u8>,
    },
    /// A network written to bytes.
    Exported {
        /// Job.
        job: JobId,
        /// File name.
        file_name: String,
        /// File contents.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// The answer to [`Request::Recheck`]: one flag per input, true where it is still a
    /// counterexample.
    Rechecked {
        /// Job.
        job: JobId,
        /// Per input, in the order asked.
        violating: Vec<bool>,
    },
    /// The answer to [`Request::Probe`].
    Probed {
        /// Job.
        job: JobId,
        /// Outputs, network units.
        outputs: Vec<f32>,
        /// Winning output.
        decision: usize,
    },
    /// A job failed; `message` says why in words for the user.
    Failed {
        /// Job.
        job: JobId,
        /// What went wrong.
        message: String,
    },
    /// The worker panicked; it must be restarted.
    Panicked {
        /// The panic message.
        message: String,
    },
}

impl Request {
    /// The job this request starts, if any.
    pub fn job(&self) -> Option<JobId> {
        match self {
            Request::LoadNetwork { job, .. }
            | Request::LoadProperty { job, .. }
            | Request::SetDecisionRule { job, .. }
            | Request::DecisionMap { job, .. }
            | Request::Check { job, .. }
            | Request::Verify { job, .. }
            | Request::Repair { job, .. }
            | Request::Export { job, .. }
            | Request::Probe { job, .. }
            | Request::Recheck { job, .. } => Some(*job),
            Request::Cancel { .. }
            | Request::ForgetNetwork { .. }
            | Request::ForgetProperty { .. }
            | Request::CrashForTesting => None,
        }
    }
}

impl Response {
    /// The job this answers, if any.
    pub fn job(&self) -> Option<JobId> {
        match self {
            Response::NetworkLoaded { job, .. }
            | Response::PropertyLoaded { job, .. }
            | Response::DecisionRuleSet { job, .. }
            | Response::MapRows { job, .. }
            | Response::CheckProgress { job, .. }
            | Response::VerifyProgress { job, .. }
            | Response::RepairProgress { job, .. }
            | Response::Repaired { job, .. }
            | Response::Exported { job, .. }
            | Response::Probed { job, .. }
            | Response::Rechecked { job, .. }
            | Response::Failed { job, .. } => Some(*job),
            Response::Ready { .. } | Response::Panicked { .. } => None,
        }
    }
}

/// Encodes a message for `postMessage`.
pub fn encode<T: Serialize>(message: &T) -> String {
    serde_json::to_string(message).expect("protocol messages always serialise")
}

/// Decodes a message received from the other side.
pub fn decode<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("malformed message: {e}"))
}

/// One dense layer as the info panel shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerSummary {
    /// Inputs.
    pub inputs: usize,
    /// Outputs (neurons).
    pub outputs: usize,
    /// Activation name (`relu`, `tanh`, ...).
    pub activation: String,
    /// Weights plus biases.
    pub parameters: usize,
}

/// What the app knows about a held network: everything but its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkSummary {
    /// File it came from.
    pub file_name: String,
    /// Names, units, normalisation, decision rule.
    pub meta: NetworkMeta,
    /// Layers in order.
    pub layers: Vec<LayerSummary>,
    /// Total parameters.
    pub parameters: usize,
    /// The typical margin between the best two outputs (confidence scale of the maps).
    pub margin_scale: f32,
}

/// What the app knows about a held property.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PropertySummary {
    /// Name (file stem).
    pub name: String,
    /// File it came from.
    pub file_name: String,
    /// Inputs it speaks of.
    pub num_inputs: usize,
    /// Outputs it speaks of.
    pub num_outputs: usize,
    /// Its precondition, network units.
    pub boxes: Vec<InputBox>,
    /// Outputs that violate it.
    pub unsafe_region: UnsafeRegion,
}

impl PropertySummary {
    /// The summary of a parsed property.
    pub fn of(property: &Property, file_name: &str) -> Self {
        PropertySummary {
            name: property.name.clone(),
            file_name: file_name.to_string(),
            num_inputs: property.num_inputs,
            num_outputs: property.num_outputs,
            boxes: property.input_boxes.clone(),
            unsafe_region: property.unsafe_region.clone(),
        }
    }

    /// Whether it speaks of as many inputs and outputs as the network has; if not, why.
    pub fn fit(&self, network: &NetworkSummary) -> Result<(), String> {
        let (ni, no) = (network.meta.inputs.len(), network.meta.outputs.len());
        if self.num_inputs != ni || self.num_outputs != no {
            return Err(format!(
                "speaks of {} inputs and {} outputs; the network has {ni} and {no}",
                self.num_inputs, self.num_outputs
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::property::LinearConstraint;
    use crate::verify::{VerifiedCounterexample, VerifyStatus};

    fn a_view() -> SliceView {
        SliceView {
            x_dim: 0,
            y_dim: 2,
            x_range: (-0.5, 0.25),
            y_range: (0.0, 1.0),
            fixed: vec![0.1, 0.2, 0.3],
        }
    }

    fn a_summary() -> NetworkSummary {
        NetworkSummary {
            file_name: "net.onnx".into(),
            meta: NetworkMeta::acas_xu(),
            layers: vec![LayerSummary {
                inputs: 5,
                outputs: 50,
                activation: "relu".into(),
                parameters: 300,
            }],
            parameters: 300,
            margin_scale: 0.012,
        }
    }

    /// One of each request; the match makes a new variant a compile error here until it has
    /// an example.
    fn every_request() -> Vec<Request> {
        let all = vec![
            Request::LoadNetwork {
                job: 1,
                network: 2,
                file_name: "a.nnet".into(),
                bytes: vec![0, 1, 255],
            },
            Request::LoadProperty {
                job: 3,
                property: 4,
                file_name: "p.vnnlib".into(),
                bytes: b"(assert".to_vec(),
            },
            Request::ForgetNetwork { network: 2 },
            Request::ForgetProperty { property: 4 },
            Request::SetDecisionRule {
                job: 5,
                network: 2,
                rule: DecisionRule::Argmin,
            },
            Request::DecisionMap {
                job: u64::MAX,
                network: 2,
                view: a_view(),
                resolutions: vec![64, 256],
            },
            Request::Probe {
                job: 7,
                network: 2,
                input: vec![0.5, -1e-7, 3.25e9],
            },
            Request::Check {
                job: 8,
                network: 2,
                properties: vec![4, 5],
                samples: 10_000,
                seed: 1,
            },
            Request::Verify {
                job: 12,
                network: 2,
                properties: vec![4, 5],
                max_boxes: 1000,
            },
            Request::Repair {
                job: 9,
                network: 2,
                properties: vec![4],
                settings: Box::default(),
                result: 3,
                keep: vec![vec![0.5, 0.25]],
            },
            Request::Export {
                job: 10,
                network: 3,
                file_name: "fixed.nnet".into(),
            },
            Request::Recheck {
                job: 13,
                network: 3,
                properties: vec![4],
                inputs: vec![vec![0.5, 0.25], vec![-1.0, 1.0]],
            },
            Request::Cancel { job: 7 },
            Request::CrashForTesting,
        ];
        for r in &all {
            match r {
                Request::LoadNetwork { .. }
                | Request::LoadProperty { .. }
                | Request::ForgetNetwork { .. }
                | Request::ForgetProperty { .. }
                | Request::SetDecisionRule { .. }
                | Request::DecisionMap { .. }
                | Request::Probe { .. }
                | Request::Check { .. }
                | Request::Verify { .. }
                | Request::Repair { .. }
                | Request::Export { .. }
                | Request::Recheck { .. }
                | Request::Cancel { .. }
                | Request::CrashForTesting => {}
            }
        }
        all
    }

    fn every_response() -> Vec<Response> {
        let all = vec![
            Response::Ready {
                protocol: PROTOCOL_VERSION,
            },
            Response::NetworkLoaded {
                job: 1,
                network: 2,
                summary: a_summary(),
            },
            Response::PropertyLoaded {
                job: 3,
                property: 4,
                summary: PropertySummary {
                    name: "prop_2".into(),
                    file_name: "prop_2.vnnlib".into(),
                    num_inputs: 3,
                    num_outputs: 2,
                    boxes: vec![InputBox::new(vec![0.0; 3], vec![1.0; 3]).unwrap()],
                    unsafe_region: UnsafeRegion {
                        disjuncts: vec![vec![LinearConstraint {
                            coefficients: vec![1.0, -1.0],
                            rhs: 0.0,
                        }]],
                    },
                },
            },
            Response::DecisionRuleSet {
                job: 5,
                network: 2,
                summary: a_summary(),
            },
            Response::MapRows {
                job: 6,
                rows: MapRows {
                    resolution: 2,
                    first_row: 1,
                    classes: vec![0, 4],
                    confidence: vec![255, 0],
                },
                resolution_done: true,
                job_done: false,
                compute_ms: 1.5,
            },
            Response::Probed {
                job: 7,
                outputs: vec![0.25, -0.125],
                decision: 1,
            },
            Response::Failed {
                job: 8,
                message: "bad \"file\"\nline 2".into(),
            },
            Response::Panicked {
                message: "index out of bounds".into(),
            },
            Response::CheckProgress {
                job: 9,
                sampled: Rate {
                    count: 3,
                    total: 100,
                },
                counterexamples: vec![Counterexample {
                    input: vec![0.5, 0.25],
                    output: vec![1.0, 2.0],
                    property: 0,
                    margin: -0.5,
                }],
                starts_used: 256,
                starts_total: 4096,
                done: false,
            },
            Response::RepairProgress {
                job: 10,
                stage: "repairing".into(),
                progress: None,
            },
            Response::VerifyProgress {
                job: 12,
                progress: VerifyProgress {
                    property: 0,
                    properties: 2,
                    stage: "splitting".into(),
                    proved_fraction: 0.25,
                    boxes: 17,
                    open_boxes: 3,
                    done: false,
                },
                verdicts: vec![(
                    4,
                    Verdict {
                        property: "p".into(),
                        status: VerifyStatus::Counterexample,
                        proved_fraction: 0.5,
                        counterexample: Some(VerifiedCounterexample {
                            input: vec![0.5],
                            output: vec![1.0, -2.0],
                        }),
                        boxes: 9,
                        proved_boxes: vec![(vec![0.0], vec![0.25])],
                    },
                )],
            },
            Response::Exported {
                job: 11,
                file_name: "fixed.json".into(),
                bytes: b"{}".to_vec(),
            },
            Response::Rechecked {
                job: 13,
                violating: vec![true, false],
            },
        ];
        for r in &all {
            match r {
                Response::Ready { .. }
                | Response::NetworkLoaded { .. }
                | Response::PropertyLoaded { .. }
                | Response::DecisionRuleSet { .. }
                | Response::MapRows { .. }
                | Response::Probed { .. }
                | Response::Failed { .. }
                | Response::Panicked { .. }
                | Response::CheckProgress { .. }
                | Response::VerifyProgress { .. }
                | Response::RepairProgress { .. }
                | Response::Repaired { .. }
                | Response::Exported { .. }
                | Response::Rechecked { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_message_round_trips() {
        for r in every_request() {
            assert_eq!(decode::<Request>(&encode(&r)).unwrap(), r);
        }
        for r in every_response() {
            assert_eq!(decode::<Response>(&encode(&r)).unwrap(), r);
        }
    }

    #[test]
    fn messages_are_tagged_and_jobs_are_found() {
        let text = encode(&Request::Cancel { job: 3 });
        assert_eq!(text, r#"{"type":"cancel","job":3}"#);
        let jobs: Vec<_> = every_request().iter().map(Request::job).collect();
        assert_eq!(jobs.iter().filter(|j| j.is_some()).count(), 10);
        assert!(every_response()[1..7].iter().all(|r| r.job().is_some()));
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        for text in [
            "",
            "{",
            r#"{"type":"nope"}"#,
            r#"{"type":"cancel"}"#,
            "[1,2]",
        ] {
            let err = decode::<Request>(text).unwrap_err();
            assert!(err.starts_with("malformed message"), "{err}");
        }
    }

    #[test]
    fn inputs_beyond_f32_are_refused_where_they_are_decoded() {
        // 1e39 parses as an f64 and would become infinity as an f32.
        for (text, names) in [
            (
                r#"{"type":"probe","job":1,"network":0,"input":[0.5,1e39]}"#,
                "input entry 1",
            ),
            (
                r#"{"type":"recheck","job":6,"network":0,"properties":[1],"inputs":[[0.5,0.5],[5,-9e60]]}"#,
                "input 1, entry 1",
            ),
            (
                r#"{"type":"repair","job":5,"network":0,"properties":[1],"settings":{},"result":2,"keep":[[1e39,0.5]]}"#,
                "input 0, entry 0",
            ),
        ] {
            let err = decode::<Request>(text).unwrap_err();
            assert!(
                err.starts_with("malformed message") && err.contains(names),
                "{err}"
            );
            assert!(err.contains("not a finite number"), "{err}");
        }
        // The largest f32 still passes, and so does its JSON form.
        let largest = format!(
            r#"{{"type":"probe","job":1,"network":0,"input":[{:e}]}}"#,
            f32::MAX
        );
        let request = decode::<Request>(&largest).unwrap();
        assert_eq!(decode::<Request>(&encode(&request)).unwrap(), request);
    }

    #[test]
    fn properties_that_do_not_fit_say_why() {
        let Response::PropertyLoaded { summary, .. } = &every_response()[2] else {
            unreachable!()
        };
        let err = summary.fit(&a_summary()).unwrap_err();
        assert!(
            err.contains("3 inputs and 2 outputs; the network has 5 and 5"),
            "{err}"
        );
    }
}
