//! A real HTTP receiver on port 0 (or a given port), for outbound deliveries (back-channel
//! logout, webhooks): it records every request and answers with the statuses it is told, in
//! order, at once or after a delay; it counts how many requests it holds at once.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// `POST`, …
    pub method: String,
    /// The path and query.
    pub uri: String,
    /// The body.
    pub body: Vec<u8>,
    /// Every header, names lowercase.
    pub headers: Vec<(String, String)>,
}

impl Received {
    /// The `content-type` header, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// When it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// The value of a form field of the body (`application/x-www-form-urlencoded`).
    pub fn form_field(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(&self.body)
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }
}

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status, empty body.
    Status(u16),
    /// A redirect with this status to this location.
    Redirect(u16, String),
    /// This status, after holding the request this long.
    Slow(u16, Duration),
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    script: VecDeque<Reply>,
    otherwise: Option<Reply>,
    in_flight: usize,
    max_in_flight: usize,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    /// Where it listens.
    pub address: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Starts a receiver that answers 200 unless told otherwise.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Starts a receiver on `port` of 127.0.0.1 (0: any free port).
    ///
    /// # Panics
    /// When the port cannot be bound.
    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind a receiver");
        let address = listener.local_addr().expect("a bound address");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let state = state.clone();
                        async move { Ok::<_, hyper::Error>(answer(&state, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            address,
            state,
            task,
        }
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The next requests get these replies, in order; then [`Receiver::otherwise`].
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.lock().script.extend(replies);
    }

    /// Once the script is used up, every request gets `reply` (200 by default).
    pub fn otherwise(&self, reply: Reply) {
        self.lock().otherwise = Some(reply);
    }

    /// The most requests held at once so far.
    pub fn max_in_flight(&self) -> usize {
        self.lock().max_in_flight
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Waits until `count` requests have arrived (or `within` has passed) and returns them.
    /// Only the count is looked at while waiting, so a long wait costs the process under test
    /// nothing.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        while self.lock().received.len() < count && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.received()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One request being held; counted out when dropped.
struct InFlight<'a>(&'a Mutex<State>);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .in_flight -= 1;
    }
}

async fn answer(state: &Mutex<State>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().to_string();
    let uri = request.uri().to_string();
    let headers = request
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let reply = {
        let mut state = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.received.push(Received {
            method,
            uri,
            body,
            headers,
        });
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        state
            .script
            .pop_front()
            .or_else(|| state.otherwise.clone())
            .unwrap_or(Reply::Status(200))
    };
    // Counted out however the request ends: answered, or dropped when its client goes away.
    let _held = InFlight(state);
    if let Reply::Slow(_, delay) = &reply {
        tokio::time::sleep(*delay).await;
    }
    let mut response = Response::new(Full::new(Bytes::new()));
    match reply {
        Reply::Status(status) | Reply::Slow(status, _) => {
            *response.status_mut() = status.try_into().unwrap_or_default();
        }
        Reply::Redirect(status, location) => {
            *response.status_mut() = status.try_into().unwrap_or_default();
            if let Ok(value) = location.parse() {
                response.headers_mut().insert("location", value);
            }
        }
    }
    response
}
