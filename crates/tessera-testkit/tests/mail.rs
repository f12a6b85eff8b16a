//! Outgoing mail over real SMTP: `tessera_core::mail::Mailer` talks to the testkit's
//! `SmtpReceiver` on a loopback port, and the test reads the decoded message.

use std::time::Duration;

use tessera_core::mail::{MailError, Mailer, OutgoingMail};
use tessera_testkit::smtp::SmtpReceiver;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_message_sent_over_smtp_arrives_with_its_envelope_and_decoded_parts() {
    let receiver = SmtpReceiver::start().await;
    let mailer = Mailer::smtp(&receiver.url(), "no-reply@example.com").unwrap();
    let text = "Hallo Zoë,\n\
                bitte bestätige deine Adresse:\n\
                https://id.example.com/acme/verify?token=abc\n\
                .a line that starts with a dot\n\
                .\n\
                Grüße";
    let mail = OutgoingMail {
        to: "zoe@example.com".to_owned(),
        sender_name: "Acme Café \"Süd\"".to_owned(),
        subject: "Bestätige deine E-Mail-Adresse — 确认".to_owned(),
        text: text.to_owned(),
        html: Some(
            "<p>Hallo Zoë, <a href=\"https://id.example.com/acme/verify?token=abc\">\
             bestätigen</a></p>"
                .to_owned(),
        ),
    };

    mailer.send(&mail).await.unwrap();

    let received = receiver.next_mail(WAIT).await.expect("a message arrives");
    assert_eq!(received.envelope_from, "no-reply@example.com");
    assert_eq!(received.envelope_to, ["zoe@example.com"]);
    assert_eq!(received.subject().as_deref(), Some(mail.subject.as_str()));
    assert_eq!(received.from_name().as_deref(), Some("Acme Café \"Süd\""));
    assert_eq!(
        received.from_address().as_deref(),
        Some("no-reply@example.com")
    );
    assert_eq!(received.header("to").as_deref(), Some("zoe@example.com"));
    let content_type = received.header("content-type").unwrap();
    assert!(
        content_type.starts_with("multipart/alternative"),
        "{content_type}"
    );
    // Line endings travel as CRLF; the dot-stuffed lines come back as written.
    let body = received.text_body().unwrap().replace("\r\n", "\n");
    assert_eq!(body.trim_end(), text);
    let html = received.html_body().unwrap();
    assert!(html.contains("Hallo Zoë"), "{html}");
    assert!(html.contains("verify?token=abc"), "{html}");
    // Nothing non-ASCII was sent raw in a header.
    let headers = received.raw.split("\r\n\r\n").next().unwrap();
    assert!(headers.is_ascii(), "{headers}");
    assert!(
        receiver
            .next_mail(Duration::from_millis(100))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_text_only_message_is_one_plain_part_and_messages_arrive_in_order() {
    let receiver = SmtpReceiver::start().await;
    let mailer = Mailer::smtp(&receiver.url(), "no-reply@example.com").unwrap();
    for n in 0..3 {
        let mail = OutgoingMail {
            to: format!("user{n}@example.com"),
            sender_name: "Acme".to_owned(),
            subject: format!("Reset your password ({n})"),
            text: "Open the link to choose a new password.".to_owned(),
            html: None,
        };
        mailer.send(&mail).await.unwrap();
    }
    for n in 0..3 {
        let received = receiver.next_mail(WAIT).await.expect("a message arrives");
        assert_eq!(received.envelope_to, [format!("user{n}@example.com")]);
        assert_eq!(
            received.subject().unwrap(),
            format!("Reset your password ({n})")
        );
        assert_eq!(received.from_name().as_deref(), Some("Acme"));
        let content_type = received.header("content-type").unwrap();
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        assert_eq!(
            received.text_body().unwrap().trim_end(),
            "Open the link to choose a new password."
        );
    }
}

#[tokio::test]
async fn a_relay_that_does_not_answer_is_an_error_naming_it() {
    let port = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let mailer = Mailer::smtp(&format!("smtp://127.0.0.1:{port}"), "a@example.com").unwrap();
    let mail = OutgoingMail {
        to: "b@example.com".to_owned(),
        sender_name: "Acme".to_owned(),
        subject: "Hello".to_owned(),
        text: "Hello".to_owned(),
        html: None,
    };
    let err = mailer.send(&mail).await.unwrap_err();
    assert!(matches!(err, MailError::Smtp { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[tokio::test]
async fn a_bad_recipient_is_refused_before_anything_is_sent() {
    let receiver = SmtpReceiver::start().await;
    let mailer = Mailer::smtp(&receiver.url(), "no-reply@example.com").unwrap();
    let mail = OutgoingMail {
        to: "not an address".to_owned(),
        sender_name: "Acme".to_owned(),
        subject: "Hello".to_owned(),
        text: "Hello".to_owned(),
        html: None,
    };
    let err = mailer.send(&mail).await.unwrap_err();
    assert!(matches!(err, MailError::Recipient { .. }), "{err}");
    assert!(
        receiver
            .next_mail(Duration::from_millis(200))
            .await
            .is_none()
    );
}

/// The receiver itself, spoken to by hand: sequencing, `RSET`, `NOOP`, `HELO` and
/// dot-unstuffing.
#[tokio::test]
async fn the_receiver_speaks_the_smtp_a_client_needs() {
    let receiver = SmtpReceiver::start().await;
    let stream = tokio::net::TcpStream::connect(receiver.address())
        .await
        .unwrap();
    let (read, mut write) = stream.into_split();
    let mut replies = BufReader::new(read).lines();
    let mut say = async |line: &str| -> String {
        if !line.is_empty() {
            write
                .write_all(format!("{line}\r\n").as_bytes())
                .await
                .unwrap();
        }
        replies.next_line().await.unwrap().unwrap()
    };
    assert!(say("").await.starts_with("220 "));
    assert!(say("HELO client.example").await.starts_with("250 "));
    assert!(say("RCPT TO:<x@example.com>").await.starts_with("503 "));
    assert!(say("DATA").await.starts_with("503 "));
    assert!(say("MAIL FROM:<old@example.com>").await.starts_with("250 "));
    assert!(say("RSET").await.starts_with("250 "));
    assert!(say("RCPT TO:<x@example.com>").await.starts_with("503 "));
    assert!(
        say("mail from: <a@example.com> BODY=8BITMIME")
            .await
            .starts_with("250 ")
    );
    assert!(say("RCPT TO:<b@example.com>").await.starts_with("250 "));
    assert!(say("rcpt to:<c@example.com>").await.starts_with("250 "));
    assert!(say("NOOP").await.starts_with("250 "));
    assert!(say("VRFY b").await.starts_with("502 "));
    assert!(say("DATA").await.starts_with("354 "));
    for line in ["Subject: hi", "", "..leading dot", "body"] {
        write
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
    }
    let mut say = async |line: &str| -> String {
        write
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        replies.next_line().await.unwrap().unwrap()
    };
    assert!(say(".").await.starts_with("250 "));
    assert!(say("QUIT").await.starts_with("221 "));

    let received = receiver.next_mail(WAIT).await.unwrap();
    assert_eq!(received.envelope_from, "a@example.com");
    assert_eq!(received.envelope_to, ["b@example.com", "c@example.com"]);
    assert_eq!(received.raw, "Subject: hi\r\n\r\n.leading dot\r\nbody\r\n");
    assert_eq!(received.subject().as_deref(), Some("hi"));
}
