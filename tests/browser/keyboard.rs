//! The decision map without a mouse: the arrow keys point, Enter draws, and the stepper
//! slices through the counterexamples one by one.

use super::*;

const ARROW_LEFT: char = '\u{E012}';
const ARROW_UP: char = '\u{E013}';
const ARROW_RIGHT: char = '\u{E014}';
const ARROW_DOWN: char = '\u{E015}';
const ESCAPE: char = '\u{E00C}';

/// The plot's square on screen and its margins (`src/bin/app/state/geometry.rs`).
const PLOT: f64 = 480.0;
const MARGIN_LEFT: f64 = 70.0;
const MARGIN_TOP: f64 = 10.0;

fn numbers(b: &Browser, css: &str, attributes: &[&str]) -> Option<Vec<f64>> {
    let v = b.run(
        "const e = document.querySelector(arguments[0]);
         return e ? arguments[1].map(a => +e.getAttribute(a)) : null",
        vec![json!(css), json!(attributes)],
    );
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_f64().unwrap()).collect())
}

fn focus_map(b: &Browser) {
    b.run(
        "document.querySelector('[data-testid=decision-map]').focus()",
        vec![],
    );
}

fn press(b: &Browser, key: char, times: usize) {
    for _ in 0..times {
        b.press_key(key);
    }
}

/// Where the pointer's mark is, as fractions of the plot from its top-left.
fn pointer_at(b: &Browser) -> Option<(f64, f64)> {
    let c = numbers(b, ".overlay .hover-mark", &["cx", "cy"])?;
    Some(((c[0] - MARGIN_LEFT) / PLOT, (c[1] - MARGIN_TOP) / PLOT))
}

fn close_to(a: (f64, f64), b: (f64, f64)) -> bool {
    // Half a pixel: the pointer went through the network's f32 inputs and back.
    (a.0 - b.0).abs() * PLOT < 0.5 && (a.1 - b.1).abs() * PLOT < 0.5
}

#[test]
fn the_map_points_draws_and_steps_through_counterexamples_from_the_keyboard() {
    let Some((_guard, b)) = open_app("?demo=braking") else {
        return;
    };
    wait_network(&b, "braking");
    b.wait_map_ready();
    if let Some(skip) = b.find("[data-testid=walkthrough-skip]") {
        skip.click();
    }

    // Focused, the map shows its pointer at the centre and reads the network there.
    focus_map(&b);
    let centre = b.wait_for("the keyboard's pointer", || pointer_at(&b));
    assert!(close_to(centre, (0.5, 0.5)), "{centre:?}");
    let read_out = |b: &Browser| {
        b.wait_for("the read-out's decision", || {
            let t = b.text_of("hover-readout");
            t.contains("decision:").then_some(t)
        })
    };
    let at_centre = read_out(&b);
    assert!(at_centre.contains("distance = "), "{at_centre}");
    // Sixteen presses are a quarter of the map (a press is a cell of the coarse map).
    press(&b, ARROW_RIGHT, 16);
    press(&b, ARROW_UP, 16);
    let moved = b.wait_for("the pointer to move", || {
        pointer_at(&b).filter(|&p| close_to(p, (0.75, 0.25)))
    });
    assert!(close_to(moved, (0.75, 0.25)));
    let elsewhere = read_out(&b);
    assert_ne!(elsewhere, at_centre, "the read-out follows the pointer");
    // The keys stay on the map: the page did not scroll, the focus did not move.
    assert_eq!(
        b.run("return document.activeElement.dataset.testid", vec![]),
        json!("decision-map")
    );
    // A click focuses the map too: its pointer starts where the mouse is, not at the centre.
    b.run("document.activeElement.blur()", vec![]);
    let map = b.by_testid("decision-map");
    b.drag(&map, (-120, 60), (-120, 60));
    assert_eq!(
        b.run("return document.activeElement.dataset.testid", vec![]),
        json!("decision-map")
    );
    let clicked = b.wait_for("the pointer under the mouse", || pointer_at(&b));
    assert!(close_to(clicked, (0.25, 0.625)), "{clicked:?}");
    press(&b, ARROW_RIGHT, 16);
    b.wait_for("the pointer to move from the mouse's place", || {
        pointer_at(&b).filter(|&p| close_to(p, (0.5, 0.625)))
    });

    // Drawing: Enter at one corner, arrows, Enter at the other; the form turns the box into
    // a property.
    b.by_testid("property-draw").click();
    focus_map(&b);
    press(&b, ARROW_LEFT, 8);
    press(&b, ARROW_UP, 8);
    b.press_key(ENTER);
    press(&b, ARROW_RIGHT, 16);
    press(&b, ARROW_DOWN, 24);
    b.press_key(ENTER);
    let drawn = b.wait_for("the drawn box", || {
        numbers(
            &b,
            "[data-testid=draft-box]",
            &["x", "y", "width", "height"],
        )
        .filter(|r| r[2] > 0.0)
    });
    let expected = [
        MARGIN_LEFT + 0.375 * PLOT,
        MARGIN_TOP + 0.375 * PLOT,
        0.25 * PLOT,
        0.375 * PLOT,
    ];
    for (got, want) in drawn.iter().zip(expected) {
        assert!(
            (got - want).abs() < 1e-6,
            "box {drawn:?}, expected {expected:?}"
        );
    }
    b.by_testid("draft-form");
    choose(&b, "property-requirement", "must:0");
    b.by_testid("property-add").click();
    b.wait_for("the drawn property in the list", || {
        b.text_of("property-list").contains("drawn-1").then_some(())
    });
    // Escape drops a box half drawn, then stops drawing.
    b.by_testid("property-draw").click();
    focus_map(&b);
    b.press_key(ENTER);
    press(&b, ARROW_RIGHT, 4);
    assert!(b.find("[data-testid=draft-box]").is_some());
    b.press_key(ESCAPE);
    b.wait_for("the half-drawn box to go", || {
        b.find("[data-testid=draft-box]").is_none().then_some(())
    });
    b.press_key(ESCAPE);
    b.wait_for("drawing to stop", || {
        (b.by_testid("property-draw").text() == "Draw a property").then_some(())
    });

    // The counterexamples, one by one: the slice goes through each (its friction lies in
    // the wet-road property's box, 0.2 to 0.4), and its mark is highlighted inside the box.
    assert!(b.find("[data-testid=counterexample-stepper]").is_none());
    b.by_testid("check-run").click();
    let found: usize = b.wait_for("counterexamples", || {
        let n = b.by_testid("counterexample-count").property("dataset")["count"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (n > 1
            && !b
                .by_testid("check-run")
                .property("disabled")
                .as_bool()
                .unwrap_or(true))
        .then_some(n)
    });
    let friction = |b: &Browser| -> f64 {
        b.by_testid("slice-slider-2")
            .property("value")
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let before = friction(&b);
    b.by_testid("counterexample-next").click();
    b.wait_for("the first counterexample", || {
        (b.text_of("counterexample-selected")
            == format!("The slice goes through counterexample 1 of {found}."))
        .then_some(())
    });
    let through = friction(&b);
    assert!(
        (0.2..=0.4).contains(&through) && through != before,
        "friction {before} -> {through}"
    );
    let selected = b.wait_for("the highlighted mark", || {
        numbers(&b, ".counterexample.selected", &["cx", "cy"])
    });
    let inside_a_box = b.run(
        "return [...document.querySelectorAll('[data-testid=property-box] rect')].some(r => {
           const [x, y, w, h] = ['x', 'y', 'width', 'height'].map(a => +r.getAttribute(a));
           return x - 0.5 <= arguments[0] && arguments[0] <= x + w + 0.5
             && y - 0.5 <= arguments[1] && arguments[1] <= y + h + 0.5;
         })",
        vec![json!(selected[0]), json!(selected[1])],
    );
    assert_eq!(inside_a_box, json!(true), "mark at {selected:?}");
    assert_eq!(
        b.run(
            "return document.querySelectorAll('.counterexample.selected').length",
            vec![]
        ),
        json!(1)
    );
    // Round the list both ways, from the keyboard too.
    b.by_testid("counterexample-previous").click();
    b.wait_for("the last counterexample", || {
        b.text_of("counterexample-selected")
            .contains(&format!("counterexample {found} of {found}"))
            .then_some(())
    });
    b.run(
        "document.querySelector('[data-testid=counterexample-next]').focus()",
        vec![],
    );
    b.press_key(ENTER);
    b.wait_for("back to the first", || {
        b.text_of("counterexample-selected")
            .contains(&format!("counterexample 1 of {found}"))
            .then_some(())
    });
    // The button keeps the focus, so Enter goes on stepping.
    assert_eq!(
        b.run("return document.activeElement.dataset.testid", vec![]),
        json!("counterexample-next")
    );
    b.press_key(ENTER);
    b.wait_for("the second", || {
        b.text_of("counterexample-selected")
            .contains(&format!("counterexample 2 of {found}"))
            .then_some(())
    });
    assert!(page_errors(&b).is_empty(), "{:?}", page_errors(&b));
}
