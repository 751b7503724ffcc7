//! The falsifier's searches on a retrained candidate, and on the guards around it.

use super::RepairSession;
use crate::falsify::{counterexample_inputs, Counterexample, Falsifier, FalsifierConfig};
use crate::repair::{Phase, RepairError, RepairProgress};
use crate::tensor::{Array2, BatchRows};

impl RepairSession {
    /// A few falsifier steps on the retrained candidate. Counterexamples it finds join the
    /// training and validation data and training goes on from the candidate; when it finds
    /// none, the candidate is the result. Sample-wise retraining otherwise leaves the small
    /// unsafe pockets between its training points that the final measures then find.
    pub(super) fn step_search(&mut self) -> Result<RepairProgress, RepairError> {
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
                if lessons.nrows() == 0 {
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
                let inputs = counterexample_inputs(&found, self.original.input_size());
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
    pub(super) fn guard_lessons_of(
        &self,
        found: &[Counterexample],
    ) -> Result<Array2<f32>, RepairError> {
        let inputs = counterexample_inputs(found, self.original.input_size());
        let outputs = self.original.forward(&inputs)?;
        let kept: Vec<usize> = (0..inputs.nrows())
            .filter(|&r| {
                let (x, y) = (inputs.row_slice(r), outputs.row_slice(r));
                !self
                    .guards
                    .iter()
                    .chain(&self.properties)
                    .any(|g| g.is_negative(x, y))
            })
            .collect();
        Ok(inputs.select_rows(&kept))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Network;
    use crate::repair::{RepairData, RepairSettings};

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
        let rows = |v: &[f32]| crate::tensor::from_vec(v.len(), 1, v.to_vec()).unwrap();
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
        assert_eq!(lessons.flat(), &[-0.7]);
        let too_wide = decision_must_be(
            "two inputs",
            InputBox::new(vec![0.0, 0.0], vec![1.0, 1.0]).unwrap(),
            2,
            0,
            DecisionRule::Argmax,
        );
        assert!(session.set_guards(vec![too_wide]).is_err());
    }
}
