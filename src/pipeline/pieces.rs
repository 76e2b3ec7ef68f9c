//! The supply optimiser's solved pieces kept in the workspace (`cache/lp-pieces/`), so that a
//! plan made by a later process (a scenario, the reconciliation's and the executive's re-plans)
//! reuses the pieces the nightly supply review solved: the disk behind
//! [`lp::with_store`](crate::analysis::supply::lp::with_store).
//!
//! One file per piece, `<key>.piece`, as `lp::encode` writes it (its key and checksum inside).
//! Written to a temporary file in the folder and renamed, so no reader ever sees half an entry,
//! and two processes writing the same entry write the same bytes. Bounded: past the cap
//! (`SNOP_PIECE_CACHE_MB`, default 2,048; `0` turns the folder off) the entries used longest
//! ago (a read touches its file's time) are removed. Nothing here fails a plan: a folder that
//! cannot be written is a warning (once), then the plan is solved without it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::analysis::supply::lp::{self, PieceKey, PieceStore, Reuse};

/// The folder, under the workspace.
pub const DIR: &str = "cache/lp-pieces";
/// The cap in MB, from the environment (default [`DEFAULT_CAP_MB`]; `0`: no folder).
pub const CAP_ENV: &str = "SNOP_PIECE_CACHE_MB";
pub const DEFAULT_CAP_MB: u64 = 2048;
const EXT: &str = "piece";
/// A temporary file older than this is a dead writer's, removed when the folder is trimmed.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// Runs `f` (a plan) with the workspace's piece folder behind the optimiser's memo; and where
/// its pieces came from.
pub fn planning<R>(root: &Path, f: impl FnOnce() -> R) -> (R, Reuse) {
    let store = match cap_bytes() {
        Ok(0) => None,
        Ok(cap) => Some(Arc::new(DiskPieces::new(root.join(DIR), cap)) as Arc<dyn PieceStore>),
        Err(e) => {
            tracing::warn!("{e}: the solved pieces are not kept");
            None
        }
    };
    let (out, reuse) = lp::with_store(store, f);
    tracing::info!(
        memory = reuse.memory,
        disk = reuse.disk,
        solved = reuse.solved,
        corrupt = reuse.corrupt,
        "supply plan pieces: reused from this process, read from {DIR}, solved"
    );
    (out, reuse)
}

fn cap_bytes() -> Result<u64, String> {
    match std::env::var(CAP_ENV) {
        Err(_) => Ok(DEFAULT_CAP_MB << 20),
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .map(|mb| mb.saturating_mul(1 << 20))
            .map_err(|_| format!("{CAP_ENV}={v:?} is not a whole number of MB")),
    }
}

/// An entry of the folder: its path, size and when it was last used.
type Kept = (PathBuf, u64, SystemTime);

/// The pieces folder: see the module's doc.
pub struct DiskPieces {
    dir: PathBuf,
    cap: u64,
    /// Bytes in the folder as this process knows them (scanned at the first write).
    bytes: Mutex<Option<u64>>,
    /// Whether the one warning about the folder was given.
    warned: std::sync::atomic::AtomicBool,
}

impl DiskPieces {
    pub fn new(dir: PathBuf, cap: u64) -> DiskPieces {
        DiskPieces { dir, cap, bytes: Mutex::new(None), warned: Default::default() }
    }

    fn path(&self, key: &PieceKey) -> PathBuf {
        self.dir.join(format!("{}.{EXT}", hex::encode(key)))
    }

    fn warn(&self, what: &str, e: &dyn std::fmt::Display) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!("{what} ({e}): the plan is solved without it");
        }
    }

    fn write(&self, key: &PieceKey, bytes: &[u8]) -> std::io::Result<()> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        fs_err::create_dir_all(&self.dir)?;
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let tmp = self.dir.join(format!(".{}.{}.{seq}.tmp", hex::encode(key), std::process::id()));
        let written = fs_err::write(&tmp, bytes).and_then(|()| fs_err::rename(&tmp, self.path(key)));
        if written.is_err() {
            let _ = fs_err::remove_file(&tmp);
        }
        written
    }

    /// The folder's entries: path, size, last used; and its dead writers' temporary files.
    fn scan(&self) -> std::io::Result<(Vec<Kept>, Vec<PathBuf>)> {
        let (mut entries, mut stale) = (Vec::new(), Vec::new());
        let now = SystemTime::now();
        for e in fs_err::read_dir(&self.dir)? {
            let e = e?;
            let path = e.path();
            // Another process may remove an entry between the listing and this.
            let Ok(meta) = e.metadata() else { continue };
            let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if path.extension().is_some_and(|x| x == EXT) {
                entries.push((path, meta.len(), used));
            } else if path.extension().is_some_and(|x| x == "tmp")
                && now.duration_since(used).is_ok_and(|age| age > STALE_TMP)
            {
                stale.push(path);
            }
        }
        Ok((entries, stale))
    }

    /// Counts `added` bytes and, past the cap, removes the entries used longest ago until the
    /// folder is under 90% of it.
    fn trim(&self, added: u64) -> std::io::Result<()> {
        let mut known = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        let now = match *known {
            Some(b) => b + added,
            None => self.scan()?.0.iter().map(|e| e.1).sum(),
        };
        *known = Some(now);
        if now <= self.cap {
            return Ok(());
        }
        let (mut entries, stale) = self.scan()?;
        for p in stale {
            let _ = fs_err::remove_file(p);
        }
        entries.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.cmp(&b.0)));
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        let goal = self.cap / 10 * 9;
        let mut removed = 0usize;
        for (path, size, _) in entries {
            if total <= goal {
                break;
            }
            // Gone already (another process trimmed it) is as good as removed.
            let _ = fs_err::remove_file(&path);
            total -= size;
            removed += 1;
        }
        tracing::debug!(removed, bytes = total, "the solved pieces' folder trimmed to its cap");
        *known = Some(total);
        Ok(())
    }
}

impl PieceStore for DiskPieces {
    fn load(&self, key: &PieceKey) -> Option<Vec<u8>> {
        let path = self.path(key);
        match fs_err::read(&path) {
            Ok(bytes) => {
                // Used now: the trim removes the entries used longest ago first.
                let touched = fs_err::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .and_then(|f| f.file().set_modified(SystemTime::now()));
                if let Err(e) = touched {
                    tracing::debug!("{}: {e}", path.display());
                }
                Some(bytes)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                self.warn("a solved piece cannot be read", &e);
                None
            }
        }
    }

    fn save(&self, key: &PieceKey, bytes: &[u8]) {
        if let Err(e) = self.write(key, bytes) {
            self.warn(&format!("the solved pieces cannot be kept in {}", self.dir.display()), &e);
            return;
        }
        if let Err(e) = self.trim(bytes.len() as u64) {
            self.warn(&format!("the solved pieces' folder {} cannot be trimmed", self.dir.display()), &e);
        }
    }

    fn discard(&self, key: &PieceKey) {
        let _ = fs_err::remove_file(self.path(key));
    }
}

#[cfg(test)]
mod tests;
