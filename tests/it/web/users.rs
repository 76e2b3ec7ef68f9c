//! Through the binary: people's users managed with `snop users` (add, list, disable,
//! reset-password), logging in to `snop serve`.

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::{free_port, http, post};
use crate::common::block_on;

/// Runs `snop` with `stdin` piped in; returns (exit code, stdout, stderr).
fn snop_with_stdin(ws: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write as _;
    let mut child = crate::common::snop()
        .current_dir(ws)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn users_are_managed_on_the_command_line_and_log_in_to_snop_serve() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = crate::common::run_in(tmp.path(), &["init", "ws", "--company", "Test Pumps"]);
    assert_eq!(code, 0, "{err}");
    let ws = tmp.path().join("ws");
    crate::common::copy_dir(&crate::common::repo().join("fixtures/demo/data"), &ws.join("data"));
    let pw = "a-long-enough-password\n";
    let (code, _, err) = snop_with_stdin(&ws, &["users", "add", "somebody.else", "--password-stdin"], pw);
    assert_eq!(code, 1);
    assert!(err.contains("`somebody.else` is not a person in `snop.toml`"), "{err}");
    let (code, _, err) = snop_with_stdin(&ws, &["users", "add", "dana.whitfield", "--password-stdin"], "short\n");
    assert_eq!(code, 1);
    assert!(err.contains("at least 10 characters"), "{err}");
    let (code, out, err) = snop_with_stdin(&ws, &["users", "add", "dana.whitfield", "--password-stdin"], pw);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("`dana.whitfield` (Dana Whitfield) can log in"), "{out}");
    let (code, _, err) = snop_with_stdin(&ws, &["users", "add", "dana.whitfield", "--password-stdin"], pw);
    assert_eq!(code, 1, "a second add is refused");
    assert!(err.contains("already has a user"), "{err}");
    let (_, out, _) = crate::common::run_in(&ws, &["users", "list", "--json"]);
    let users: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(users[0]["person"], "dana.whitfield");
    assert_eq!(users[0]["disabled"], false);
    assert!(!out.contains("a-long-enough-password") && !out.contains("argon2"), "no secret is listed");

    let port = free_port();
    let child = crate::common::snop()
        .current_dir(&ws)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _server = Serving(child);
    let base = format!("http://127.0.0.1:{port}");
    block_on(async {
        let try_login = |pw: &'static str| {
            let base = base.clone();
            async move { post(&base, "/login", None, &[("user", "dana.whitfield"), ("password", pw)], &[]).await.0 }
        };
        for _ in 0..100 {
            if http().get(format!("{base}/login")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(try_login("a-long-enough-password").await, StatusCode::SEE_OTHER);
        let (code, _, err) = crate::common::run_in(&ws, &["users", "disable", "dana.whitfield"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(try_login("a-long-enough-password").await, StatusCode::UNAUTHORIZED, "disabled");
        let (code, _, err) = snop_with_stdin(
            &ws,
            &["users", "reset-password", "dana.whitfield", "--password-stdin"],
            "another-password-1\n",
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(try_login("a-long-enough-password").await, StatusCode::UNAUTHORIZED, "the old password");
        assert_eq!(try_login("another-password-1").await, StatusCode::SEE_OTHER, "enabled again, new password");
    });
}
