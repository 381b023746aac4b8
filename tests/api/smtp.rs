//! A real SMTP server for the tests (mailin-embedded) on a loopback port, recording what it
//! accepts. It can be started late on a reserved port (a server that was down comes back) and
//! told to refuse every message (a server that rejects permanently).

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{Handler, Response, Server, response};

/// One message as the server received it.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default().parse(&self.data).unwrap_or_else(|| panic!("unparsable message:\n{}", self.text()))
    }

    pub fn message_id(&self) -> String {
        self.parsed().message_id().map(|id| format!("<{id}>")).unwrap_or_default()
    }
}

#[derive(Clone)]
struct Recorder {
    inbox: Arc<Mutex<Vec<Received>>>,
    reject: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
    current: Received,
}

impl Handler for Recorder {
    fn rcpt(&mut self, to: &str) -> Response {
        // Refused at RCPT rather than at the end of DATA: mailin's session stays in its data
        // state after a refused DATA, and the client's next command would hang.
        if self.reject.load(Ordering::SeqCst) {
            return response::NO_MAILBOX;
        }
        self.current.to.push(to.to_owned());
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            // A slow server: the client waits for the answer to DATA.
            std::thread::sleep(Duration::from_millis(delay));
        }
        let message = std::mem::take(&mut self.current);
        self.inbox.lock().unwrap_or_else(|e| e.into_inner()).push(message);
        response::OK
    }
}

pub struct TestSmtp {
    pub port: u16,
    inbox: Arc<Mutex<Vec<Received>>>,
    reject: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
}

impl TestSmtp {
    /// A port nothing listens on yet: a server that is down.
    pub fn reserve() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("binding: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
        drop(listener);
        Self { port, inbox: Arc::default(), reject: Arc::default(), delay_ms: Arc::default() }
    }

    /// A server accepting every message.
    pub fn start() -> Self {
        let smtp = Self::reserve();
        smtp.listen();
        smtp
    }

    /// Starts listening on the reserved port.
    pub fn listen(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap_or_else(|e| panic!("binding port {}: {e}", self.port));
        let recorder = Recorder {
            inbox: self.inbox.clone(),
            reject: self.reject.clone(),
            delay_ms: self.delay_ms.clone(),
            current: Received::default(),
        };
        let mut server = Server::new(recorder);
        server.with_name("smtp.test").with_num_threads(32).with_tcp_listener(listener);
        std::thread::spawn(move || {
            if let Err(err) = server.serve() {
                eprintln!("test SMTP server stopped: {err}");
            }
        });
    }

    /// From now on every message is refused with 550 (or accepted again).
    pub fn set_rejecting(&self, reject: bool) {
        self.reject.store(reject, Ordering::SeqCst);
    }

    /// From now on each message is answered only after `delay`.
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits (up to 30 s) until at least `n` messages have arrived, and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..600 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} messages, got {}", self.received().len());
    }

    /// Messages to `address`.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.received().into_iter().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address))).collect()
    }
}
