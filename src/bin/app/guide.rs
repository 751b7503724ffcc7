//! What to do next: the five steps of a repair across the top of the page (each with its
//! state, the current one with a one-line hint), and the first visit's walkthrough.
//!
//! The steps read the same signals the panels do (the network, the properties that fit it,
//! the check, the repair and the verifier's verdicts), so they can never disagree with them.

use crate::state::AppState;
use birdnn::verify::VerifyStatus;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Where the walkthrough, once dismissed, is remembered.
const WALKTHROUGH_SEEN: &str = "birdnn.walkthrough-seen";

/// How one step stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepState {
    /// Done.
    Done,
    /// The next thing to do.
    Current,
    /// Possible, but an earlier step comes first.
    Open,
    /// Not possible yet.
    Locked,
}

impl StepState {
    fn name(self) -> &'static str {
        match self {
            StepState::Done => "done",
            StepState::Current => "current",
            StepState::Open => "open",
            StepState::Locked => "locked",
        }
    }
}

/// What the page has done so far, as the steps see it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// A network is loaded.
    pub network: bool,
    /// Properties that fit it.
    pub properties: usize,
    /// A check or a proof of the network on screen has finished.
    pub checked: bool,
    /// Counterexamples the check found (or the verifier, one per violated property).
    pub counterexamples: usize,
    /// A repair has a result.
    pub repaired: bool,
    /// The verifier's verdicts on the repaired network: (proved, of all properties), once
    /// it has finished.
    pub repaired_proofs: Option<(usize, usize)>,
}

/// The steps, in order: title, the panel's test id to go to.
const STEPS: [(&str, &str); 5] = [
    ("Load", "network-picker"),
    ("Properties", "property-list"),
    ("Check", "check-run"),
    ("Repair", "repair-run"),
    ("Compare and prove", "compare"),
];

/// Each step's state: the first step not done (and possible) is the current one.
pub fn step_states(p: &Progress) -> [StepState; 5] {
    let done = [
        p.network,
        p.properties > 0,
        p.checked,
        p.repaired,
        p.repaired_proofs.is_some(),
    ];
    let possible = [
        true,
        p.network,
        p.properties > 0,
        p.properties > 0,
        p.repaired,
    ];
    let current = (0..5).find(|&i| !done[i] && possible[i]);
    std::array::from_fn(|i| {
        if done[i] {
            StepState::Done
        } else if Some(i) == current {
            StepState::Current
        } else if possible[i] {
            StepState::Open
        } else {
            StepState::Locked
        }
    })
}

/// One line on what to do now.
pub fn hint(p: &Progress) -> String {
    let current = step_states(p).iter().position(|s| *s == StepState::Current);
    match current {
        Some(0) => "Pick a demo from the Network list, or drop an ONNX, .nnet or JSON network anywhere on the page.".into(),
        Some(1) => "Add a property: press “Draw a property” and drag a box on the map, or import a VNN-LIB file. A property is a region of inputs and the decisions allowed there.".into(),
        Some(2) => "Check the properties: sampling and a falsifier look for inputs that break them, and mark them on the map.".into(),
        Some(3) if p.counterexamples > 0 => format!(
            "{} counterexample{} found. Repair the network: each one learns the nearest correct behaviour, and the rest of the network's decisions are kept.",
            p.counterexamples,
            if p.counterexamples == 1 { "" } else { "s" }
        ),
        Some(3) => "No counterexample found. “Prove” tells whether that holds for every input of the regions; repair only if a property is violated.".into(),
        Some(4) => "The verifier is proving the repaired network's properties; the map shows it before and after.".into(),
        _ => match p.repaired_proofs {
            Some((proved, total)) if proved == total => format!(
                "Repaired, and proved: {proved} of {total} properties hold for every input of their regions. Swipe the map to compare, or export the network."
            ),
            Some((proved, total)) => format!(
                "Repaired; {proved} of {total} properties proved. The others are safe on every sample and the falsifier, but not proved: see the verdicts."
            ),
            None => String::new(),
        },
    }
}

/// The page's progress, read from the state.
fn progress(state: AppState) -> Progress {
    let network = state.network.get();
    let properties = state.properties.with(|ps| {
        ps.iter()
            .filter(|p| {
                network
                    .as_ref()
                    .is_some_and(|n| p.summary.fit(&n.summary).is_ok())
            })
            .count()
    });
    let r = state.repair_signals;
    let check = r.check.get();
    let proof = r.proof.get();
    let repair = r.repair.get();
    let on_screen = network.as_ref().map(|n| n.slot);
    let repaired_slot = repair.result.as_ref().map(|(n, _)| n.slot);
    let proof_finished = !proof.running && !proof.verdicts.is_empty();
    let original_proved = proof_finished && proof.network == on_screen && repaired_slot.is_none();
    let violated_by_proof = if original_proved {
        proof
            .verdicts
            .iter()
            .filter(|(_, v)| v.status == VerifyStatus::Counterexample)
            .count()
    } else {
        0
    };
    let repaired_proofs =
        (proof_finished && repaired_slot.is_some() && proof.network == repaired_slot).then(|| {
            let proved = proof
                .verdicts
                .iter()
                .filter(|(_, v)| v.status == VerifyStatus::Proved)
                .count();
            (proved, proof.verdicts.len())
        });
    Progress {
        network: network.is_some(),
        properties,
        checked: (!check.running && check.sampled.is_some())
            || original_proved
            || repair.result.is_some(),
        counterexamples: check.counterexamples.len().max(violated_by_proof),
        repaired: repair.result.is_some(),
        repaired_proofs,
    }
}

/// Scrolls to the element with this test id and gives it the keyboard focus.
fn go_to(testid: &str) {
    let Some(el) = document()
        .query_selector(&format!("[data-testid={testid}]"))
        .ok()
        .flatten()
    else {
        return;
    };
    el.scroll_into_view_with_bool(false);
    if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
        let _ = el.focus();
    }
}

/// The five steps and the hint for the current one.
#[component]
pub fn Steps() -> impl IntoView {
    let state = expect_context::<AppState>();
    let states = Memo::new(move |_| step_states(&progress(state)));
    let steps = STEPS
        .into_iter()
        .enumerate()
        .map(|(i, (title, target))| {
            let step_state = move || states.get()[i];
            view! {
                <li>
                    <button
                        class="step"
                        data-testid=format!("step-{}", i + 1)
                        data-state=move || step_state().name()
                        aria-current=move || (step_state() == StepState::Current).then_some("step")
                        disabled=move || step_state() == StepState::Locked
                        on:click=move |_| go_to(target)
                    >
                        <span class="step-number" aria-hidden="true">
                            {move || if step_state() == StepState::Done { "✓".to_string() } else { (i + 1).to_string() }}
                        </span>
                        <span class="step-title">{title}</span>
                    </button>
                </li>
            }
        })
        .collect_view();
    view! {
        <nav class="steps" aria-label="steps of a repair">
            <ol>{steps}</ol>
            <p class="step-hint" data-testid="step-hint" aria-live="polite">{move || hint(&progress(state))}</p>
        </nav>
    }
}

/// One card of the walkthrough: its title, its text and what it points at.
struct Card {
    title: &'static str,
    text: &'static str,
    target: &'static str,
}

const CARDS: [Card; 4] = [
    Card {
        title: "The map is the network",
        text: "Every point of this square is an input to the network (two inputs vary, the sliders hold the others), coloured by the decision the network takes there. Pale colour: the decision is nearly a tie.",
        target: "decision-map",
    },
    Card {
        title: "Properties are boxes",
        text: "A dashed box is a property: a region of inputs and the decisions allowed there. Draw one on the map, import a VNN-LIB file, or use the demo's.",
        target: "property-list",
    },
    Card {
        title: "Check, then repair",
        text: "Check looks for inputs that break a property and marks them on the map. Repair changes the network until none is left, keeping its other decisions.",
        target: "check-run",
    },
    Card {
        title: "Compare and prove",
        text: "After a repair, the map shows the network before and after: swipe between them. The verifier then proves each property for every input of its region, not only the samples.",
        target: "step-5",
    },
];

/// The walkthrough of a demo with an image gallery (the digits), where the gallery, not the
/// map, is the main view.
const GALLERY_CARDS: [Card; 4] = [
    Card {
        title: "The gallery is the network's exam",
        text: "Each badge says whether every image within the radius of this one (each pixel moved by up to that much) keeps its class: proved by the verifier, falsified by a counterexample, or unknown.",
        target: "gallery",
    },
    Card {
        title: "An image and its counterexample",
        text: "Pick an image: the original, the perturbation (red brighter, blue darker) and the counterexample stand side by side, with the network's class scores for each.",
        target: "gallery-focus",
    },
    Card {
        title: "Make images robust, then repair",
        text: "\u{201c}Make this image robust\u{201d} adds its ball to the properties. Repair changes the network until every chosen ball is proved, keeping the other images' classes; the badges then show the repaired network too.",
        target: "gallery-repair",
    },
    Card {
        title: "Draw a digit",
        text: "Draw on the grid: the scores follow your drawing, and the verifier says whether a ball around it is robust.",
        target: "draw-grid",
    },
];

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn walkthrough_seen() -> bool {
    storage()
        .and_then(|s| s.get_item(WALKTHROUGH_SEEN).ok().flatten())
        .is_some()
}

/// Outlines the element a card points at (and no other).
fn highlight(target: Option<&str>) {
    let doc = document();
    while let Ok(Some(old)) = doc.query_selector(".tour-target") {
        if old.class_list().remove_1("tour-target").is_err() {
            break;
        }
    }
    if let Some(el) = target.and_then(|t| {
        doc.query_selector(&format!("[data-testid={t}]"))
            .ok()
            .flatten()
    }) {
        let _ = el.class_list().add_1("tour-target");
    }
}

/// The first visit's walkthrough (four cards, dismissed for good by “Got it” or “Skip”;
/// about the gallery when one is open), and the button in the header that opens it again.
#[component]
pub fn Walkthrough(open: RwSignal<Option<usize>>) -> impl IntoView {
    if !walkthrough_seen() {
        open.set(Some(0));
    }
    let state = expect_context::<AppState>();
    let cards = move || {
        if state.gallery.view.with(Option::is_some) {
            &GALLERY_CARDS
        } else {
            &CARDS
        }
    };
    Effect::new(move |_| {
        let target = open.get().map(|i| cards()[i].target);
        // After the page has drawn what the card points at.
        request_animation_frame(move || highlight(target));
    });
    let close = move || {
        open.set(None);
        if let Some(s) = storage() {
            let _ = s.set_item(WALKTHROUGH_SEEN, "1");
        }
    };
    move || {
        let Some(i) = open.get() else {
            return ().into_any();
        };
        let cards = cards();
        let card = &cards[i];
        let last = i + 1 == cards.len();
        view! {
            <aside class="walkthrough" data-testid="walkthrough" aria-label="walkthrough" data-target=card.target>
                <p class="walkthrough-count" data-testid="walkthrough-count">{format!("{} of {}", i + 1, cards.len())}</p>
                <h2>{card.title}</h2>
                <p>{card.text}</p>
                <div class="walkthrough-buttons">
                    <button data-testid="walkthrough-skip" class="quiet" on:click=move |_| close()>"Skip"</button>
                    <button data-testid="walkthrough-back" disabled=i == 0 on:click=move |_| open.set(Some(i.saturating_sub(1)))>"Back"</button>
                    <button
                        data-testid="walkthrough-next"
                        class="primary"
                        on:click=move |_| if last { close() } else { open.set(Some(i + 1)) }
                    >
                        {if last { "Got it" } else { "Next" }}
                    </button>
                </div>
            </aside>
        }
        .into_any()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;
    use StepState::*;

    #[wasm_bindgen_test]
    fn the_current_step_follows_what_was_done() {
        let mut p = Progress::default();
        assert_eq!(step_states(&p), [Current, Locked, Locked, Locked, Locked]);
        p.network = true;
        assert_eq!(step_states(&p), [Done, Current, Locked, Locked, Locked]);
        p.properties = 2;
        assert_eq!(step_states(&p), [Done, Done, Current, Open, Locked]);
        p.checked = true;
        p.counterexamples = 3;
        assert_eq!(step_states(&p), [Done, Done, Done, Current, Locked]);
        assert!(
            hint(&p).starts_with("3 counterexamples found"),
            "{}",
            hint(&p)
        );
        p.repaired = true;
        assert_eq!(step_states(&p), [Done, Done, Done, Done, Current]);
        p.repaired_proofs = Some((1, 2));
        assert_eq!(step_states(&p), [Done; 5]);
        assert!(
            hint(&p).contains("1 of 2 properties proved"),
            "{}",
            hint(&p)
        );
        p.repaired_proofs = Some((2, 2));
        assert!(hint(&p).starts_with("Repaired, and proved"), "{}", hint(&p));
    }

    #[wasm_bindgen_test]
    fn a_safe_check_points_at_the_proof() {
        let p = Progress {
            network: true,
            properties: 1,
            checked: true,
            ..Progress::default()
        };
        assert!(
            hint(&p).starts_with("No counterexample found"),
            "{}",
            hint(&p)
        );
    }
}
