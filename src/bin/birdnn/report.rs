//! The repair report as text.

use birdnn::network::Network;
use birdnn::repair::{Method, RepairReport};

/// One verdict line per property, first, so that no count of counterexamples found stands
/// alone as if it meant safe.
fn print_verdicts(r: &RepairReport) {
    if r.proofs.is_empty() {
        println!(
            "  verdict                       not checked by the verifier: {} counterexamples found by sampling and the falsifier, which is not a proof",
            r.fresh_violations.after.count + r.falsifier_counterexamples
        );
        return;
    }
    for p in &r.proofs {
        let detail = match p.status.as_str() {
            "proved" => "proved safe on its whole region".to_string(),
            "violated" => match &p.counterexample {
                Some(c) => format!("VIOLATED: counterexample x = {:?}", c.input),
                None => "VIOLATED".into(),
            },
            "pac" => format!(
                "not proved ({:.2} % of the region proved); PAC statement only: {}",
                100.0 * p.proved_fraction,
                r.pac.as_ref().map_or(String::new(), |s| s.to_string())
            ),
            _ => format!(
                "unknown: {:.2} % of the region proved, no counterexample found; not proved safe",
                100.0 * p.proved_fraction
            ),
        };
        let when = if p.seconds > 0.0 {
            format!("{:.2} s", p.seconds)
        } else {
            "by the verifier in the repair loop".into()
        };
        println!(
            "  {:<29} {detail} ({when})",
            format!("verdict on {}", p.property)
        );
    }
}

/// The repair report as text, verdicts first.
pub(crate) fn print_report(r: &RepairReport, net: &Network) {
    let chosen = if r.settings.method == Method::Auto && r.method != Method::Auto {
        " (chosen automatically)"
    } else {
        ""
    };
    println!(
        "{}{chosen} repair of {} (seed {}){}",
        r.method,
        net.meta().name,
        r.seed,
        if r.finished { "" } else { " - stopped early" }
    );
    print_verdicts(r);
    if let Some(c) = &r.certified {
        println!(
            "  last layer                    {} after {} program(s) on {} cells, {} decisions protected{}{}",
            if c.certified { "certified" } else { "not certified" },
            c.rounds,
            c.cells,
            c.protected,
            c.failure.as_ref().map_or(String::new(), |f| format!(" ({f})")),
            if c.kept {
                ""
            } else {
                "; not used: the network it started from is the result"
            }
        );
    }
    if let Some(p) = &r.region_patch {
        println!(
            "  region patch                  {} box(es) ({} of the whole domain), {} neurons added; {} of {} sampled decisions in the boxes changed{}",
            p.boxes,
            p.whole_domain,
            p.neurons_added,
            p.changed,
            p.kept,
            if p.used {
                ""
            } else {
                "; not used: the network it started from goes on"
            }
        );
    }
    if let Some(why) = &r.region_patch_failure {
        println!("  region patch not used         {why}");
    }
    println!(
        "  time                          {:.2} s, {} round(s)",
        r.wall_ms / 1000.0,
        r.rounds
    );
    println!(
        "  data                          {} counterexamples, {} positives",
        r.training_negatives, r.training_positives
    );
    println!(
        "  held-out counterexamples      {} -> {}",
        r.held_out_violations.before, r.held_out_violations.after
    );
    println!(
        "  fresh samples of the regions  {} -> {}",
        r.fresh_violations.before, r.fresh_violations.after
    );
    println!(
        "  falsifier after repair        {} counterexamples",
        r.falsifier_counterexamples
    );
    println!("  fidelity, held-out positives  {}", r.fidelity_held_out);
    println!("  fidelity, inside the regions  {}", r.fidelity_inside);
    println!("  fidelity, outside the regions {}", r.fidelity_outside);
    println!("  fidelity, whole domain        {}", r.fidelity_domain);
    println!(
        "  parameters changed            {} of {} (relative L2 {:.3e}); output deviation {:.3e}",
        r.change.parameters_changed, r.change.parameters, r.change.relative_l2, r.output_deviation
    );
    if let Some(p) = &r.patch {
        let neurons: Vec<String> = p
            .neurons
            .iter()
            .zip(&p.scaling)
            .map(|(n, w)| format!("L{}:{} x{:.3}", n.layer, n.neuron, 1.0 + w))
            .collect();
        println!("  patch                         {}", neurons.join(", "));
    }
    if let Some(pac) = &r.pac {
        println!("  PAC: {pac}");
    }
    if let Some(why) = &r.pac_failure {
        println!("  PAC: none - {why}");
    }
}
