//! Outgoing email: the messages the hosted pages send (sign-up verification, password reset).
//!
//! One [`Mailer`] serves the whole installation, because the way out is the operator's choice,
//! not an issuer's: an SMTP relay ([`Mailer::smtp`], through lettre, TLS by rustls) named once
//! in the server's configuration. What an issuer contributes is its name: every message goes
//! out as `"{issuer display name}" <{installation address}>`, so users see who wrote to them
//! while the envelope stays the one address the relay (and its SPF/DKIM records) knows.
//!
//! With no relay configured, messages are written as `.eml` files to a folder
//! ([`Mailer::directory`], `tessera-data/mail/` in the server) and announced in the log, so the
//! quickstart's sign-up and reset flows work on a laptop with nothing to set up: open the file,
//! follow the link. [`Mailer::log_only`] is for library users that configure nothing; the
//! server never uses it.
//!
//! Message bodies are never logged, at any level: they hold single-use secrets (verification
//! and reset links), and a log is read by more people than a mailbox. The log names the
//! recipient, the subject and, for the folder, the file. For the same reason the mail folder
//! is created readable by its owner only, and the SMTP URL (which may hold the relay's
//! password) never appears in `Debug`, `Display` or an error.
//!
//! What is refused: a sender or recipient that is not an address (an error, never a panic),
//! and an SMTP URL that would send a password unencrypted to another machine (`smtp://` with
//! credentials but without `?tls=required`, to a host that is not loopback).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// The sender address of an installation that sets none: deliverable on no network, which is
/// right for the mail folder and for a local relay in tests.
pub const DEFAULT_FROM: &str = "tessera@localhost";

/// How long one SMTP exchange may take (connect, TLS, every command) before the message counts
/// as not sent. A sign-up or reset waits for it, so it is shorter than lettre's minute.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

/// A message for one recipient, as a use case writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The recipient's address (`ada@example.com`, no display name).
    pub to: String,
    /// Who the message is from, for the reader: the issuer's display name.
    pub sender_name: String,
    /// The subject line, any language.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// An HTML body, sent beside the text as `multipart/alternative`.
    pub html: Option<String>,
}

/// Why a mailer could not be set up, or a message not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The SMTP URL cannot be used. The URL itself is not repeated: it may hold a password.
    #[error(
        "the SMTP URL is not usable: {reason} (expected e.g. \
         smtp://USER:PASSWORD@HOST:587?tls=required, smtps://USER:PASSWORD@HOST or, for a \
         relay on this machine, smtp://127.0.0.1:25)"
    )]
    SmtpUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// The installation's sender address is not an address.
    #[error(
        "`{address}` cannot be the sender address: {reason} (give a bare address such as \
         tessera@example.com; the name shown is each issuer's display name)"
    )]
    Sender {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The recipient is not an address.
    #[error("`{address}` cannot receive mail: {reason}")]
    Recipient {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The message cannot be put together (a header lettre refuses).
    #[error("the message cannot be built: {0}")]
    Message(String),
    /// The mail folder cannot be created.
    #[error("cannot create the mail folder {path}: {source}")]
    Directory {
        /// The folder.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The SMTP relay could not be reached, or refused the message.
    #[error("the SMTP relay {relay} did not take the message: {source}")]
    Smtp {
        /// `host:port` of the relay.
        relay: String,
        /// lettre's reason (the relay's reply, a TLS or connection failure).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The message could not be written to the mail folder.
    #[error("cannot write the message to the mail folder {path}: {source}")]
    File {
        /// The folder.
        path: PathBuf,
        /// lettre's reason.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Sends the installation's mail. Cloning is one reference count.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    from: Address,
    transport: Transport,
}

enum Transport {
    Smtp {
        client: AsyncSmtpTransport<Tokio1Executor>,
        /// `host:port`, for the log and errors (never the URL: it may hold a password).
        relay: String,
    },
    Directory {
        files: AsyncFileTransport<Tokio1Executor>,
        path: PathBuf,
    },
    LogOnly,
}

impl Mailer {
    /// Sends through the SMTP relay at `url`, from `from`.
    ///
    /// `url` is lettre's connection URL: `smtp://HOST:PORT` (no encryption),
    /// `smtp://USER:PASSWORD@HOST:587?tls=required` (STARTTLS, required),
    /// `smtps://USER:PASSWORD@HOST` (TLS from the start, port 465); the user and password are
    /// percent-encoded. A password is refused over a connection that may be unencrypted
    /// (`smtp://` without `tls=required`) unless the host is loopback. Nothing is connected
    /// here: a relay that is down shows on the first [`Mailer::send`].
    pub fn smtp(url: &str, from: &str) -> Result<Self, MailError> {
        let from = parse_sender(from)?;
        let relay = check_smtp_url(url)?;
        let client = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::SmtpUrl {
                reason: e.to_string(),
            })?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Self::with(from, Transport::Smtp { client, relay }))
    }

    /// Writes every message as an `.eml` file into `dir`, created (readable by its owner only)
    /// if missing, and logs the recipient, subject and file at `info`.
    pub fn directory(dir: PathBuf, from: &str) -> Result<Self, MailError> {
        let from = parse_sender(from)?;
        create_private_dir(&dir).map_err(|source| MailError::Directory {
            path: dir.clone(),
            source,
        })?;
        let files = AsyncFileTransport::<Tokio1Executor>::new(&dir);
        Ok(Self::with(from, Transport::Directory { files, path: dir }))
    }

    /// Sends nothing: logs the recipient and subject of every message at `warn`, saying that
    /// no transport is set. For library users that configure no mail; the server never uses it.
    pub fn log_only(from: &str) -> Result<Self, MailError> {
        Ok(Self::with(parse_sender(from)?, Transport::LogOnly))
    }

    fn with(from: Address, transport: Transport) -> Self {
        Self {
            inner: Arc::new(Inner { from, transport }),
        }
    }

    /// The installation's sender address.
    pub fn from_address(&self) -> &str {
        self.inner.from.as_ref()
    }

    /// Sends `mail`, from `"{sender_name}" <{from}>`. Returns once the relay accepted it or the
    /// file is written. The body is never logged.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = self.message(mail)?;
        match &self.inner.transport {
            Transport::Smtp { client, relay } => {
                client
                    .send(message)
                    .await
                    .map_err(|source| MailError::Smtp {
                        relay: relay.clone(),
                        source: Box::new(source),
                    })?;
                tracing::info!(to = %mail.to, subject = %mail.subject, %relay, "mail sent");
            }
            Transport::Directory { files, path } => {
                let id = files
                    .send(message)
                    .await
                    .map_err(|source| MailError::File {
                        path: path.clone(),
                        source: Box::new(source),
                    })?;
                // lettre names the file after the id it returns.
                let file = path.join(format!("{id}.eml"));
                tracing::info!(
                    to = %mail.to,
                    subject = %mail.subject,
                    file = %file.display(),
                    "mail written to a file (no SMTP relay is configured)"
                );
            }
            Transport::LogOnly => {
                tracing::warn!(
                    to = %mail.to,
                    subject = %mail.subject,
                    "mail not sent: no mail transport is set"
                );
            }
        }
        Ok(())
    }

    /// The MIME message: one `text/plain` part, or `multipart/alternative` with the HTML.
    /// lettre encodes non-ASCII names and subjects (RFC 2047) and bodies.
    fn message(&self, mail: &OutgoingMail) -> Result<lettre::Message, MailError> {
        let to: Address = mail
            .to
            .trim()
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Recipient {
                address: mail.to.clone(),
                reason: e.to_string(),
            })?;
        let name = one_line(&mail.sender_name);
        let from = Mailbox::new((!name.is_empty()).then_some(name), self.inner.from.clone());
        // RFC 5322 §3.6.4: unique, and under the sender's domain rather than this node's
        // host name, which the world need not learn.
        let message_id = format!(
            "<{}@{}>",
            tessera_crypto::base64url(&tessera_crypto::random_bytes::<18>()),
            self.inner.from.domain()
        );
        let builder = lettre::Message::builder()
            .message_id(Some(message_id))
            .from(from)
            .to(Mailbox::new(None, to))
            .subject(one_line(&mail.subject));
        let built = match &mail.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                html.clone(),
            )),
            None => builder.singlepart(SinglePart::plain(mail.text.clone())),
        };
        built.map_err(|e| MailError::Message(e.to_string()))
    }
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("transport", &format_args!("{self}"))
            .field("from", &self.from_address())
            .finish()
    }
}

/// Where mail goes, for the start-up log: never the SMTP URL, which may hold a password.
impl fmt::Display for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.transport {
            Transport::Smtp { relay, .. } => write!(f, "SMTP relay {relay}"),
            Transport::Directory { path, .. } => write!(f, ".eml files in {}", path.display()),
            Transport::LogOnly => f.write_str("nowhere (log only)"),
        }
    }
}

fn parse_sender(from: &str) -> Result<Address, MailError> {
    from.trim()
        .parse()
        .map_err(|e: lettre::address::AddressError| MailError::Sender {
            address: from.to_owned(),
            reason: e.to_string(),
        })
}

/// Checks what lettre does not: that a password never travels unencrypted to another machine.
/// Returns the relay's `host:port` for the log.
fn check_smtp_url(text: &str) -> Result<String, MailError> {
    let refused = |reason: &str| MailError::SmtpUrl {
        reason: reason.to_owned(),
    };
    // `url`'s errors describe the problem, never repeat the input (which may hold a password).
    let url = url::Url::parse(text).map_err(|e| MailError::SmtpUrl {
        reason: e.to_string(),
    })?;
    let tls = url
        .query_pairs()
        .find(|(key, _)| key == "tls")
        .map(|(_, value)| value.into_owned());
    let encrypted = match (url.scheme(), tls.as_deref()) {
        ("smtps", _) | ("smtp", Some("required")) => true,
        ("smtp", None | Some("opportunistic")) => false,
        ("smtp", Some(_)) => return Err(refused("`tls` must be `required` or `opportunistic`")),
        _ => return Err(refused("the scheme must be smtp:// or smtps://")),
    };
    let host = url.host().ok_or_else(|| refused("it names no host"))?;
    // `smtp` is not a scheme the URL standard knows, so an IPv4 host arrives as a name.
    let loopback = match &host {
        url::Host::Domain(name) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if url.password().is_some() && !encrypted && !loopback {
        return Err(refused(
            "it has a password but allows an unencrypted connection to another machine \
             (add ?tls=required, or use smtps://)",
        ));
    }
    // lettre's defaults: submissions (465) for smtps, submission (587) with STARTTLS.
    let port = url.port().unwrap_or(match (url.scheme(), &tls) {
        ("smtps", _) => 465,
        (_, Some(_)) => 587,
        _ => 25,
    });
    Ok(format!("{host}:{port}"))
}

/// A header value on one line: control characters (a CR/LF would start a new header in a
/// careless encoder) become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Creates `dir` (and its missing parents) readable and writable by the owner only: the
/// files it will hold carry single-use secret links.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %dir.display(),
            "the mail folder is readable by other users, and its messages hold sign-in \
             secrets; chmod 700 it"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(to: &str) -> OutgoingMail {
        OutgoingMail {
            to: to.to_owned(),
            sender_name: "Acme Café".to_owned(),
            subject: "Bestätige deine E-Mail-Adresse".to_owned(),
            text: "Open https://id.example/verify?t=secret".to_owned(),
            html: Some("<p><a href=\"https://id.example/verify?t=secret\">Verify</a></p>".into()),
        }
    }

    #[tokio::test]
    async fn the_directory_mailer_writes_one_eml_file_per_message() {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("deep").join("mail");
        let mailer = Mailer::directory(dir.clone(), "no-reply@example.com").unwrap();
        assert!(mailer.to_string().contains(&dir.display().to_string()));

        mailer.send(&mail("ada@example.com")).await.unwrap();

        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0].extension().unwrap(), "eml");
        let text = std::fs::read_to_string(&files[0]).unwrap();
        // The subject is non-ASCII, so it is RFC 2047 encoded; the address is plain.
        assert!(text.contains("Subject: =?utf-8?"), "{text}");
        assert!(text.contains("To: ada@example.com"), "{text}");
        assert!(text.contains("<no-reply@example.com>"), "{text}");
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(text.contains("Message-ID: <"), "{text}");
        assert!(text.contains("@example.com>\r\n"), "{text}");

        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[tokio::test]
    async fn an_ascii_subject_is_written_as_is() {
        let data = tempfile::tempdir().unwrap();
        let mailer = Mailer::directory(data.path().to_owned(), DEFAULT_FROM).unwrap();
        let message = OutgoingMail {
            subject: "Reset your password".to_owned(),
            html: None,
            ..mail("ada@example.com")
        };
        mailer.send(&message).await.unwrap();
        let file = std::fs::read_dir(data.path()).unwrap().next().unwrap();
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        assert!(text.contains("Subject: Reset your password"), "{text}");
        assert!(text.contains("Content-Type: text/plain"), "{text}");
    }

    #[tokio::test]
    async fn bad_addresses_are_errors_not_panics() {
        for from in [
            "",
            "not an address",
            "Tessera <a@example.com>",
            "@example.com",
        ] {
            let data = tempfile::tempdir().unwrap();
            assert!(
                matches!(
                    Mailer::directory(data.path().to_owned(), from),
                    Err(MailError::Sender { .. })
                ),
                "{from}"
            );
            assert!(matches!(
                Mailer::smtp("smtp://127.0.0.1:2525", from),
                Err(MailError::Sender { .. })
            ));
            assert!(matches!(
                Mailer::log_only(from),
                Err(MailError::Sender { .. })
            ));
        }
        let data = tempfile::tempdir().unwrap();
        let mailer = Mailer::directory(data.path().to_owned(), DEFAULT_FROM).unwrap();
        for to in [
            "",
            "ada",
            "ada@",
            "Ada <ada@example.com>",
            "a\r\nBcc: x@example.com",
        ] {
            let err = mailer.send(&mail(to)).await.unwrap_err();
            assert!(matches!(err, MailError::Recipient { .. }), "{to}: {err}");
        }
        assert_eq!(std::fs::read_dir(data.path()).unwrap().count(), 0);
    }

    #[test]
    fn smtp_urls_that_would_leak_a_password_are_refused_without_repeating_it() {
        for url in [
            "smtp://user:hunter2@mail.example.com:587",
            "smtp://user:hunter2@mail.example.com:587?tls=opportunistic",
            "smtp://user:hunter2@192.0.2.1",
        ] {
            let err = Mailer::smtp(url, DEFAULT_FROM).unwrap_err().to_string();
            assert!(err.contains("unencrypted"), "{url}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        for url in [
            "http://mail.example.com",
            "smtp://mail.example.com?tls=maybe",
            "nonsense",
        ] {
            let err = Mailer::smtp(url, DEFAULT_FROM).unwrap_err();
            assert!(matches!(err, MailError::SmtpUrl { .. }), "{url}: {err}");
        }
        for (url, relay) in [
            (
                "smtp://user:hunter2@mail.example.com?tls=required",
                "mail.example.com:587",
            ),
            (
                "smtps://user:hunter2@mail.example.com",
                "mail.example.com:465",
            ),
            ("smtp://user:hunter2@127.0.0.1:2525", "127.0.0.1:2525"),
            ("smtp://mail.example.com", "mail.example.com:25"),
        ] {
            let mailer = Mailer::smtp(url, DEFAULT_FROM).unwrap();
            assert_eq!(mailer.to_string(), format!("SMTP relay {relay}"));
            let printed = format!("{mailer:?}");
            assert!(!printed.contains("hunter2"), "{printed}");
        }
    }

    #[test]
    fn header_values_stay_on_one_line() {
        assert_eq!(
            one_line(" Acme\r\nBcc: x@example.com "),
            "Acme  Bcc: x@example.com"
        );
    }
}
