//! A short explanation of the ideas on screen, for students: each term is tied to what the
//! page shows right now (how many boxes, dots, decisions kept).

use crate::state::AppState;
use leptos::prelude::*;

/// The explanation panel.
#[component]
pub fn Explain() -> impl IntoView {
    let state = expect_context::<AppState>();
    let r = state.repair_signals;
    let properties = move || state.properties.get().len();
    let found = move || r.check.get().counterexamples.len();
    let kept = move || {
        r.repair
            .get()
            .result
            .map(|(_, report)| format!("{:.2} %", 100.0 * report.fidelity_domain.ratio()))
    };
    view! {
        <section class="panel explain" data-testid="explain">
            <details>
                <summary><h2>"What am I looking at?"</h2></summary>
                <dl>
                    <dt>"Decision map"</dt>
                    <dd>"Each pixel is one input; its colour is the class the network picks there, pale where it is unsure (near a boundary between classes). With more than two inputs you see a slice: the sliders fix the others."</dd>
                    <dt>"Property"</dt>
                    <dd>{move || format!("A rule the network must keep: inside a box of inputs, its decision must (or must not) be a given class. The dashed boxes on the map are the {} propert{} loaded; draw your own with \"Draw a property\".", properties(), if properties() == 1 { "y" } else { "ies" })}</dd>
                    <dt>"Counterexample"</dt>
                    <dd>{move || format!("An input inside a property's box where the network breaks the rule. \"Check\" looks for them by sampling and with a falsifier (gradient search); they are the black dots ({} found so far). Click one to slice through it.", found())}</dd>
                    <dt>"Behaviour imitation (retrain)"</dt>
                    <dd>"BIRDNN teaches each counterexample to behave like the nearest correct input: its outputs are trained towards the outputs of a similar input the network already handles right, while correct inputs keep their outputs."</dd>
                    <dt>"Region patch (automatic)"</dt>
                    <dd>"Neurons added beside the network's own switch on only inside a property's box and shift its outputs there just enough, as linear programming finds; the verifier then proves the property. Outside the boxes nothing changes. Where it does not apply or is not proved, the automatic method retrains instead."</dd>
                    <dt>"Fault localisation (fine-tune)"</dt>
                    <dd>"Find the neurons whose activity differs most between counterexamples and correct inputs, and rescale only those few; a particle swarm searches the factors."</dd>
                    <dt>"Fidelity"</dt>
                    <dd>{move || match kept() {
                        Some(k) => format!("The share of decisions a repair keeps, measured on inputs it never saw. This repair kept {k} of the decisions over the whole input domain; the \"changed decisions\" map shows where it did not."),
                        None => "The share of decisions a repair keeps, measured on inputs it never saw. Zero counterexamples is easy if you wreck the network; a good repair fixes the property and keeps the rest.".to_string(),
                    }}</dd>
                    <dt>"PAC statement (domain-wise)"</dt>
                    <dd>"After repairing, fresh random inputs and the falsifier find no counterexample; that supports a statement like: with 99.9 % confidence, at most 0.1 % of the box is still unsafe. Probably, approximately correct; not a proof."</dd>
                </dl>
            </details>
        </section>
    }
}
