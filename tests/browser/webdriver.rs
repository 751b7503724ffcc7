//! The end-to-end tests' browser: the system's chromedriver and headless Chromium, driven
//! through fantoccini (a maintained W3C WebDriver client). The tests are plain synchronous
//! code, so this wraps each command in a small runtime of its own: a test reads as "click,
//! wait, read", and only this file knows the client is asynchronous.

use fantoccini::actions::{
    InputSource, KeyAction, KeyActions, MouseActions, PointerAction, MOUSE_BUTTON_LEFT,
};
use fantoccini::elements::Element as PageElement;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use std::future::Future;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// A running chromedriver with one browser session.
pub struct Browser {
    runtime: Runtime,
    /// `None` only while the session is being closed.
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on loopback")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile.
    pub fn start(chromedriver: &str) -> Browser {
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromedriver}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().expect("temporary profile folder");
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--window-size=1400,1000".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": "/usr/bin/chromium", "args": args}),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the WebDriver client");
        let client = runtime
            .block_on(
                ClientBuilder::new(HttpConnector::new())
                    .capabilities(capabilities)
                    .connect(&format!("http://127.0.0.1:{port}")),
            )
            .unwrap_or_else(|e| panic!("no browser session: {e}"));
        Browser {
            runtime,
            client: Some(client),
            driver,
            _profile: profile,
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("an open session")
    }

    /// Runs one command to its end; a command the browser refuses fails the test, naming it.
    fn wait<T, E: std::fmt::Display>(
        &self,
        what: &str,
        command: impl Future<Output = Result<T, E>>,
    ) -> T {
        self.runtime
            .block_on(command)
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// Opens a URL.
    pub fn goto(&self, url: &str) {
        self.wait(&format!("open {url}"), self.client().goto(url));
    }

    /// Runs JavaScript in the page (`arguments[i]` are `args`) and returns its result.
    pub fn run(&self, script: &str, args: Vec<Value>) -> Value {
        self.wait(
            &format!("run {script}"),
            self.client().execute(script, args),
        )
    }

    /// Runs asynchronous JavaScript: the script calls `arguments[arguments.length - 1]`
    /// with its result.
    pub fn run_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.wait(
            &format!("run {script}"),
            self.client().execute_async(script, args),
        )
    }

    /// The first element matching a CSS selector, if any.
    pub fn find(&self, css: &str) -> Option<Element<'_>> {
        let found = self
            .runtime
            .block_on(self.client().find(Locator::Css(css)))
            .ok()?;
        Some(Element {
            browser: self,
            inner: found,
        })
    }

    /// The element with `data-testid="{testid}"`, waiting for it to appear.
    pub fn by_testid(&self, testid: &str) -> Element<'_> {
        let css = format!("[data-testid=\"{testid}\"]");
        self.wait_for(&format!("element {css}"), || self.find(&css))
    }

    /// Polls `probe` until it returns `Some`, for up to 30 s (builds in CI are slow).
    pub fn wait_for<T>(&self, what: &str, probe: impl FnMut() -> Option<T>) -> T {
        self.wait_for_up_to(what, Duration::from_secs(30), probe)
    }

    /// Polls `probe` until it returns `Some`, for up to `limit` (for work that takes long,
    /// such as a repair in the worker).
    pub fn wait_for_up_to<T>(
        &self,
        what: &str,
        limit: Duration,
        mut probe: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(v) = probe() {
                return v;
            }
            if Instant::now() > deadline {
                let errors = self.run("return window.birdnnErrors || []", vec![]);
                panic!("timed out waiting for {what}; page errors: {errors}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Text of the element with this test id (empty if absent).
    pub fn text_of(&self, testid: &str) -> String {
        self.find(&format!("[data-testid=\"{testid}\"]"))
            .map(|e| e.text())
            .unwrap_or_default()
    }

    /// Waits until the map for the current view is fully drawn.
    pub fn wait_map_ready(&self) {
        self.wait_for("the map to be ready", || {
            (self.text_of("map-status") == "ready").then_some(())
        });
    }

    /// Resizes the browser window (CSS pixels), for screenshots at several widths.
    pub fn set_window_size(&self, width: u32, height: u32) {
        self.wait(
            &format!("resize the window to {width}x{height}"),
            self.client().set_window_size(width, height),
        );
    }

    /// A PNG screenshot of the page.
    pub fn screenshot(&self) -> Vec<u8> {
        self.wait("take a screenshot", self.client().screenshot())
    }

    /// Drags with the mouse from `from` to `to` (CSS pixels from the element's centre).
    pub fn drag(&self, element: &Element, from: (i64, i64), to: (i64, i64)) {
        let at = |(x, y): (i64, i64), duration: u64| PointerAction::MoveToElement {
            element: element.inner.clone(),
            duration: Some(Duration::from_millis(duration)),
            x,
            y,
        };
        self.press_move_release(at(from, 0), at(midpoint(from, to), 100), at(to, 100));
    }

    /// Presses at `from` and releases at `to`, both in CSS pixels of the viewport (element
    /// origins follow an element that moves while it is dragged).
    pub fn drag_in_viewport(&self, from: (i64, i64), to: (i64, i64)) {
        let at = |(x, y): (i64, i64), duration: u64| PointerAction::MoveTo {
            duration: Some(Duration::from_millis(duration)),
            x,
            y,
        };
        self.press_move_release(at(from, 0), at(midpoint(from, to), 100), at(to, 100));
    }

    /// Move to `start`, press, move through `middle` to `end`, release.
    fn press_move_release(&self, start: PointerAction, middle: PointerAction, end: PointerAction) {
        let mouse = MouseActions::new("mouse".into())
            .then(start)
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(middle)
            .then(end)
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.wait("drag with the mouse", self.client().perform_actions(mouse));
    }

    /// Presses and releases one key on the keyboard, as a person would (`key`: a character
    /// or a WebDriver key code such as `'\u{E004}'` for Tab).
    pub fn press_key(&self, key: char) {
        let keyboard = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.wait(
            &format!("press the key {key:?}"),
            self.client().perform_actions(keyboard),
        );
    }

    /// Moves the pointer to (`x`, `y`) CSS pixels from the element's centre.
    pub fn hover(&self, element: &Element, x: i64, y: i64) {
        let mouse = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
            element: element.inner.clone(),
            duration: Some(Duration::ZERO),
            x,
            y,
        });
        self.wait("move the mouse", self.client().perform_actions(mouse));
    }
}

fn midpoint(a: (i64, i64), b: (i64, i64)) -> (i64, i64) {
    ((a.0 + b.0) / 2, (a.1 + b.1) / 2)
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// An element of the page.
pub struct Element<'a> {
    browser: &'a Browser,
    inner: PageElement,
}

impl Element<'_> {
    /// Its rendered text (empty if it has gone from the page).
    pub fn text(&self) -> String {
        self.browser
            .runtime
            .block_on(self.inner.text())
            .unwrap_or_default()
    }

    /// Clicks it.
    pub fn click(&self) {
        self.browser.wait("click", self.inner.click());
    }

    /// Types into it (for a file input: a path to upload).
    pub fn send_keys(&self, text: &str) {
        self.browser
            .wait(&format!("type {text:?}"), self.inner.send_keys(text));
    }

    /// The value of a DOM property (`value`, `checked`, `dataset`, ...) as the page holds it:
    /// a string, a number, a boolean or an object. WebDriver's property command answers
    /// with strings only, so the page is asked directly.
    pub fn property(&self, name: &str) -> Value {
        let element = serde_json::to_value(&self.inner).expect("an element reference");
        self.browser.run(
            "const v = arguments[0][arguments[1]]; \
             return v instanceof DOMStringMap ? Object.assign({}, v) : v;",
            vec![element, json!(name)],
        )
    }
}
