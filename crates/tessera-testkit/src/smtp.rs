//! A real SMTP receiver on `127.0.0.1`, port 0, for tests of outgoing mail: Tessera's mailer
//! connects to it over TCP exactly as to a relay, and the test reads what arrived, decoded.
//!
//! It speaks the part of RFC 5321 a submitting client uses — `EHLO`/`HELO`, `MAIL FROM`,
//! `RCPT TO`, `DATA` (with dot-unstuffing, §4.5.2), `RSET`, `NOOP`, `QUIT` — and accepts every
//! message; no TLS, no `AUTH`. It is written here, about 150 lines, because the SMTP server
//! crates on crates.io do not fit a tokio test: `mailin-embedded` runs its own threads,
//! `samotop` is built on async-std and no longer released, and `smtp-server` is an early
//! experiment. Parsing a received message is left to `mail-parser`, a maintained MIME parser,
//! so that tests read decoded subjects and bodies rather than RFC 2047 and quoted-printable.

use std::net::SocketAddr;
use std::time::Duration;

use mail_parser::{HeaderValue, MessageParser};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::task::{JoinHandle, JoinSet};

/// A message as the receiver got it: the envelope, and the message text after `DATA`.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The `MAIL FROM` address (empty for the null sender `<>`).
    pub envelope_from: String,
    /// The `RCPT TO` addresses, in order.
    pub envelope_to: Vec<String>,
    /// The message, headers and body, lines ending in CRLF, dots unstuffed.
    pub raw: String,
}

impl ReceivedMail {
    fn parsed(&self) -> Option<mail_parser::Message<'_>> {
        MessageParser::default().parse(self.raw.as_bytes())
    }

    /// The `Subject`, decoded.
    pub fn subject(&self) -> Option<String> {
        self.parsed()?.subject().map(str::to_owned)
    }

    /// The first `text/plain` body, decoded.
    pub fn text_body(&self) -> Option<String> {
        let message = self.parsed()?;
        message.body_text(0).map(|body| body.into_owned())
    }

    /// The first `text/html` body, decoded.
    pub fn html_body(&self) -> Option<String> {
        let message = self.parsed()?;
        message.body_html(0).map(|body| body.into_owned())
    }

    /// The display name of `From`, decoded.
    pub fn from_name(&self) -> Option<String> {
        let message = self.parsed()?;
        message.from()?.first()?.name().map(str::to_owned)
    }

    /// The address of `From`.
    pub fn from_address(&self) -> Option<String> {
        let message = self.parsed()?;
        message.from()?.first()?.address().map(str::to_owned)
    }

    /// Header `name` (any case), decoded: text as text, addresses as `Name <address>`
    /// separated by `, `, anything else as written.
    pub fn header(&self, name: &str) -> Option<String> {
        let message = self.parsed()?;
        let value = match message.header(name)? {
            HeaderValue::Text(text) => text.to_string(),
            HeaderValue::TextList(list) => list.join(", "),
            HeaderValue::Address(address) => address
                .iter()
                .map(|addr| match (addr.name(), addr.address()) {
                    (Some(name), Some(address)) => format!("{name} <{address}>"),
                    (None, Some(address)) => address.to_owned(),
                    (name, None) => name.unwrap_or_default().to_owned(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            _ => message.header_raw(name)?.trim().to_owned(),
        };
        Some(value)
    }
}

/// An SMTP server on `127.0.0.1`, port 0, collecting every message it accepts. Dropping it
/// stops it and closes its connections.
#[derive(Debug)]
pub struct SmtpReceiver {
    address: SocketAddr,
    mails: Mutex<mpsc::UnboundedReceiver<ReceivedMail>>,
    server: JoinHandle<()>,
}

impl SmtpReceiver {
    /// Binds a free port and starts accepting connections.
    ///
    /// # Panics
    /// When no port can be bound: the test cannot go on.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP receiver");
        let address = listener.local_addr().expect("a bound address");
        let (sender, mails) = mpsc::unbounded_channel();
        let server = tokio::spawn(async move {
            // Owned by this task, so stopping it (on drop) ends every conversation too.
            let mut conversations = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                while conversations.try_join_next().is_some() {}
                conversations.spawn(converse(stream, sender.clone()));
            }
        });
        Self {
            address,
            mails: Mutex::new(mails),
            server,
        }
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its URL for [`tessera_core::mail::Mailer::smtp`] and `mail.smtp_url`:
    /// `smtp://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    /// The next message accepted, waiting at most `within`.
    pub async fn next_mail(&self, within: Duration) -> Option<ReceivedMail> {
        let mut mails = self.mails.lock().await;
        tokio::time::timeout(within, mails.recv())
            .await
            .ok()
            .flatten()
    }
}

impl Drop for SmtpReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// One SMTP session (RFC 5321 §3–4): replies to each command line until `QUIT` or the client
/// hangs up. I/O errors end the session; the client sees a closed connection.
async fn converse(stream: TcpStream, mails: mpsc::UnboundedSender<ReceivedMail>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    if write
        .write_all(b"220 127.0.0.1 ESMTP tessera-testkit\r\n")
        .await
        .is_err()
    {
        return;
    }
    while let Some(line) = read_line(&mut lines).await {
        let verb = line.get(..4).unwrap_or(&line).to_ascii_uppercase();
        let reply = match verb.as_str() {
            "EHLO" => "250-127.0.0.1\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n",
            "HELO" => "250 127.0.0.1\r\n",
            "MAIL" => match path_after(&line, "MAIL FROM:") {
                Some(path) => {
                    (from, to) = (Some(path), Vec::new());
                    "250 2.1.0 OK\r\n"
                }
                None => "501 5.5.4 Syntax: MAIL FROM:<address>\r\n",
            },
            "RCPT" if from.is_none() => "503 5.5.1 MAIL first\r\n",
            "RCPT" => match path_after(&line, "RCPT TO:") {
                Some(path) => {
                    to.push(path);
                    "250 2.1.5 OK\r\n"
                }
                None => "501 5.5.4 Syntax: RCPT TO:<address>\r\n",
            },
            "DATA" if to.is_empty() => "503 5.5.1 RCPT first\r\n",
            "DATA" => {
                if write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let Some(raw) = read_data(&mut lines).await else {
                    return;
                };
                let mail = ReceivedMail {
                    envelope_from: from.take().unwrap_or_default(),
                    envelope_to: std::mem::take(&mut to),
                    raw,
                };
                let _ = mails.send(mail);
                "250 2.0.0 OK: queued\r\n"
            }
            "RSET" => {
                (from, to) = (None, Vec::new());
                "250 2.0.0 OK\r\n"
            }
            "NOOP" => "250 2.0.0 OK\r\n",
            "QUIT" => {
                let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
                return;
            }
            _ => "502 5.5.2 Command not recognized\r\n",
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The next line without its line ending, or `None` when the client hung up.
async fn read_line(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut bytes = Vec::new();
    match lines.read_until(b'\n', &mut bytes).await {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            let text = String::from_utf8_lossy(&bytes);
            Some(text.trim_end_matches(['\r', '\n']).to_owned())
        }
    }
}

/// The message after `DATA`, up to the line holding only `.`, each line's leading dot that the
/// client added removed (RFC 5321 §4.5.2).
async fn read_data(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut raw = String::new();
    loop {
        let line = read_line(lines).await?;
        if line == "." {
            return Some(raw);
        }
        raw.push_str(line.strip_prefix('.').unwrap_or(&line));
        raw.push_str("\r\n");
    }
}

/// The address of `MAIL FROM:<a> [params]` or `RCPT TO:<a> [params]`, the command matched in
/// any case and with or without a space after the colon.
fn path_after(line: &str, command: &str) -> Option<String> {
    let head = line.get(..command.len())?;
    if !head.eq_ignore_ascii_case(command) {
        return None;
    }
    let rest = line[command.len()..].trim_start();
    let path = match rest.strip_prefix('<') {
        Some(inside) => inside.split_once('>')?.0,
        None => rest.split(' ').next()?,
    };
    Some(path.to_owned())
}
