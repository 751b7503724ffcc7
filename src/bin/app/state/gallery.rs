//! What the page keeps about the image gallery of a demo that has one: the images and their
//! badges (each image's robustness ball proved, falsified or unknown, before and after a
//! repair), the class scores shown as bars, the drawing, and what a repair must keep of the
//! gallery. Below the panels: the gallery panel runs the jobs, the repair panel reads what it
//! must keep.

use birdnn::images::demo::Gallery;
use birdnn::protocol::{NetworkId, PropertyId};
use birdnn::verify::{Verdict, VerifyStatus};
use leptos::prelude::*;
use std::sync::Arc;

/// Side of the drawing canvas's image (the digits are 8x8).
pub const DRAW_SIDE: usize = 8;

/// What a badge says about one ball on one network.
#[derive(Clone, Debug, PartialEq)]
pub enum Badge {
    /// Not verified yet.
    Pending,
    /// Proved robust.
    Proved,
    /// A counterexample was found (the input).
    Falsified(Vec<f32>),
    /// Neither within the budget; the share of the ball proved.
    Unknown(f64),
}

impl Badge {
    /// The badge of a verifier's verdict.
    pub fn of(verdict: &Verdict) -> Badge {
        match verdict.status {
            VerifyStatus::Proved => Badge::Proved,
            VerifyStatus::Counterexample => Badge::Falsified(
                verdict
                    .counterexample
                    .as_ref()
                    .map(|c| c.input.clone())
                    .unwrap_or_default(),
            ),
            VerifyStatus::Unknown => Badge::Unknown(verdict.proved_fraction),
        }
    }

    /// The word tests and styles key on.
    pub fn kind(&self) -> &'static str {
        match self {
            Badge::Pending => "pending",
            Badge::Proved => "proved",
            Badge::Falsified(_) => "falsified",
            Badge::Unknown(_) => "unknown",
        }
    }

    /// The badge in words.
    pub fn text(&self) -> String {
        match self {
            Badge::Pending => "checking…".into(),
            Badge::Proved => "robust (proved)".into(),
            Badge::Falsified(_) => "not robust (counterexample)".into(),
            Badge::Unknown(p) => format!("unknown ({:.0} % proved)", 100.0 * p),
        }
    }

    /// The counterexample found, if any.
    pub fn counterexample(&self) -> Option<&[f32]> {
        match self {
            Badge::Falsified(x) if !x.is_empty() => Some(x),
            _ => None,
        }
    }
}

/// The gallery on screen.
#[derive(Clone, Debug, PartialEq)]
pub struct GalleryView {
    /// The images and their radius.
    pub gallery: Arc<Gallery>,
    /// The network the gallery was opened with.
    pub network: NetworkId,
    /// The worker slot of each image's ball.
    pub slots: Vec<PropertyId>,
    /// Badges on the original network.
    pub before: Vec<Badge>,
    /// The repaired network the `after` badges are about, and the badges.
    pub after: Option<(NetworkId, Vec<Badge>)>,
    /// The image shown large.
    pub focus: usize,
    /// Images the user asked to make robust, with the slot of the property in the list.
    pub chosen: Vec<Option<PropertyId>>,
}

/// Class scores of the focused image (and its counterexample) on both networks, and of the
/// drawing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scores {
    /// Original network: the image, the counterexample.
    pub before: [Option<Vec<f32>>; 2],
    /// Repaired network: the image, the counterexample.
    pub after: [Option<Vec<f32>>; 2],
    /// The drawing on the original and on the repaired network.
    pub drawn: [Option<Vec<f32>>; 2],
}

/// The gallery's signals (part of [`AppState`](super::AppState)).
#[derive(Clone, Copy)]
pub struct GallerySignals {
    /// The gallery, when the network on screen (or its original) has one.
    pub view: RwSignal<Option<GalleryView>>,
    /// Scores shown as bars.
    pub scores: RwSignal<Scores>,
    /// Grey levels of the drawing, row-major.
    pub drawing: RwSignal<Vec<f32>>,
    /// The drawing's ball: its badge on the original network.
    pub drawn_badge: RwSignal<Option<Badge>>,
    /// What the gallery is doing, in words.
    pub status: RwSignal<String>,
}

impl GallerySignals {
    /// No gallery.
    pub fn new() -> Self {
        GallerySignals {
            view: RwSignal::new(None),
            scores: RwSignal::new(Scores::default()),
            drawing: RwSignal::new(vec![0.0; DRAW_SIDE * DRAW_SIDE]),
            drawn_badge: RwSignal::new(None),
            status: RwSignal::new(String::new()),
        }
    }

    /// The inputs a repair must keep: the gallery's images while a gallery is open (its network
    /// or a repair of it is on screen; loading any other network closes the gallery). Empty
    /// otherwise, and the repair samples its data.
    pub fn kept_images(&self) -> Vec<Vec<f32>> {
        let Some(view) = self.view.get_untracked() else {
            return Vec::new();
        };
        view.gallery.all_pixels()
    }

    /// The gallery balls a repair must keep proved: those proved on the original network
    /// (their hidden slots). Passed to the repair as properties, so that certified training
    /// holds them too: measured on the digits demo, repairing one ball alone lost 9 of 26
    /// proofs and changed 5 other images' classes; with the proved balls passed along it lost
    /// none.
    pub fn kept_balls(&self) -> Vec<PropertyId> {
        self.view.with_untracked(|v| {
            v.as_ref().map_or(Vec::new(), |v| {
                v.before
                    .iter()
                    .zip(&v.slots)
                    .filter(|(b, _)| matches!(b, Badge::Proved))
                    .map(|(_, &slot)| slot)
                    .collect()
            })
        })
    }
}

impl Default for GallerySignals {
    fn default() -> Self {
        Self::new()
    }
}
