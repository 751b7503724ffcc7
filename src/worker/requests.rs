//! Answering the app's requests: at once (loading, probes, exports) or by queueing a job.

use super::{
    margin_scale, missing_network, HeldNetwork, Job, JobKind, RepairStage, WorkerCore,
    MAX_REPORTED_COUNTEREXAMPLES, VERIFY_BOXES_PER_STEP,
};
use crate::falsify::{Counterexample, Falsifier, FalsifierConfig};
use crate::formats::{read_network, read_property, write_network};
use crate::measures::Rate;
use crate::property::negatives_of;
use crate::protocol::{
    JobId, NetworkId, PropertyId, PropertySummary, Request, Response, MAX_CHECK_SAMPLES,
    MAX_RECHECK_INPUTS,
};
use crate::rng::SplitMix64;
use crate::sampling::sample_property;
use crate::slice::DecisionMapJob;
use crate::tensor::BatchRows;
use crate::verify::{Verifier, VerifyConfig};

impl WorkerCore {
    /// Which inputs are counterexamples to any of the properties on the network.
    fn recheck(
        &self,
        job: JobId,
        network: NetworkId,
        properties: &[PropertyId],
        inputs: &[Vec<f32>],
    ) -> Response {
        let Some(held) = self.networks.get(&network) else {
            return missing_network(job, network);
        };
        let failed = |message: String| Response::Failed { job, message };
        if inputs.len() > MAX_RECHECK_INPUTS {
            return failed(format!(
                "{} inputs to re-check; at most {MAX_RECHECK_INPUTS} are taken",
                inputs.len()
            ));
        }
        let checked = match self.properties_for(&held.net, properties) {
            Ok(p) => p,
            Err(message) => return failed(message),
        };
        let mut violating = Vec::with_capacity(inputs.len());
        for (i, x) in inputs.iter().enumerate() {
            let y = match held.net.forward_one(x) {
                Ok(y) => y,
                Err(e) => return failed(format!("input {i} to re-check: {e}")),
            };
            violating.push(checked.iter().any(|p| p.is_negative(x, &y)));
        }
        Response::Rechecked { job, violating }
    }

    /// Answers a request: at once, or by queueing a job that [`WorkerCore::step`] advances.
    pub fn handle(&mut self, request: Request) -> Vec<Response> {
        match request {
            Request::LoadNetwork {
                job,
                network,
                file_name,
                bytes,
            } => vec![self.load_network(job, network, file_name, &bytes)],
            Request::LoadProperty {
                job,
                property,
                file_name,
                bytes,
            } => vec![match read_property(&file_name, &bytes) {
                Ok(parsed) => {
                    let summary = PropertySummary::of(&parsed, &file_name);
                    self.properties.insert(property, parsed);
                    Response::PropertyLoaded {
                        job,
                        property,
                        summary,
                    }
                }
                Err(e) => Response::Failed {
                    job,
                    message: e.to_string(),
                },
            }],
            Request::ForgetNetwork { network } => {
                self.networks.remove(&network);
                self.jobs.retain(|j| j.kind.network() != network);
                Vec::new()
            }
            Request::ForgetProperty { property } => {
                self.properties.remove(&property);
                Vec::new()
            }
            Request::SetDecisionRule { job, network, rule } => {
                vec![match self.networks.get_mut(&network) {
                    Some(held) => {
                        held.net.set_decision(rule);
                        held.margin_scale = margin_scale(&held.net);
                        Response::DecisionRuleSet {
                            job,
                            network,
                            summary: held.summary(),
                        }
                    }
                    None => missing_network(job, network),
                }]
            }
            Request::DecisionMap {
                job,
                network,
                view,
                resolutions,
            } => {
                let Some(held) = self.networks.get(&network) else {
                    return vec![missing_network(job, network)];
                };
                match DecisionMapJob::new(&held.net, view, resolutions, held.margin_scale) {
                    Ok(map) => {
                        self.jobs.push_back(Job {
                            id: job,
                            kind: JobKind::Map {
                                network,
                                map,
                                compute_ms: 0.0,
                            },
                        });
                        Vec::new()
                    }
                    Err(message) => vec![Response::Failed { job, message }],
                }
            }
            Request::Probe {
                job,
                network,
                input,
            } => {
                let Some(held) = self.networks.get(&network) else {
                    return vec![missing_network(job, network)];
                };
                vec![match held.net.forward_one(&input) {
                    Ok(outputs) => Response::Probed {
                        job,
                        decision: held.net.meta().decision.decide(&outputs).unwrap_or(0),
                        outputs,
                    },
                    Err(e) => Response::Failed {
                        job,
                        message: e.to_string(),
                    },
                }]
            }
            Request::Recheck {
                job,
                network,
                properties,
                inputs,
            } => vec![self.recheck(job, network, &properties, &inputs)],
            Request::Check {
                job,
                network,
                properties,
                samples,
                seed,
            } => match self.start_check(network, &properties, samples, seed) {
                Ok(kind) => {
                    self.jobs.push_back(Job { id: job, kind });
                    Vec::new()
                }
                Err(message) => vec![Response::Failed { job, message }],
            },
            Request::Verify {
                job,
                network,
                properties,
                max_boxes,
            } => {
                let Some(held) = self.networks.get(&network) else {
                    return vec![missing_network(job, network)];
                };
                let checked = match self.properties_for(&held.net, &properties) {
                    Ok(p) => p,
                    Err(message) => return vec![Response::Failed { job, message }],
                };
                let config = VerifyConfig {
                    max_boxes: max_boxes.max(1),
                    boxes_per_step: VERIFY_BOXES_PER_STEP,
                    ..VerifyConfig::default()
                };
                match Verifier::new(&held.net, &checked, config) {
                    Ok(verifier) => {
                        self.jobs.push_back(Job {
                            id: job,
                            kind: JobKind::Verify {
                                network,
                                verifier: Box::new(verifier),
                                slots: properties,
                                sent: 0,
                            },
                        });
                        Vec::new()
                    }
                    Err(e) => vec![Response::Failed {
                        job,
                        message: e.to_string(),
                    }],
                }
            }
            Request::Repair {
                job,
                network,
                properties,
                settings,
                result,
                keep,
            } => {
                let Some(held) = self.networks.get(&network) else {
                    return vec![missing_network(job, network)];
                };
                if let Some(bad) = keep.iter().find(|k| k.len() != held.net.input_size()) {
                    return vec![Response::Failed {
                        job,
                        message: format!(
                            "an input to keep has {} values, the network takes {}",
                            bad.len(),
                            held.net.input_size()
                        ),
                    }];
                }
                if keep.iter().flatten().any(|v| !v.is_finite()) {
                    return vec![Response::Failed {
                        job,
                        message: "an input to keep holds a value that is not a finite number"
                            .into(),
                    }];
                }
                let properties = match self.properties_for(&held.net, &properties) {
                    Ok(p) => p,
                    Err(message) => return vec![Response::Failed { job, message }],
                };
                if let Err(e) = settings.check() {
                    return vec![Response::Failed {
                        job,
                        message: e.to_string(),
                    }];
                }
                self.jobs.push_back(Job {
                    id: job,
                    kind: JobKind::Repair {
                        network,
                        result,
                        stage: RepairStage::Preparing {
                            properties,
                            settings,
                            keep,
                        },
                    },
                });
                vec![Response::RepairProgress {
                    job,
                    stage: "drawing samples and searching for counterexamples".into(),
                    progress: None,
                }]
            }
            Request::Export {
                job,
                network,
                file_name,
            } => {
                let Some(held) = self.networks.get(&network) else {
                    return vec![missing_network(job, network)];
                };
                vec![match write_network(&file_name, &held.net) {
                    Ok(bytes) => Response::Exported {
                        job,
                        file_name,
                        bytes,
                    },
                    Err(e) => Response::Failed {
                        job,
                        message: e.to_string(),
                    },
                }]
            }
            Request::Cancel { job } => {
                self.jobs.retain(|j| j.id != job);
                Vec::new()
            }
            Request::CrashForTesting => panic!("crash requested by the app (a test of recovery)"),
        }
    }

    fn start_check(
        &self,
        network: NetworkId,
        slots: &[PropertyId],
        samples: usize,
        seed: u64,
    ) -> Result<JobKind, String> {
        if samples > MAX_CHECK_SAMPLES {
            return Err(format!(
                "a check of {samples} samples per property; at most {MAX_CHECK_SAMPLES} are drawn"
            ));
        }
        let held = self
            .networks
            .get(&network)
            .ok_or_else(|| format!("the worker holds no network {network}"))?;
        let properties = self.properties_for(&held.net, slots)?;
        let mut rng = SplitMix64::new(seed);
        let mut sampled = Rate { count: 0, total: 0 };
        let mut pending = Vec::new();
        for (index, p) in properties.iter().enumerate() {
            let inputs = sample_property(&mut rng, p, samples);
            let outputs = held.net.forward(&inputs).map_err(|e| e.to_string())?;
            let negative = negatives_of(std::slice::from_ref(p), &inputs, &outputs);
            sampled.total += inputs.nrows();
            for (r, &bad) in negative.iter().enumerate() {
                if bad {
                    sampled.count += 1;
                    if pending.len() < MAX_REPORTED_COUNTEREXAMPLES {
                        let y = outputs.row_slice(r);
                        pending.push(Counterexample {
                            input: inputs.row_slice(r).to_vec(),
                            output: y.to_vec(),
                            property: index,
                            margin: p.unsafe_region.violation_margin(y).0,
                        });
                    }
                }
            }
        }
        let config = FalsifierConfig {
            seed: seed ^ 0xFA15,
            ..FalsifierConfig::default()
        };
        let falsifier =
            Falsifier::new(&held.net, &properties, config).map_err(|e| e.to_string())?;
        Ok(JobKind::Check {
            network,
            falsifier: Box::new(falsifier),
            sampled,
            falsifier_sent: 0,
            reported: 0,
            pending,
        })
    }

    fn load_network(
        &mut self,
        job: JobId,
        network: NetworkId,
        file_name: String,
        bytes: &[u8],
    ) -> Response {
        match read_network(&file_name, bytes) {
            Ok(net) => {
                let margin_scale = margin_scale(&net);
                let held = HeldNetwork {
                    net,
                    file_name,
                    margin_scale,
                };
                let summary = held.summary();
                self.networks.insert(network, held);
                Response::NetworkLoaded {
                    job,
                    network,
                    summary,
                }
            }
            Err(e) => Response::Failed {
                job,
                message: e.to_string(),
            },
        }
    }
}
