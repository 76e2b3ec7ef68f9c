//! Pieces already solved in this process, reused: a re-plan re-solves only the pieces whose
//! linear program changed.
//!
//! The executive's re-plan, the reconciliation's whole-plan options and a scenario after its
//! base plan each solve a problem that differs from one solved before in a few pieces (the
//! levers a decision forbids, the hours a scenario adds): every other piece's linear program is
//! the same, so its lexicographic solve gives the same plan. A piece's solve is keyed by the
//! SHA-256 of its inputs after the cut (its own [`Problem`] in its `Debug` text, which writes
//! every field and every float exactly, so a field added later is in the key too; its forbidden
//! levers; the stages asked for) and kept in a process-wide memo bounded by the values it holds
//! ([`MEMO_VALUES`]; the entry used longest ago goes first). HiGHS solves a fresh model of the
//! same arrays to the same plan (one thread, a fixed seed), so a hit is the plan a solve would
//! give, byte for byte (the tests compare them): the analysis stays deterministic, and the memo
//! is its one piece of state, which no result can tell apart from solving again.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::{Lever, Problem, Solution};

/// The plan values (every quantity of the stored plans) the memo keeps at most: 32 M values,
/// 256 MB. At 1/10 of the benchmark company a whole plan and its least-cost stage are about
/// 1.6 M values (so about 20 whole plans fit); at 1/1 about 10 times that.
pub const MEMO_VALUES: usize = 32 << 20;

/// A piece's key: the SHA-256 of its inputs.
type Key = [u8; 32];

/// A piece's lexicographic plan and its least-cost stage.
pub(super) type Solved = Arc<(Solution, Solution)>;

struct Entry {
    solved: Solved,
    values: usize,
    used: u64,
}

struct Memo {
    entries: BTreeMap<Key, Entry>,
    /// The entries' keys by when they were last used.
    by_use: BTreeMap<u64, Key>,
    clock: u64,
    values: usize,
}

static MEMO: Mutex<Memo> = Mutex::new(Memo { entries: BTreeMap::new(), by_use: BTreeMap::new(), clock: 0, values: 0 });

/// Streams text into the hash (no copy of the text is kept).
struct Hashing(Sha256);

impl std::fmt::Write for Hashing {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

/// A piece's key: its problem, its forbidden levers and the stages asked for.
pub(super) fn key(p: &Problem, forbid: &BTreeSet<Lever>, at_most: usize) -> Key {
    let mut h = Hashing(Sha256::new());
    // Writing into the hash cannot fail.
    let _ = write!(h, "{p:?}\u{0}{forbid:?}\u{0}{at_most}");
    let mut out = [0u8; 32];
    out.copy_from_slice(&h.0.finalize());
    out
}

fn values(s: &Solution) -> usize {
    let nested = |v: &Vec<Vec<Vec<f64>>>| v.iter().flatten().map(Vec::len).sum::<usize>();
    let flat = |v: &Vec<Vec<f64>>| v.iter().map(Vec::len).sum::<usize>();
    nested(&s.production)
        + flat(&s.overtime)
        + flat(&s.item_stock)
        + flat(&s.component_stock)
        + nested(&s.purchases)
        + nested(&s.expedites)
        + s.served.len()
}

fn lock() -> std::sync::MutexGuard<'static, Memo> {
    // A panic elsewhere while the memo was held leaves entries that are each whole: use it.
    MEMO.lock().unwrap_or_else(|e| e.into_inner())
}

/// The solve stored under `key`, if any (and it is now the most recently used).
pub(super) fn get(key: &Key) -> Option<Solved> {
    let mut m = lock();
    m.clock += 1;
    let now = m.clock;
    let e = m.entries.get_mut(key)?;
    let was = std::mem::replace(&mut e.used, now);
    let solved = e.solved.clone();
    m.by_use.remove(&was);
    m.by_use.insert(now, *key);
    Some(solved)
}

/// Stores a solve under `key`, dropping the entries used longest ago past [`MEMO_VALUES`].
pub(super) fn put(key: Key, solved: Solved) {
    let values = values(&solved.0) + values(&solved.1);
    if values > MEMO_VALUES {
        return;
    }
    let mut m = lock();
    m.clock += 1;
    let now = m.clock;
    if let Some(old) = m.entries.insert(key, Entry { solved, values, used: now }) {
        m.by_use.remove(&old.used);
        m.values -= old.values;
    }
    m.by_use.insert(now, key);
    m.values += values;
    while m.values > MEMO_VALUES {
        let Some((_, oldest)) = m.by_use.pop_first() else { break };
        if let Some(e) = m.entries.remove(&oldest) {
            m.values -= e.values;
        }
    }
}
