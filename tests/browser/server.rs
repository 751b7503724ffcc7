//! A static file server for the built app (`dist/`) on loopback, which records every
//! request, so tests can check the page asks for nothing it does not ship.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The running server.
pub struct StaticServer {
    /// `http://127.0.0.1:port`
    pub origin: String,
    requests: Arc<Mutex<Vec<(String, u16)>>>,
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("json") => "application/json",
        _ => "text/plain; charset=utf-8",
    }
}

impl StaticServer {
    /// Serves `root` until the process ends.
    pub fn start(root: PathBuf) -> StaticServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let origin = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let root = root.clone();
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(&stream);
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).is_err() {
                        return;
                    }
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
                    let path = target.split(['?', '#']).next().unwrap_or("/");
                    let relative = if path == "/" {
                        "index.html"
                    } else {
                        &path[1..]
                    };
                    let safe = Path::new(relative)
                        .components()
                        .all(|c| matches!(c, Component::Normal(_)));
                    let file = root.join(relative);
                    let (status, body, kind) = match std::fs::read(&file) {
                        Ok(body) if safe => (200, body, content_type(&file)),
                        _ => (404, b"not found".to_vec(), "text/plain"),
                    };
                    log.lock().expect("log").push((path.to_string(), status));
                    let mut out = &stream;
                    let _ = write!(
                        out,
                        "HTTP/1.1 {status} {}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
                        if status == 200 { "OK" } else { "Not Found" },
                        body.len()
                    );
                    let _ = out.write_all(&body);
                });
            }
        });
        StaticServer { origin, requests }
    }

    /// Every request so far: (path, status).
    pub fn requests(&self) -> Vec<(String, u16)> {
        self.requests.lock().expect("log").clone()
    }
}
