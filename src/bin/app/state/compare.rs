//! What the page keeps about the before/after comparison on the main map: what the map
//! shows, the swipe, and which counterexamples the repair fixed. Below the panels: the
//! comparison panel fills it, the main map draws its marks from it.

use leptos::prelude::*;

/// What the main map shows once a repair is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareMode {
    /// The original on the left of a divider, the repaired network on its right.
    Swipe,
    /// The original network alone.
    Original,
    /// The repaired network alone.
    Repaired,
    /// The repaired network, faded where its decision is the original's.
    Changes,
}

impl CompareMode {
    /// Every mode, in the order of the buttons.
    pub const ALL: [CompareMode; 4] = [
        CompareMode::Swipe,
        CompareMode::Original,
        CompareMode::Repaired,
        CompareMode::Changes,
    ];

    /// The mode's name on its button (and in its test id).
    pub fn label(self) -> &'static str {
        match self {
            CompareMode::Swipe => "swipe",
            CompareMode::Original => "original",
            CompareMode::Repaired => "repaired",
            CompareMode::Changes => "changes",
        }
    }

    /// What the mode shows, in words.
    pub fn hint(self) -> &'static str {
        match self {
            CompareMode::Swipe => "original on the left of the line, repaired on its right",
            CompareMode::Original => "the network before the repair",
            CompareMode::Repaired => "the network after the repair",
            CompareMode::Changes => "strong colour: a decision the repair changed",
        }
    }
}

/// Where a counterexample of the check stands on the part of the map it is drawn on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkState {
    /// Drawn over the original network (or not re-checked yet).
    Original,
    /// Re-checked on the repaired network: no longer a counterexample.
    Fixed,
    /// Re-checked on the repaired network: still a counterexample.
    Still,
}

/// The comparison's signals (part of [`AppState`](super::AppState)).
#[derive(Clone, Copy)]
pub struct CompareSignals {
    /// `computing` or `ready` (empty without a repair).
    pub status: RwSignal<String>,
    /// What the main map shows.
    pub mode: RwSignal<CompareMode>,
    /// The swipe divider, as a fraction of the map's width from its left edge.
    pub swipe: RwSignal<f64>,
    /// Per counterexample of the check, whether it is one on the repaired network.
    pub still_violating: RwSignal<Option<Vec<bool>>>,
}

impl CompareSignals {
    /// No comparison yet; the swipe in the middle.
    pub fn new() -> Self {
        CompareSignals {
            status: RwSignal::new(String::new()),
            mode: RwSignal::new(CompareMode::Swipe),
            swipe: RwSignal::new(0.5),
            still_violating: RwSignal::new(None),
        }
    }

    /// Whether the comparison is on the main map.
    pub fn showing(&self) -> bool {
        self.status.get() == "ready"
    }

    /// How a counterexample mark at `fx` (fraction of the map's width) is drawn.
    pub fn mark_state(&self, index: usize, fx: f64) -> MarkState {
        if !self.showing() {
            return MarkState::Original;
        }
        let on_repaired = match self.mode.get() {
            CompareMode::Original => false,
            CompareMode::Repaired | CompareMode::Changes => true,
            CompareMode::Swipe => fx >= self.swipe.get(),
        };
        let flag = self
            .still_violating
            .with(|v| v.as_ref().and_then(|v| v.get(index).copied()));
        match (on_repaired, flag) {
            (true, Some(true)) => MarkState::Still,
            (true, Some(false)) => MarkState::Fixed,
            _ => MarkState::Original,
        }
    }
}

impl Default for CompareSignals {
    fn default() -> Self {
        Self::new()
    }
}
