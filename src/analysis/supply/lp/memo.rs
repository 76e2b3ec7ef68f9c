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
//!
//! Behind the memo, a [`PieceStore`] the caller gives ([`with_store`]: the pipeline's is the
//! workspace's `cache/lp-pieces/` folder) keeps pieces across processes, so a scenario reuses
//! what the nightly supply review solved. Its key starts with the hash of this folder's source
//! and `Cargo.lock` (HiGHS's version), so a build that could solve a piece differently never
//! reads another build's entry; an entry is read back only whole (its SHA-256), else solved
//! again. The analysis does no I/O itself: the store is the caller's.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::{Lever, Problem, Solution};

/// The plan values (every quantity of the stored plans) the memo keeps at most: 32 M values,
/// 256 MB. At 1/10 of the benchmark company a whole plan and its least-cost stage are about
/// 1.6 M values (so about 20 whole plans fit); at 1/1 about 10 times that.
pub const MEMO_VALUES: usize = 32 << 20;

/// A piece's key: the SHA-256 of the code that solves it and of its inputs.
pub type PieceKey = [u8; 32];
type Key = PieceKey;

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
///
/// Every field of the problem is written (the pattern names them all: a field added is a
/// compile error here until it is keyed), except the suppliers the piece neither buys from nor
/// has open orders of: a piece carries the whole list, and the linear program reads a supplier
/// only through its options and open orders (`model.rs`), so a supplier lost for a window does
/// not change the key of a piece that never buys from it. Those are written as their index.
pub(super) fn key(p: &Problem, forbid: &BTreeSet<Lever>, at_most: usize) -> Key {
    let Problem { months, frozen_months, items, resources, components, suppliers, bom, demand, rule } = p;
    let mut read = vec![false; suppliers.len()];
    for c in components {
        for s in c.options.iter().map(|o| o.supplier).chain(c.open_pos.iter().map(|po| po.supplier)) {
            if let Some(r) = read.get_mut(s) {
                *r = true;
            }
        }
    }
    let mut h = Hashing(Sha256::new());
    h.0.update(code_hash());
    // Writing into the hash cannot fail.
    let _ = write!(h, "{months:?}\u{0}{frozen_months}\u{0}{items:?}\u{0}{resources:?}\u{0}{components:?}\u{0}");
    for (k, s) in suppliers.iter().enumerate() {
        let _ = if read[k] { write!(h, "{s:?}\u{0}") } else { write!(h, "{k}\u{0}") };
    }
    let _ = write!(h, "\u{1}{bom:?}\u{0}{demand:?}\u{0}{rule:?}\u{0}{forbid:?}\u{0}{at_most}");
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

/// The solve stored under `key`, if any (and it is now the most recently used): in this
/// process's memo, else in the thread's store ([`with_store`]), whose entry joins the memo.
pub(super) fn get(key: &Key) -> Option<Solved> {
    if let Some(hit) = get_memory(key) {
        counted(|r| r.memory += 1);
        return Some(hit);
    }
    let store = store()?;
    let bytes = store.load(key)?;
    match decode(key, &bytes) {
        Some(solved) => {
            counted(|r| r.disk += 1);
            let solved = Arc::new(solved);
            put_memory(*key, solved.clone());
            Some(solved)
        }
        None => {
            counted(|r| r.corrupt += 1);
            tracing::warn!(key = hex::encode(key), "a stored piece of the supply plan did not read back: solved again");
            store.discard(key);
            None
        }
    }
}

/// As [`get`], not counted as a piece of this plan: a scenario's cut reads the base plan's
/// pieces to place what the scenario changes (`split::with_base`).
pub(super) fn peek(key: &Key) -> Option<Solved> {
    if let Some(hit) = get_memory(key) {
        return Some(hit);
    }
    let solved = Arc::new(decode(key, &store()?.load(key)?)?);
    put_memory(*key, solved.clone());
    Some(solved)
}

fn get_memory(key: &Key) -> Option<Solved> {
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

/// Stores a solve under `key`: in this process's memo and the thread's store, if any.
pub(super) fn put(key: Key, solved: Solved) {
    counted(|r| r.solved += 1);
    if let Some(store) = store() {
        let _span = tracing::debug_span!("lp.memo.save").entered();
        store.save(&key, &encode(&key, &solved));
    }
    put_memory(key, solved);
}

/// Keeps a solve in this process's memo, dropping the entries used longest ago past
/// [`MEMO_VALUES`].
fn put_memory(key: Key, solved: Solved) {
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

/// Drops `keys` from this process's memo (as a new process starts without them).
#[cfg(test)]
pub(super) fn forget(keys: &[Key]) {
    let mut m = lock();
    for k in keys {
        if let Some(e) = m.entries.remove(k) {
            m.by_use.remove(&e.used);
            m.values -= e.values;
        }
    }
}

/// The code a piece's plan comes from: every file of this folder (the linear program, its
/// stages, the cut, HiGHS's options, this encoding) and `Cargo.lock` (HiGHS's version). A
/// piece's key starts with their hash, so a change to any of them gives new keys: a plan kept
/// on disk by an older build is never read by a newer one (`every_file_of_the_folder_is_hashed`
/// checks the list against the folder).
const SOURCES: &[(&str, &str)] = &[
    ("arrays.rs", include_str!("arrays.rs")),
    ("check.rs", include_str!("check.rs")),
    ("inputs.rs", include_str!("inputs.rs")),
    ("memo.rs", include_str!("memo.rs")),
    ("mod.rs", include_str!("mod.rs")),
    ("model.rs", include_str!("model.rs")),
    ("split.rs", include_str!("split.rs")),
    ("tests.rs", include_str!("tests.rs")),
    ("Cargo.lock", include_str!("../../../../Cargo.lock")),
];

/// The hash of [`SOURCES`], computed once.
fn code_hash() -> &'static [u8; 32] {
    static HASH: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_of(SOURCES))
}

/// The hash of named texts: each name and text with its length, so no two lists hash alike by
/// moving bytes from one text to the next.
fn hash_of(sources: &[(&str, &str)]) -> [u8; 32] {
    let mut h = Sha256::new();
    for (name, text) in sources {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    h.finalize().into()
}

/// Where solved pieces outlive the process (the pipeline gives one for the workspace's
/// `cache/lp-pieces/`, [`with_store`]): bytes by key, as [`encode`] writes them. Neither call
/// may fail the plan: a store that cannot read or write says so its own way and answers `None`.
pub trait PieceStore: Send + Sync {
    /// The bytes stored under `key`, if any.
    fn load(&self, key: &PieceKey) -> Option<Vec<u8>>;
    /// Keeps `bytes` under `key`.
    fn save(&self, key: &PieceKey, bytes: &[u8]);
    /// The entry under `key` did not read back (a bad checksum, cut short): drop it.
    fn discard(&self, _key: &PieceKey) {}
}

/// Pieces of the plans made on this thread, by where each came from (see [`with_store`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reuse {
    /// Taken from this process's memo.
    pub memory: usize,
    /// Read from the store (solved by an earlier process).
    pub disk: usize,
    /// Solved (in neither).
    pub solved: usize,
    /// Entries of the store that did not read back (ignored, solved again).
    pub corrupt: usize,
}

thread_local! {
    static STORE: std::cell::RefCell<Option<Arc<dyn PieceStore>>> = const { std::cell::RefCell::new(None) };
    static REUSE: std::cell::Cell<Reuse> = const { std::cell::Cell::new(Reuse { memory: 0, disk: 0, solved: 0, corrupt: 0 }) };
}

/// Runs `f` with `store` behind this process's memo on this thread (the supply optimiser solves
/// on its caller's thread): a piece the memo does not hold is read from the store, and a piece
/// solved is written to it. Returns `f`'s result and where its pieces came from. The memo stays
/// exact: an entry is keyed by everything its solve reads and by the code's hash, and is read
/// back only whole (its checksum), else solved again.
pub fn with_store<R>(store: Option<Arc<dyn PieceStore>>, f: impl FnOnce() -> R) -> (R, Reuse) {
    struct Restore(Option<Arc<dyn PieceStore>>, Reuse);
    impl Drop for Restore {
        fn drop(&mut self) {
            STORE.with(|s| *s.borrow_mut() = self.0.take());
            REUSE.with(|r| r.set(self.1));
        }
    }
    let before = STORE.with(|s| std::mem::replace(&mut *s.borrow_mut(), store));
    let _restore = Restore(before, REUSE.with(|r| r.replace(Reuse::default())));
    let out = f();
    (out, REUSE.with(|r| r.get()))
}

fn counted(f: impl FnOnce(&mut Reuse)) {
    REUSE.with(|r| {
        let mut v = r.get();
        f(&mut v);
        r.set(v);
    });
}

fn store() -> Option<Arc<dyn PieceStore>> {
    STORE.with(|s| s.borrow().clone())
}

const MAGIC: &[u8; 8] = b"snoplp1\0";

/// A solve as bytes: the magic, the key, the body's length and SHA-256, then the body (each
/// plan's cost by kind and every quantity, little-endian IEEE bits with their vectors'
/// lengths): a plan read back is the plan written, to the bit.
pub fn encode(key: &PieceKey, solved: &(Solution, Solution)) -> Vec<u8> {
    let mut body = Vec::with_capacity(8 * (values(&solved.0) + values(&solved.1) + 64));
    for s in [&solved.0, &solved.1] {
        let c = &s.cost;
        for v in [
            c.overtime_money,
            c.holding_money,
            c.routing_premium_money,
            c.purchase_premium_money,
            c.expedite_money,
            c.lost_margin_money,
        ] {
            body.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        put3(&mut body, &s.production);
        put2(&mut body, &s.overtime);
        put2(&mut body, &s.item_stock);
        put2(&mut body, &s.component_stock);
        put3(&mut body, &s.purchases);
        put3(&mut body, &s.expedites);
        put1(&mut body, &s.served);
    }
    let mut out = Vec::with_capacity(body.len() + 80);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(key);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(&body));
    out.extend_from_slice(&body);
    out
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u64).to_le_bytes());
}

fn put1(out: &mut Vec<u8>, v: &[f64]) {
    put_len(out, v.len());
    for x in v {
        out.extend_from_slice(&x.to_bits().to_le_bytes());
    }
}

fn put2(out: &mut Vec<u8>, v: &[Vec<f64>]) {
    put_len(out, v.len());
    v.iter().for_each(|x| put1(out, x));
}

fn put3(out: &mut Vec<u8>, v: &[Vec<Vec<f64>>]) {
    put_len(out, v.len());
    v.iter().for_each(|x| put2(out, x));
}

/// Reads what [`encode`] wrote under `key`; `None` for anything else (another key, a wrong
/// checksum, cut short, bytes left over).
pub fn decode(key: &PieceKey, bytes: &[u8]) -> Option<(Solution, Solution)> {
    let head = 8 + 32 + 8 + 32;
    if bytes.len() < head || &bytes[..8] != MAGIC || &bytes[8..40] != key {
        return None;
    }
    let len = u64::from_le_bytes(bytes[40..48].try_into().ok()?);
    let body = &bytes[head..];
    if len != body.len() as u64 || Sha256::digest(body).as_slice() != &bytes[48..80] {
        return None;
    }
    let mut r = Reader(body);
    let mut one = || -> Option<Solution> {
        let mut c = [0.0; 6];
        for v in &mut c {
            *v = r.f64()?;
        }
        let cost = super::Cost {
            overtime_money: c[0],
            holding_money: c[1],
            routing_premium_money: c[2],
            purchase_premium_money: c[3],
            expedite_money: c[4],
            lost_margin_money: c[5],
        };
        Some(Solution {
            cost,
            production: r.v3()?,
            overtime: r.v2()?,
            item_stock: r.v2()?,
            component_stock: r.v2()?,
            purchases: r.v3()?,
            expedites: r.v3()?,
            served: r.v1()?,
        })
    };
    let plan = one()?;
    let first = one()?;
    r.0.is_empty().then_some((plan, first))
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u64(&mut self) -> Option<u64> {
        let (b, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some(u64::from_le_bytes(*b))
    }
    fn f64(&mut self) -> Option<f64> {
        self.u64().map(f64::from_bits)
    }
    /// A length no larger than what is left could hold (so a bad one allocates nothing).
    fn len(&mut self, each: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n.checked_mul(each)? <= self.0.len()).then_some(n)
    }
    fn v1(&mut self) -> Option<Vec<f64>> {
        let n = self.len(8)?;
        (0..n).map(|_| self.f64()).collect()
    }
    fn v2(&mut self) -> Option<Vec<Vec<f64>>> {
        let n = self.len(8)?;
        (0..n).map(|_| self.v1()).collect()
    }
    fn v3(&mut self) -> Option<Vec<Vec<Vec<f64>>>> {
        let n = self.len(8)?;
        (0..n).map(|_| self.v2()).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::super::split::{self, SplitOptions};
    use super::super::*;
    use super::*;

    /// A store in memory, as the pipeline's folder would keep the bytes.
    #[derive(Default)]
    struct Bytes(Mutex<BTreeMap<PieceKey, Vec<u8>>>);

    impl PieceStore for Bytes {
        fn load(&self, key: &PieceKey) -> Option<Vec<u8>> {
            self.0.lock().unwrap().get(key).cloned()
        }
        fn save(&self, key: &PieceKey, bytes: &[u8]) {
            self.0.lock().unwrap().insert(*key, bytes.to_vec());
        }
        fn discard(&self, key: &PieceKey) {
            self.0.lock().unwrap().remove(key);
        }
    }

    impl Bytes {
        fn keys(&self) -> Vec<PieceKey> {
            self.0.lock().unwrap().keys().copied().collect()
        }
    }

    /// Independent pieces over three months, one per `(regular hours, demand in month 1,
    /// margin)`: a line with 20 h of overtime at 3 an hour, an item made on it (holding 0.5)
    /// of one component bought at lead time 1 (stock 40), the demand in month 1.
    fn pieces(each: &[(f64, f64, f64)]) -> Problem {
        let mut p = Problem {
            months: vec!["2027-01".into(), "2027-02".into(), "2027-03".into()],
            frozen_months: 0,
            items: Vec::new(),
            resources: Vec::new(),
            components: Vec::new(),
            suppliers: vec![Supplier::new("S1", 0.9)],
            bom: Vec::new(),
            demand: Vec::new(),
            rule: AllocationRule::CostFirst,
        };
        for (k, &(hours, qty, margin)) in each.iter().enumerate() {
            let month =
                ResourceMonth { regular_hours: hours, overtime_ceiling_hours: 20.0, overtime_cost_per_hour: 3.0 };
            p.resources.push(Resource {
                name: format!("L{k}"),
                site: "A".into(),
                kind: "line".into(),
                months: vec![month; 3],
            });
            p.items.push(Item {
                name: format!("FG{k}"),
                site: "A".into(),
                unit_cost: 10.0,
                opening_stock: 0.0,
                safety_stock: 0.0,
                holding_cost_per_month: 0.5,
                routings: vec![Routing {
                    label: "A".into(),
                    premium_per_unit: 0.0,
                    operations: vec![Operation { resource: k, hours_per_unit: 1.0 }],
                }],
            });
            p.components.push(Component {
                name: format!("RM{k}"),
                unit_cost: 2.0,
                opening_stock: 40.0,
                safety_stock: 0.0,
                holding_cost_per_month: 0.1,
                open_pos: Vec::new(),
                options: vec![SupplierOption {
                    supplier: 0,
                    unit_cost: 2.5,
                    lead_time_months: 1,
                    min_order_qty: 0.0,
                    can_expedite: false,
                    expedite_premium_per_unit: 0.0,
                    expedite_lead_time_months: 1,
                }],
            });
            p.bom.push(BomEdge { parent: k, child: Part::Component(k), qty_per: 1.0 });
            p.demand.push(DemandLine {
                item: k,
                customer: "K1".into(),
                priority: 1,
                month: 1,
                qty,
                unit_price: 30.0,
                unit_margin: margin,
            });
        }
        p
    }

    fn plan(p: &Problem, store: &Arc<Bytes>) -> (Solution, Reuse) {
        let store: Arc<dyn PieceStore> = store.clone();
        let (s, reuse) = with_store(Some(store), || {
            solve_with_memo(p, &BTreeSet::new(), usize::MAX, SplitOptions::default(), true).unwrap().0
        });
        (s, reuse)
    }

    /// The plan as bytes: every value's bits.
    fn bits(s: &Solution) -> Vec<u8> {
        encode(&[0; 32], &(s.clone(), s.clone()))
    }

    /// Every file of the optimiser's folder is in the code's hash: a file added there and not
    /// to [`SOURCES`] would let a change to it read plans an older build solved.
    #[test]
    fn every_file_of_the_folder_is_hashed() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/analysis/supply/lp");
        let mut files: Vec<String> =
            fs_err::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        files.sort();
        let mut hashed: Vec<String> = SOURCES.iter().map(|s| s.0.to_string()).filter(|n| n != "Cargo.lock").collect();
        hashed.sort();
        assert_eq!(files, hashed);
        assert!(SOURCES.iter().any(|s| s.0 == "Cargo.lock" && s.1.contains("name = \"highs-sys\"")));
        // The hash is over the texts: one byte more in any of them, or a byte moved from one
        // text to the next, gives another.
        assert_eq!(&hash_of(SOURCES), code_hash());
        for k in 0..SOURCES.len() {
            let mut changed: Vec<(&str, String)> = SOURCES.iter().map(|(n, t)| (*n, t.to_string())).collect();
            changed[k].1.push(' ');
            let changed: Vec<(&str, &str)> = changed.iter().map(|(n, t)| (*n, t.as_str())).collect();
            assert_ne!(&hash_of(&changed), code_hash(), "{}", SOURCES[k].0);
        }
        assert_ne!(hash_of(&[("a", "bc"), ("d", "e")]), hash_of(&[("a", "b"), ("d", "ce")]));
    }

    /// A plan written and read back is the plan to the bit, negative zero, the smallest
    /// subnormal and a NaN's payload included; another key, any byte changed, the entry cut
    /// short or grown read as nothing.
    #[test]
    fn an_entry_reads_back_whole_or_not_at_all() {
        let mut s = Solution {
            cost: Cost { overtime_money: 90.0, lost_margin_money: -0.0, ..Cost::default() },
            production: vec![vec![vec![1.5, f64::from_bits(1)], vec![]], vec![]],
            overtime: vec![vec![30.0, 0.1 + 0.2]],
            item_stock: vec![vec![]],
            component_stock: vec![],
            purchases: vec![vec![vec![f64::from_bits(0x7ff8_0000_0000_0001)]]],
            expedites: vec![],
            served: vec![130.0, 1e-300],
        };
        let key = [7u8; 32];
        let bytes = encode(&key, &(s.clone(), s.clone()));
        let (a, b) = decode(&key, &bytes).unwrap();
        assert_eq!(encode(&key, &(a.clone(), b)), bytes);
        assert_eq!(a.purchases[0][0][0].to_bits(), 0x7ff8_0000_0000_0001);
        assert_eq!(a.cost.lost_margin_money.to_bits(), (-0.0f64).to_bits());
        s.purchases.clear();
        assert_eq!(decode(&key, &encode(&key, &(s.clone(), s.clone()))), Some((s.clone(), s)));
        assert_eq!(decode(&[8u8; 32], &bytes), None, "another key");
        for cut in 0..bytes.len() {
            assert_eq!(decode(&key, &bytes[..cut]), None, "cut at {cut}");
        }
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert_eq!(decode(&key, &bad), None, "byte {at} changed");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&key, &longer), None);
    }

    /// A later process's plan from the stored pieces is the plan solved again, to the bit. Three
    /// pieces (lines of 100, 100 and 90 hours; 130, 120 and 95 units wanted in month 1 at margins
    /// 11, 11 and 9): planned with the store, the memo then forgets them (as a new process
    /// starts), and the same plan comes from the store with nothing solved; then line 0 gets 30
    /// hours more (a Saturday shift): only its piece is solved, the other two are read back.
    #[test]
    fn a_plan_from_the_store_is_the_plan_solved_again() {
        let store = Arc::new(Bytes::default());
        let p = pieces(&[(100.0, 130.0, 11.0), (100.0, 120.0, 11.0), (90.0, 95.0, 9.0)]);
        assert_eq!(split::split(&p, SplitOptions::default()).pieces.len(), 3);
        let fresh = solve_with_memo(&p, &BTreeSet::new(), usize::MAX, SplitOptions::default(), false).unwrap().0;
        let (first, _) = plan(&p, &store);
        assert_eq!(store.keys().len(), 3);
        forget(&store.keys());
        let (again, reuse) = plan(&p, &store);
        assert_eq!(reuse, Reuse { memory: 0, disk: 3, solved: 0, corrupt: 0 });
        assert_eq!((bits(&again), bits(&first)), (bits(&fresh), bits(&fresh)));
        // Line 0's 130 units fit its 200 regular hours of months 0 and 1 (30 built ahead at
        // 0.5 a month is cheaper than 30 h of overtime at 3, or losing 11 a unit): all served.
        close(again.served[0], 130.0);
        close(again.overtime[0][1], 0.0);
        let mut shift = p.clone();
        for m in &mut shift.resources[0].months {
            m.regular_hours += 30.0;
        }
        forget(&store.keys());
        let (shifted, reuse) = plan(&shift, &store);
        assert_eq!(reuse, Reuse { memory: 0, disk: 2, solved: 1, corrupt: 0 });
        // With 130 h in month 1 nothing is built ahead: the holding cost is gone.
        close(shifted.served[0], 130.0);
        close(shifted.item_stock[0][0], 0.0);
        close(again.item_stock[0][0], 30.0);
        let fresh = solve_with_memo(&shift, &BTreeSet::new(), usize::MAX, SplitOptions::default(), false).unwrap().0;
        assert_eq!(bits(&shifted), bits(&fresh));
    }

    /// A stored entry that does not read back (its body changed on disk) is ignored and
    /// dropped, the piece solved again: the plan is the same.
    #[test]
    fn a_damaged_entry_is_solved_again() {
        let store = Arc::new(Bytes::default());
        let p = pieces(&[(80.0, 100.0, 12.5), (70.0, 60.0, 7.25)]);
        let (first, _) = plan(&p, &store);
        let keys = store.keys();
        let damaged = keys[0];
        store.0.lock().unwrap().get_mut(&damaged).unwrap().truncate(100);
        forget(&keys);
        let (again, reuse) = plan(&p, &store);
        assert_eq!(reuse, Reuse { memory: 0, disk: 1, solved: 1, corrupt: 1 });
        assert_eq!(bits(&again), bits(&first));
        // Solved again, it is stored again, whole.
        let bytes = store.load(&damaged).unwrap();
        assert!(decode(&damaged, &bytes).is_some());
    }

    /// A supplier lost for a window changes the key of the pieces that buy from it and of no
    /// other: piece 0 buys its component from supplier 0, piece 1 from supplier 1.
    #[test]
    fn a_supplier_window_changes_only_the_pieces_that_buy_from_it() {
        let mut p = pieces(&[(100.0, 130.0, 11.0), (100.0, 120.0, 11.0)]);
        p.suppliers.push(Supplier::new("S2", 0.8));
        p.components[1].options[0].supplier = 1;
        let none = BTreeSet::new();
        let keys = |p: &Problem| -> Vec<PieceKey> {
            split::split(p, SplitOptions::default()).pieces.iter().map(|pc| key(&pc.problem, &none, 3)).collect()
        };
        let before = keys(&p);
        let mut lost = p.clone();
        assert!(lost.close_supplier("S1", 1, 2));
        let after = keys(&lost);
        assert_eq!(before.len(), 2);
        assert_ne!(before[0], after[0], "piece 0 buys from S1");
        assert_eq!(before[1], after[1], "piece 1 never does");
        // An open order of S1 in piece 1 makes S1 part of its key again.
        let mut po = lost.clone();
        po.components[1].open_pos.push(OpenPo { month: 1, qty: 5.0, supplier: 0 });
        let mut po_before = p.clone();
        po_before.components[1].open_pos.push(OpenPo { month: 1, qty: 5.0, supplier: 0 });
        assert_ne!(keys(&po)[1], keys(&po_before)[1]);
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-6, "{a} != {b}");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

        /// Random pieces: the plan read back from the store (the memo forgotten) is the plan
        /// solved afresh, to the bit, and nothing is solved.
        #[test]
        fn stored_pieces_give_the_solved_plan(
            each in proptest::collection::vec((40.0f64..150.0, 0.0f64..200.0, 0.5f64..20.0), 1..5),
        ) {
            let store = Arc::new(Bytes::default());
            let p = pieces(&each);
            plan(&p, &store);
            forget(&store.keys());
            let (again, reuse) = plan(&p, &store);
            prop_assert_eq!(reuse.solved, 0);
            prop_assert_eq!(reuse.disk, store.keys().len());
            let fresh = solve_with_memo(&p, &BTreeSet::new(), usize::MAX, SplitOptions::default(), false).unwrap().0;
            prop_assert_eq!(bits(&again), bits(&fresh));
        }
    }
}
