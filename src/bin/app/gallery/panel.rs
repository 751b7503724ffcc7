//! The gallery's panel: the thumbnails with their badges, the focused image beside its
//! counterexample, the class scores, and the drawing grid.

use super::jobs::{
    request_drawn_scores, request_scores, toggle_chosen, verify, verify_drawing, Job,
};
use crate::services::canvas::put_pixels;
use crate::state::{next_slot, AppState, Badge, Scores, DRAW_SIDE};
use birdnn::picture::{class_css, grey_rgba, perturbation_rgba};
use leptos::prelude::*;

/// An 8x8 (or any square) image drawn large.
#[component]
fn ImageCanvas(
    #[prop(into)] testid: String,
    side: u32,
    rgba: Signal<Option<Vec<u8>>>,
    #[prop(default = 128)] size: u32,
) -> impl IntoView {
    let id = testid.clone();
    Effect::new(move |_| {
        if let Some(pixels) = rgba.get() {
            // After the canvas is in the page.
            let id = id.clone();
            request_animation_frame(move || put_pixels(&id, &pixels, side));
        }
    });
    view! {
        <canvas
            class="image-canvas"
            data-testid=testid
            data-painted=move || rgba.get().is_some().to_string()
            width=side
            height=side
            style=format!("width: {size}px; height: {size}px")
        ></canvas>
    }
}

/// Class scores as bars, the winner marked.
#[component]
fn ScoreBars(
    testid: &'static str,
    title: &'static str,
    scores: Signal<Option<Vec<f32>>>,
) -> impl IntoView {
    view! {
        <div class="score-bars" data-testid=testid>
            <div class="score-title">{title}</div>
            {move || match scores.get() {
                None => view! { <div class="hint">"—"</div> }.into_any(),
                Some(y) => {
                    let max = y.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let min = y.iter().copied().fold(f32::INFINITY, f32::min);
                    let span = (max - min).max(1e-6);
                    let winner = y.iter().position(|&v| v == max).unwrap_or(0);
                    view! {
                        <div data-winner=winner.to_string()>
                            {y.iter().enumerate().map(|(k, &v)| {
                                let width = 4.0 + 96.0 * ((v - min) / span) as f64;
                                view! {
                                    <div class="score-row" class:winner=k == winner>
                                        <span class="score-class">{k.to_string()}</span>
                                        <span class="score-bar" style=format!("width: {width:.0}%; background: {}", class_css(k))></span>
                                        <span class="score-value">{format!("{v:.2}")}</span>
                                    </div>
                                }
                            }).collect_view()}
                        </div>
                    }
                    .into_any()
                }
            }}
        </div>
    }
}

/// The gallery, the focused image and the drawing canvas.
#[component]
pub fn GalleryPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let g = state.gallery;
    // A new repaired network: its badges.
    Effect::new(move |_| {
        let result = state.repair_signals.repair.get().result.map(|r| r.0.slot);
        let Some(view) = g.view.get_untracked() else {
            return;
        };
        match result {
            Some(slot) if view.after.as_ref().map(|a| a.0) != Some(slot) => {
                g.view.update(|v| {
                    if let Some(v) = v {
                        v.after = Some((slot, vec![Badge::Pending; v.slots.len()]));
                    }
                });
                verify(
                    slot,
                    view.slots.clone(),
                    Job::Verify {
                        after: true,
                        network: slot,
                    },
                );
            }
            None if view.after.is_some() => g.view.update(|v| {
                if let Some(v) = v {
                    v.after = None;
                }
            }),
            _ => {}
        }
    });
    let focus = Memo::new(move |_| g.view.with(|v| v.as_ref().map(|v| v.focus)));
    let focused = move || {
        g.view.with(|v| {
            v.as_ref().map(|v| {
                let i = v.focus;
                (
                    v.gallery.clone(),
                    i,
                    v.before[i].clone(),
                    v.after.as_ref().map(|a| a.1[i].clone()),
                    v.chosen[i].is_some(),
                )
            })
        })
    };
    let original_rgba =
        Signal::derive(move || focused().map(|(gallery, i, ..)| grey_rgba(&gallery.pixels(i))));
    let cex_rgba = Signal::derive(move || {
        focused().and_then(|(_, _, before, ..)| before.counterexample().map(grey_rgba))
    });
    let perturbation = Signal::derive(move || {
        focused().and_then(|(gallery, i, before, ..)| {
            before
                .counterexample()
                .map(|x| perturbation_rgba(&gallery.pixels(i), x, gallery.eps))
        })
    });
    let drawing_rgba = Signal::derive(move || Some(grey_rgba(&g.drawing.get())));
    let score =
        move |f: fn(&Scores) -> Option<Vec<f32>>| Signal::derive(move || f(&g.scores.get()));
    let painting = RwSignal::new(None::<f32>);
    // The keyboard's place on the grid: arrows move it, space or enter inks, delete erases.
    let cursor = RwSignal::new(0usize);
    let on_grid_key = move |ev: web_sys::KeyboardEvent| {
        let at = cursor.get_untracked();
        let (row, col) = (at / DRAW_SIDE, at % DRAW_SIDE);
        let moved = match ev.key().as_str() {
            "ArrowLeft" => Some(row * DRAW_SIDE + col.saturating_sub(1)),
            "ArrowRight" => Some(row * DRAW_SIDE + (col + 1).min(DRAW_SIDE - 1)),
            "ArrowUp" => Some(row.saturating_sub(1) * DRAW_SIDE + col),
            "ArrowDown" => Some((row + 1).min(DRAW_SIDE - 1) * DRAW_SIDE + col),
            _ => None,
        };
        if let Some(next) = moved {
            ev.prevent_default();
            cursor.set(next);
            return;
        }
        let level = match ev.key().as_str() {
            " " | "Enter" => Some(if g.drawing.with_untracked(|d| d[at]) > 0.5 {
                0.0
            } else {
                1.0
            }),
            "Delete" | "Backspace" => Some(0.0),
            _ => None,
        };
        if let Some(level) = level {
            ev.prevent_default();
            g.drawing.update(|d| d[at] = level);
            request_drawn_scores(state);
        }
    };
    let paint = move |cell: usize| {
        if let Some(level) = painting.get_untracked() {
            g.drawing.update(|d| d[cell] = level);
        }
    };
    let chosen_count = move || {
        g.view.with(|v| {
            v.as_ref()
                .map_or(0, |v| v.chosen.iter().filter(|c| c.is_some()).count())
        })
    };
    let drawn_class = move || {
        g.scores.with(|s| {
            s.drawn[0].as_ref().and_then(|y| {
                let max = y.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                y.iter().position(|&v| v == max)
            })
        })
    };
    view! {
        <Show when=move || g.view.with(Option::is_some)>
            <section class="panel gallery" data-testid="gallery">
                <h2>"Images"</h2>
                <p class="hint">
                    {move || g.view.with(|v| v.as_ref().map(|v| format!(
                        "Each badge says whether every image within {:.4} of this one (each pixel moved by up to that much) keeps its class: proved by the verifier, refuted by a counterexample, or unknown. Pick an image to see its counterexample; \"make this image robust\" adds its ball to the properties, and Repair repairs them all.",
                        v.gallery.eps
                    )).unwrap_or_default())}
                </p>
                <p class="status" data-testid="gallery-status">{move || g.status.get()}</p>
                <div class="thumbs">
                    {move || g.view.with(|v| v.as_ref().map(|v| {
                        (0..v.gallery.images.len()).map(|i| {
                            let before = v.before[i].clone();
                            let after = v.after.as_ref().map(|a| a.1[i].clone());
                            let rgba = grey_rgba(&v.gallery.pixels(i));
                            let label = v.gallery.images[i].label;
                            let chosen = v.chosen[i].is_some();
                            view! {
                                <button
                                    class=format!("thumb badge-{}", after.as_ref().unwrap_or(&before).kind())
                                    class:focused=v.focus == i
                                    class:chosen=chosen
                                    data-testid=format!("gallery-image-{i}")
                                    data-badge=before.kind()
                                    data-after=after.as_ref().map(|a| a.kind()).unwrap_or("none")
                                    title=format!("a {label}: {}{}", before.text(), after.as_ref().map(|a| format!("; repaired: {}", a.text())).unwrap_or_default())
                                    on:click=move |_| {
                                        g.view.update(|v| if let Some(v) = v { v.focus = i; });
                                        request_scores(state);
                                    }
                                >
                                    <ImageCanvas testid=format!("thumb-{i}") side=8 rgba=Signal::derive(move || Some(rgba.clone())) size=40/>
                                    <span class="thumb-label">{label.to_string()}</span>
                                    <span class="thumb-badge">{match &after {
                                        Some(a) => format!("{} → {}", short(&before), short(a)),
                                        None => short(&before).to_string(),
                                    }}</span>
                                </button>
                            }
                        }).collect_view()
                    }))}
                </div>
                <div class="focus" data-testid="gallery-focus" data-focus=move || focus.get().map(|f| f.to_string()).unwrap_or_default()>
                    <figure>
                        <ImageCanvas testid="image-original" side=8 rgba=original_rgba/>
                        <figcaption>{move || focused().map(|(gallery, i, ..)| format!("image {i}: a {}", gallery.images[i].label)).unwrap_or_default()}</figcaption>
                    </figure>
                    <figure>
                        <ImageCanvas testid="image-perturbation" side=8 rgba=perturbation/>
                        <figcaption>"perturbation (red +, blue −, full colour = the radius)"</figcaption>
                    </figure>
                    <figure>
                        <ImageCanvas testid="image-counterexample" side=8 rgba=cex_rgba/>
                        <figcaption data-testid="counterexample-caption">{move || match focused() {
                            Some((_, _, Badge::Falsified(_), ..)) => "counterexample: the original network changes its mind".to_string(),
                            Some((_, _, Badge::Proved, ..)) => "no counterexample: the ball is proved".to_string(),
                            Some((_, _, Badge::Unknown(_), ..)) => "no counterexample found; not proved either".to_string(),
                            _ => String::new(),
                        }}</figcaption>
                    </figure>
                    <div class="focus-side">
                        <p data-testid="focus-badges">{move || focused().map(|(_, _, before, after, _)| match after {
                            Some(a) => format!("original: {}; repaired: {}", before.text(), a.text()),
                            None => format!("original: {}", before.text()),
                        }).unwrap_or_default()}</p>
                        <button
                            data-testid="make-robust"
                            on:click=move |_| if let Some(i) = focus.get_untracked() { toggle_chosen(state, i) }
                        >{move || if focused().is_some_and(|f| f.4) { "Remove from the properties" } else { "Make this image robust" }}</button>
                        <p>
                            <button
                                data-testid="gallery-repair"
                                disabled=move || chosen_count() == 0 || state.repair_signals.repair.get().running
                                on:click=move |_| crate::repair_panel::start_repair(state, next_slot())
                            >{move || format!("Repair the {} chosen", chosen_count())}</button>
                            " "
                            <button
                                data-testid="gallery-repair-cancel"
                                disabled=move || !state.repair_signals.repair.get().running
                                on:click=move |_| crate::repair_panel::cancel_repair(state)
                            >"Cancel"</button>
                        </p>
                        <p class="hint" data-testid="gallery-repair-stage">{move || {
                            let r = state.repair_signals.repair.get();
                            if r.running || r.result.is_some() {
                                format!("repair: {}", r.stage)
                            } else {
                                "Choose images, then repair: the other gallery images keep their classes, and the settings are in the panel.".to_string()
                            }
                        }}</p>
                    </div>
                </div>
                <div class="bars">
                    <ScoreBars testid="scores-before" title="original: image" scores=score(|s| s.before[0].clone())/>
                    <ScoreBars testid="scores-before-cex" title="original: counterexample" scores=score(|s| s.before[1].clone())/>
                    <ScoreBars testid="scores-after" title="repaired: image" scores=score(|s| s.after[0].clone())/>
                    <ScoreBars testid="scores-after-cex" title="repaired: counterexample" scores=score(|s| s.after[1].clone())/>
                </div>
                <h3>"Draw a digit"</h3>
                <div class="draw">
                    <div
                        class="draw-grid"
                        data-testid="draw-grid"
                        tabindex="0"
                        role="application"
                        aria-label="8 by 8 drawing grid: arrow keys move, space or enter inks or clears a cell, delete erases"
                        on:keydown=on_grid_key
                        on:pointerup=move |_| {
                            painting.set(None);
                            request_drawn_scores(state);
                        }
                        on:pointerleave=move |_| {
                            if painting.get_untracked().is_some() {
                                painting.set(None);
                                request_drawn_scores(state);
                            }
                        }
                        on:contextmenu=move |ev| ev.prevent_default()
                    >
                        {(0..DRAW_SIDE * DRAW_SIDE).map(|cell| view! {
                            <div
                                class="draw-cell"
                                class:cursor=move || cursor.get() == cell
                                data-testid=format!("draw-cell-{cell}")
                                style=move || {
                                    let ink = g.drawing.with(|d| d[cell]);
                                    let v = (255.0 * (1.0 - ink)).round() as u8;
                                    format!("background: rgb({v},{v},{v})")
                                }
                                on:pointerdown=move |ev: web_sys::PointerEvent| {
                                    ev.prevent_default();
                                    cursor.set(cell);
                                    // Right button or shift erases.
                                    let level = if ev.button() == 2 || ev.shift_key() { 0.0 } else { 1.0 };
                                    painting.set(Some(level));
                                    paint(cell);
                                }
                                on:pointerenter=move |_| paint(cell)
                            ></div>
                        }).collect_view()}
                    </div>
                    <div class="draw-side">
                        <ImageCanvas testid="drawing-image" side=8 rgba=drawing_rgba size=64/>
                        <p>
                            <button data-testid="draw-clear" on:click=move |_| {
                                g.drawing.set(vec![0.0; DRAW_SIDE * DRAW_SIDE]);
                                g.drawn_badge.set(None);
                                request_drawn_scores(state);
                            }>"Clear"</button>
                            " "
                            <button
                                data-testid="draw-verify"
                                disabled=move || drawn_class().is_none()
                                on:click=move |_| if let Some(class) = drawn_class() { verify_drawing(state, class) }
                            >"Is it robust?"</button>
                        </p>
                        <p data-testid="drawn-verdict" data-badge=move || g.drawn_badge.get().map(|b| b.kind()).unwrap_or("none")>
                            {move || match (drawn_class(), g.drawn_badge.get()) {
                                (Some(class), Some(badge)) => format!("the network reads a {class}; its ball: {}", badge.text()),
                                (Some(class), None) => format!("the network reads a {class}"),
                                _ => "press and drag on the grid to draw (right button or shift erases), or use the arrow keys and space".to_string(),
                            }}
                        </p>
                    </div>
                    <ScoreBars testid="scores-drawn" title="original: drawing" scores=score(|s| s.drawn[0].clone())/>
                    <ScoreBars testid="scores-drawn-after" title="repaired: drawing" scores=score(|s| s.drawn[1].clone())/>
                </div>
            </section>
        </Show>
    }
}

/// A badge in one word, for the thumbnails.
fn short(badge: &Badge) -> &'static str {
    match badge {
        Badge::Pending => "…",
        Badge::Proved => "proved",
        Badge::Falsified(_) => "falsified",
        Badge::Unknown(_) => "unknown",
    }
}
