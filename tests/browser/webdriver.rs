//! A small WebDriver client (the W3C protocol over HTTP/1.1 on loopback) driving the
//! system's chromedriver and headless Chromium. Small on purpose: the end-to-end tests need
//! a dozen commands, and a full client would pull an async runtime and TLS into the build.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running chromedriver with one browser session.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

/// The element reference key of the W3C protocol.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on loopback")
}

fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<Value> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut reader = BufReader::new(stream);
    let mut length = None;
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((k, v)) = trimmed.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse::<usize>().ok();
            }
        }
    }
    let mut bytes = Vec::new();
    match length {
        Some(n) => {
            bytes.resize(n, 0);
            reader.read_exact(&mut bytes)?;
        }
        None => {
            reader.read_to_end(&mut bytes)?;
        }
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
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
        while http(port, "GET", "/status", None).is_err() {
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
        let answer = http(
            port,
            "POST",
            "/session",
            Some(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}
            }}})),
        )
        .expect("new session");
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        Browser {
            driver,
            port,
            session,
            _profile: profile,
        }
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let full = format!("/session/{}{path}", self.session);
        let answer = http(self.port, method, &full, body.as_ref())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        if let Some(error) = answer["value"]["error"].as_str() {
            panic!(
                "{method} {path}: {error}: {}",
                answer["value"]["message"].as_str().unwrap_or("")
            );
        }
        answer["value"].clone()
    }

    /// Opens a URL.
    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs JavaScript in the page (`arguments[i]` are `args`) and returns its result.
    pub fn run(&self, script: &str, args: Vec<Value>) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Runs asynchronous JavaScript: the script calls `arguments[arguments.length - 1]`
    /// with its result.
    pub fn run_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.command(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// The first element matching a CSS selector, if any.
    pub fn find(&self, css: &str) -> Option<Element<'_>> {
        let full = format!("/session/{}/element", self.session);
        let answer = http(
            self.port,
            "POST",
            &full,
            Some(&json!({"using": "css selector", "value": css})),
        )
        .ok()?;
        let id = answer["value"][ELEMENT_KEY].as_str()?.to_string();
        Some(Element { browser: self, id })
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
        self.command(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        );
    }

    /// A PNG screenshot of the page.
    pub fn screenshot(&self) -> Vec<u8> {
        let text = self.command("GET", "/screenshot", None);
        base64_decode(text.as_str().expect("base64 text"))
    }

    /// Drags with the mouse from `from` to `to` (CSS pixels from the element's centre).
    pub fn drag(&self, element: &Element, from: (i64, i64), to: (i64, i64)) {
        self.drag_from_origin(json!({ ELEMENT_KEY: element.id }), from, to);
    }

    /// Presses at `from` and releases at `to`, both in CSS pixels of the viewport (element
    /// origins follow an element that moves while it is dragged).
    pub fn drag_in_viewport(&self, from: (i64, i64), to: (i64, i64)) {
        self.drag_from_origin(json!("viewport"), from, to);
    }

    /// Press, two moves (through the midpoint), release; coordinates relative to `origin`.
    fn drag_from_origin(&self, origin: Value, from: (i64, i64), to: (i64, i64)) {
        self.command(
            "POST",
            "/actions",
            Some(json!({"actions": [{
                "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
                "actions": [
                    {"type": "pointerMove", "duration": 0, "x": from.0, "y": from.1, "origin": origin},
                    {"type": "pointerDown", "button": 0},
                    {"type": "pointerMove", "duration": 100, "x": (from.0 + to.0) / 2, "y": (from.1 + to.1) / 2, "origin": origin},
                    {"type": "pointerMove", "duration": 100, "x": to.0, "y": to.1, "origin": origin},
                    {"type": "pointerUp", "button": 0}
                ]
            }]})),
        );
    }

    /// Presses and releases one key on the keyboard, as a person would (`key`: a character
    /// or a WebDriver key code such as `"\u{E004}"` for Tab).
    pub fn press_key(&self, key: &str) {
        self.command(
            "POST",
            "/actions",
            Some(json!({"actions": [{
                "type": "key", "id": "keyboard",
                "actions": [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]
            }]})),
        );
    }

    /// Moves the pointer to (`x`, `y`) CSS pixels from the element's centre.
    pub fn hover(&self, element: &Element, x: i64, y: i64) {
        self.command(
            "POST",
            "/actions",
            Some(json!({"actions": [{
                "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
                "actions": [{"type": "pointerMove", "duration": 0, "x": x, "y": y,
                             "origin": {ELEMENT_KEY: element.id}}]
            }]})),
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// An element of the page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Element<'_> {
    fn path(&self, tail: &str) -> String {
        format!("/element/{}{tail}", self.id)
    }

    /// Its rendered text.
    pub fn text(&self) -> String {
        let url = format!("/session/{}{}", self.browser.session, self.path("/text"));
        http(self.browser.port, "GET", &url, None)
            .ok()
            .and_then(|v| v["value"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Clicks it.
    pub fn click(&self) {
        self.browser
            .command("POST", &self.path("/click"), Some(json!({})));
    }

    /// Types into it (for a file input: a path to upload).
    pub fn send_keys(&self, text: &str) {
        self.browser
            .command("POST", &self.path("/value"), Some(json!({ "text": text })));
    }

    /// The value of a DOM property (`value`, `checked`, ...).
    pub fn property(&self, name: &str) -> Value {
        self.browser
            .command("GET", &self.path(&format!("/property/{name}")), None)
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            _ => 63,
        }
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}
