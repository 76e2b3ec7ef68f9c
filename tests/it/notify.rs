//! Notifications received by a real SMTP server on loopback (Python's aiosmtpd, writing a
//! Maildir) and a webhook receiver on loopback (a small listener in the test), with a webhook
//! that is down: retried, logged, the run unaffected; and never two messages per event and person.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::calendar::{python_with, workspace};
use crate::common::run_in;

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// aiosmtpd on loopback, writing each message into `maildir/new`; killed on drop.
struct Smtp(std::process::Child);

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn smtp_server(port: u16, maildir: &Path) -> Smtp {
    python_with("aiosmtpd");
    let smtp = Smtp(
        std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return smtp;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("aiosmtpd did not start listening on port {port}");
}

/// A webhook receiver: answers 200 to every POST and keeps the bodies.
pub(crate) fn webhook_receiver() -> (u16, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            kept.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    (port, bodies)
}

/// (To, Subject) of every message in the Maildir, sorted, and the bodies.
fn mailbox(maildir: &Path) -> (Vec<(String, String)>, Vec<String>) {
    let mut heads = Vec::new();
    let mut bodies = Vec::new();
    let Ok(entries) = fs_err::read_dir(maildir.join("new")) else { return (heads, bodies) };
    for e in entries {
        let text = fs_err::read_to_string(e.unwrap().path()).unwrap();
        let header = |name: &str| {
            text.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string()).unwrap_or_default()
        };
        heads.push((header("To:"), header("Subject:")));
        // Quoted-printable soft line breaks.
        bodies.push(text.replace("=\n", "").replace("=\r\n", ""));
    }
    heads.sort();
    (heads, bodies)
}

#[test]
fn notifications_by_mail_and_webhook_once_per_event_and_person() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace(tmp.path());
    let maildir = tmp.path().join("Maildir");
    let smtp_port = free_port();
    let _smtp = smtp_server(smtp_port, &maildir);
    let (hook_port, hooks) = webhook_receiver();
    let down_port = free_port();
    let mut toml = fs_err::read_to_string(ws.join("snop.toml")).unwrap();
    toml.push_str(&format!(
        r#"
[notify]
remind_days = 2
look_at = "https://snop.example.com/acme"

[notify.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from = "snop <snop@example.com>"

[[notify.webhooks]]
name = "planning"
url = "http://127.0.0.1:{hook_port}/hook"

[[notify.webhooks]]
name = "down"
url = "http://127.0.0.1:{down_port}/hook"
"#
    ));
    fs_err::write(ws.join("snop.toml"), &toml).unwrap();

    // Tuesday 8 December: both drafts are new, and the demand consensus is due on the 10th, two
    // days away: three events, two for Dana, one for Sam.
    let (code, out, err) = run_in(&ws, &["nightly", "--now", "2026-12-08T02:30:00Z"]);
    assert_eq!(code, 0, "a webhook that is down does not fail the run: {out}{err}");
    let expected = vec![
        (
            "\"Dana Whitfield\" <dana.whitfield@example.com>".to_string(),
            "Draft ready: the demand consensus for 2026-12".to_string(),
        ),
        (
            "\"Dana Whitfield\" <dana.whitfield@example.com>".to_string(),
            "Signature due in 2 days: the demand consensus for 2026-12".to_string(),
        ),
        ("\"Sam Okafor\" <sam.okafor@example.com>".to_string(), "Draft ready: the supply plan for 2026-12".to_string()),
    ];
    let (heads, bodies) = mailbox(&maildir);
    assert_eq!(heads, expected, "{out}");
    let draft = bodies.iter().find(|b| b.contains("Subject: Draft ready: the demand consensus")).unwrap();
    for line in [
        "The demand consensus for the 2026-12 cycle (draft 1, version 1) is ready for your review",
        "Look: `snop drafts show 1`",
        "For: Dana Whitfield",
        "By: 2026-12-10",
        "Where: https://snop.example.com/acme",
    ] {
        assert!(draft.contains(line), "`{line}` in:\n{draft}");
    }
    let posted = hooks.lock().unwrap().clone();
    assert_eq!(posted.len(), 3, "one post per event to the webhook that is up: {posted:?}");
    assert!(posted.iter().all(|p| p["text"].as_str().unwrap().contains("Where: https://snop.example.com/acme")));
    assert!(posted.iter().any(|p| p["text"].as_str().unwrap().contains("For: Sam Okafor")));
    assert!(
        out.contains("notify webhook failed  webhook:down draft-ready:1: webhook `down`: error sending request"),
        "the failure is reported: {out}"
    );
    assert!(!out.contains(&format!("{down_port}")), "the webhook's URL (its secret) is not printed: {out}");

    // The same night again: nothing new is sent; the webhook that is down is tried again.
    let (code, out, err) = run_in(&ws, &["nightly", "--now", "2026-12-08T05:00:00Z"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mailbox(&maildir).0, expected, "no second message per event and person");
    assert_eq!(hooks.lock().unwrap().len(), 3);
    assert_eq!(out.matches("notify webhook failed  webhook:down").count(), 3, "{out}");
    assert!(!out.contains(" sent "), "{out}");

    // The calendar moves the executive S&OP: a holiday on Thursday 17 December puts it on the
    // 18th and the commit-back on 21-22 December. Everyone with an address hears of each.
    let toml = toml.replace("holidays = [\n", "holidays = [\n    \"2026-12-17 Plant closed\",\n");
    fs_err::write(ws.join("snop.toml"), &toml).unwrap();
    let (code, out, err) = run_in(&ws, &["nightly", "--now", "2026-12-09T02:30:00Z"]);
    assert_eq!(code, 0, "{out}{err}");
    let (heads, bodies) = mailbox(&maildir);
    let moved: Vec<&(String, String)> = heads.iter().filter(|(_, s)| s.starts_with("Meeting moved")).collect();
    let people = toml.matches("email = ").count();
    assert_eq!(moved.len(), 2 * people, "{heads:#?}");
    assert!(heads.contains(&(
        "\"Olivia Chen\" <olivia.chen@example.com>".to_string(),
        "Meeting moved: the executive S&OP of 2026-12 is now 2026-12-18".to_string()
    )));
    assert!(bodies.iter().any(|b| b.contains("moved from 2026-12-17 to 2026-12-17 to 2026-12-18 to 2026-12-18")));
}

#[test]
fn mail_to_a_server_that_is_down_is_retried_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace(tmp.path());
    let maildir = tmp.path().join("Maildir");
    let port = free_port();
    let mut toml = fs_err::read_to_string(ws.join("snop.toml")).unwrap();
    toml.push_str(&format!(
        "\n[notify.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nfrom = \"snop <snop@example.com>\"\n"
    ));
    fs_err::write(ws.join("snop.toml"), &toml).unwrap();
    // Nobody listens yet: three deliveries fail after their retries; the run itself succeeds.
    let (code, out, err) = run_in(&ws, &["nightly", "--now", "2026-12-08T02:30:00Z"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("notify email   failed ").count(), 3, "{out}");
    assert!(out.contains("(retried next run)"), "{out}");
    // The server is up for the next run: each waiting message is delivered, once.
    let _smtp = smtp_server(port, &maildir);
    let (code, out, err) = run_in(&ws, &["nightly", "--now", "2026-12-08T06:00:00Z"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("notify email   sent ").count(), 3, "{out}");
    assert_eq!(mailbox(&maildir).0.len(), 3);
    let (code, out, _) = run_in(&ws, &["nightly", "--now", "2026-12-08T07:00:00Z"]);
    assert_eq!(code, 0);
    assert!(!out.contains("notify"), "nothing left to send: {out}");
    assert_eq!(mailbox(&maildir).0.len(), 3);
}
