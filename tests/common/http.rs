//! A small HTTP/1.1 server on 127.0.0.1 for the network tests: routes computed per request (so a
//! live playlist can grow), byte ranges, and ways to misbehave (drop the connection part way,
//! trickle the body).

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the server sends a body.
#[derive(Debug, Clone, Copy)]
pub enum Delivery {
    Whole,
    /// Announces the whole length, sends this many bytes and closes the connection.
    DropAfter(usize),
    /// At this many bytes per second.
    Trickle(usize),
}

pub struct Server {
    pub base: String,
    /// Every request's first line and `Range` header, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
}

/// Serves `route(path)` bodies (None: 404) from a thread per connection, until the test process ends.
pub fn serve(delivery: Delivery, route: impl Fn(&str) -> Option<Vec<u8>> + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requests);
    let route = Arc::new(route);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (route, log) = (Arc::clone(&route), Arc::clone(&log));
            std::thread::spawn(move || answer(stream, delivery, &*route, &log));
        }
    });
    Server { base, requests }
}

/// Answers the requests of one connection (keep-alive, as FFmpeg's HLS reader uses it).
fn answer(
    mut stream: TcpStream,
    delivery: Delivery,
    route: &dyn Fn(&str) -> Option<Vec<u8>>,
    log: &Mutex<Vec<String>>,
) {
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    loop {
        let Some(head) = read_head(&mut stream) else { return };
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let range_start = head
            .lines()
            .find_map(|line| line.to_ascii_lowercase().strip_prefix("range: bytes=").map(str::to_owned))
            .and_then(|range| range.split('-').next().and_then(|start| start.trim().parse::<usize>().ok()));
        log.lock().unwrap().push(format!(
            "{} {}",
            head.lines().next().unwrap_or(""),
            range_start.map_or(String::new(), |s| format!("range {s}-"))
        ));
        let Some(body) = route(&path) else {
            if stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").is_err() {
                return;
            }
            continue;
        };
        let start = range_start.unwrap_or(0).min(body.len());
        let status = match range_start {
            Some(_) => format!(
                "206 Partial Content\r\nContent-Range: bytes {start}-{}/{}",
                body.len().saturating_sub(1),
                body.len()
            ),
            None => "200 OK".to_owned(),
        };
        let part = &body[start..];
        let head = format!("HTTP/1.1 {status}\r\nAccept-Ranges: bytes\r\nContent-Length: {}\r\n\r\n", part.len());
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let sent = match delivery {
            Delivery::Whole => stream.write_all(part).is_ok(),
            Delivery::DropAfter(bytes) => {
                stream.write_all(&part[..bytes.min(part.len())]).ok();
                return;
            }
            Delivery::Trickle(bytes_per_sec) => trickle(&mut stream, part, bytes_per_sec),
        };
        if !sent {
            return;
        }
    }
}

/// Sends `body` in 50 ms slices at `bytes_per_sec`; false when the peer went away.
fn trickle(stream: &mut TcpStream, body: &[u8], bytes_per_sec: usize) -> bool {
    let slice = (bytes_per_sec / 20).max(1);
    let started = Instant::now();
    for (index, chunk) in body.chunks(slice).enumerate() {
        let due = started + Duration::from_millis(50 * index as u64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        if stream.write_all(chunk).is_err() {
            return false;
        }
    }
    true
}

/// The request head up to its blank line; None when the connection closed.
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}
