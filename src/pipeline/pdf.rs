//! The reconciliation pack's PDF: its HTML deck printed by headless Chromium, when installed.

/// Prints a self-contained HTML page to PDF with headless Chromium, if it is installed.
pub fn print_pdf(html: &str) -> Result<Vec<u8>, String> {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(b).is_file())))
        .ok_or("Chromium is not on the PATH")?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let tmp = std::env::temp_dir().join(format!("snop-pdf-{}-{nanos}", std::process::id()));
    let result = (|| {
        fs_err::create_dir_all(&tmp).map_err(|e| e.to_string())?;
        let page = tmp.join("pack.html");
        let pdf = tmp.join("pack.pdf");
        fs_err::write(&page, html).map_err(|e| e.to_string())?;
        let mut command = std::process::Command::new(browser);
        without_our_allocator(&mut command, std::env::var_os("GLIBC_TUNABLES").as_deref());
        let mut child = command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-pdf-header-footer",
            ])
            .arg(format!("--user-data-dir={}", tmp.join("profile").display()))
            .arg(format!("--print-to-pdf={}", pdf.display()))
            .arg(format!("file://{}", page.display()))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("`{browser}` did not start: {e}"))?;
        let started = std::time::Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if started.elapsed() > std::time::Duration::from_secs(120) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("`{browser}` took more than 120 s"));
                }
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(50)),
                Err(e) => return Err(e.to_string()),
            }
        }
        fs_err::read(&pdf).map_err(|_| format!("`{browser}` wrote no PDF"))
    })();
    let _ = fs_err::remove_dir_all(&tmp);
    result
}

/// A program `snop` starts runs with its own allocator settings, not the ones `snop` set for
/// itself (`current`: this process's `GLIBC_TUNABLES`); a value the user set is passed on.
fn without_our_allocator(command: &mut std::process::Command, current: Option<&std::ffi::OsStr>) {
    if current.is_some_and(|v| v == crate::ALLOCATOR_TUNABLES) {
        command.env_remove("GLIBC_TUNABLES");
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    fn tunables_of(command: &std::process::Command) -> Option<Option<&OsStr>> {
        command.get_envs().find(|(k, _)| *k == "GLIBC_TUNABLES").map(|(_, v)| v)
    }

    #[test]
    fn chromium_starts_without_the_allocator_settings_snop_set_for_itself() {
        let mut ours = std::process::Command::new("chromium");
        super::without_our_allocator(&mut ours, Some(OsStr::new(crate::ALLOCATOR_TUNABLES)));
        assert_eq!(tunables_of(&ours), Some(None), "removed from the child's environment");
        let mut users = std::process::Command::new("chromium");
        super::without_our_allocator(&mut users, Some(OsStr::new("glibc.malloc.arena_max=4")));
        assert_eq!(tunables_of(&users), None, "a user's own setting is inherited as it is");
        let mut none = std::process::Command::new("chromium");
        super::without_our_allocator(&mut none, None);
        assert_eq!(tunables_of(&none), None);
    }
}
