use std::time::{Duration, SystemTime};

use super::*;

fn key(n: u8) -> PieceKey {
    [n; 32]
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn aged(dir: &Path, n: u8, seconds_ago: u64) {
    let path = dir.join(format!("{}.piece", hex::encode(key(n))));
    let f = fs_err::OpenOptions::new().append(true).open(path).unwrap();
    f.file().set_modified(SystemTime::now() - Duration::from_secs(seconds_ago)).unwrap();
}

/// An entry is written under its key's name, read back as written, and no temporary file is
/// left; a key never written reads as nothing.
#[test]
fn an_entry_is_kept_under_its_key() {
    let tmp = tempfile::tempdir().unwrap();
    let store = DiskPieces::new(tmp.path().join(DIR), 1 << 30);
    assert_eq!(store.load(&key(1)), None);
    store.save(&key(1), b"one");
    store.save(&key(2), b"two");
    assert_eq!(store.load(&key(1)).as_deref(), Some(&b"one"[..]));
    assert_eq!(
        entries(&tmp.path().join(DIR)),
        [format!("{}.piece", hex::encode(key(1))), format!("{}.piece", hex::encode(key(2)))]
    );
    store.discard(&key(1));
    assert_eq!(store.load(&key(1)), None);
}

/// Past the cap the entries used longest ago go first, down to 90% of the cap. Four entries of
/// 100 bytes under a cap of 350: writing the fourth makes 400, over it; the goal is 315, so one
/// entry goes: entry 2, the one used longest ago (entry 1 is older but was read since).
#[test]
fn past_its_cap_the_entries_used_longest_ago_go_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(DIR);
    let store = DiskPieces::new(dir.clone(), 350);
    for n in 1..=3 {
        store.save(&key(n), &[n; 100]);
    }
    aged(&dir, 1, 300);
    aged(&dir, 2, 200);
    aged(&dir, 3, 100);
    assert!(store.load(&key(1)).is_some());
    store.save(&key(4), &[4; 100]);
    let left: Vec<bool> = (1..=4).map(|n| store.load(&key(n)).is_some()).collect();
    assert_eq!(left, [true, false, true, true]);
    // A later process counts the folder again: 340 bytes with its own entry, under the cap,
    // nothing goes.
    let later = DiskPieces::new(dir.clone(), 350);
    later.save(&key(5), &[5; 40]);
    assert_eq!(entries(&dir).len(), 4);
}

/// A folder that cannot be written (its parent is a file): saving warns and does nothing,
/// loading finds nothing; a plan through it is solved as without it.
#[test]
fn a_folder_that_cannot_be_written_is_no_error() {
    let tmp = tempfile::tempdir().unwrap();
    fs_err::write(tmp.path().join("cache"), b"not a folder").unwrap();
    let store = DiskPieces::new(tmp.path().join(DIR), 1 << 30);
    store.save(&key(1), b"one");
    assert!(store.warned.load(Ordering::Relaxed));
    assert_eq!(store.load(&key(1)), None);
    let (answer, reuse) = planning(tmp.path(), || 42);
    assert_eq!((answer, reuse), (42, Reuse::default()));
}

/// Eight threads writing and reading the same entry at once: every read is nothing or the
/// whole entry, never a part, and no temporary file is left.
#[test]
fn writers_of_the_same_entry_at_once_never_show_half_of_it() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(DiskPieces::new(tmp.path().join(DIR), 1 << 30));
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..5 {
                    store.save(&key(9), &bytes);
                    let read = store.load(&key(9));
                    assert!(read.is_none_or(|r| r == bytes), "a read saw part of an entry");
                }
            });
        }
    });
    assert_eq!(store.load(&key(9)), Some(bytes));
    assert_eq!(entries(&tmp.path().join(DIR)), [format!("{}.piece", hex::encode(key(9)))]);
}
