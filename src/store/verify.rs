//! `snop audit verify`: the audit chain walked entry by entry; every row the store shows (drafts
//! and their supersession, edits, comments, approvals, signatures, executive decisions and their
//! `done`, the files of drafted runs, users) matched one for one against the entry that recorded
//! it (actor, time, content hash), so no row stands without its entry and no entry without its
//! row; each signature's anchor in the chain; every signed draft against the hash its signatures
//! cover and the run files it stands on; and, against `snop.toml` ([`Store::verify_keys`]), each
//! signer's role and every signature of a person with a public key.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{GENESIS, entry_hash};
use super::signoff::draft_row;
use super::{Store, StoreError, keys};
use crate::draft::{DraftContent, sha256_hex};
use crate::sop::{Artifact, Directory, role_title};

/// What `snop audit verify` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditReport {
    pub entries: i64,
    pub signed_drafts: i64,
    /// The last entry's hash: the chain's end, to compare with one written down earlier.
    pub last_hash: String,
    /// The first problem found, naming the entry or draft; `None` when all is well.
    pub first_problem: Option<String>,
}

/// One audit entry as read back.
struct Entry {
    seq: i64,
    ts: String,
    actor: String,
    action: String,
    entity: String,
    sha: String,
    hash: String,
}

impl Entry {
    fn name(&self) -> String {
        format!("audit entry {} (`{}` of `{}` by `{}` at {})", self.seq, self.action, self.entity, self.actor, self.ts)
    }
}

/// What an entry and the row it recorded have in common: entity, action, actor, time, content
/// hash (a field neither side can say is left empty on both).
type Fact = (String, String, String, String, String);

/// Which kind of row an entry's action records, as a person says it; `None` for an action no
/// row is matched to one for one (a user's later changes, checked by [`users_problem`]).
fn recorded_kind(action: &str) -> Option<&'static str> {
    Some(match action {
        "create" | "new_version" => "draft",
        "supersede" => "supersession",
        "edit" => "edit",
        "comment" => "comment",
        "approve" => "approval",
        "reject" => "rejection",
        "sign" => "signature",
        "decide" | "send_back" => "decision",
        "done" => "decision done",
        "run_files" => "list of run files",
        "user_add" => "user",
        _ => return None,
    })
}

/// An entry as the fact it recorded. A draft's first content is checked along its edits
/// ([`Store::draft_content_problem`]), a run's time is its own, and adding a user names the
/// administrator, whom the user's row does not keep.
fn entry_fact(e: &Entry) -> Fact {
    let (actor, ts, sha) = match e.action.as_str() {
        "create" | "new_version" => (e.actor.as_str(), e.ts.as_str(), ""),
        "run_files" => (e.actor.as_str(), "", e.sha.as_str()),
        "user_add" => ("", e.ts.as_str(), e.sha.as_str()),
        _ => (e.actor.as_str(), e.ts.as_str(), e.sha.as_str()),
    };
    (e.entity.clone(), e.action.clone(), actor.into(), ts.into(), sha.into())
}

fn fact(entity: String, action: &str, actor: &str, ts: &str, sha: &str) -> Fact {
    (entity, action.into(), actor.into(), ts.into(), sha.into())
}

impl Store {
    /// Checks every signature against `snop.toml` (`dir`), which the database cannot change:
    /// the signer holds the role they signed under for that artifact; a person with a public key
    /// signed with it; and every ed25519 signature verifies against the signer's public key (over
    /// the time and the chain's end too, since message version 2). Returns how many signatures
    /// were checked by key and the first problem.
    pub async fn verify_keys(&self, dir: &Directory) -> Result<(i64, Option<String>), StoreError> {
        let rows = sqlx::query(
            "SELECT s.draft_id, s.actor, s.role, s.at, s.content_sha256, s.ed25519, s.audit_count, s.audit_hash,
                d.artifact, d.cycle, d.version
             FROM signatures s JOIN drafts d ON d.id = s.draft_id ORDER BY s.id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut by_key = 0;
        for r in &rows {
            by_key += i64::from(r.get::<Option<String>, _>("ed25519").is_some());
            if let Some(problem) = signature_key_problem(dir, r) {
                return Ok((by_key, Some(problem)));
            }
        }
        Ok((by_key, None))
    }

    /// Checks the audit chain entry by entry, every signed draft against the hash its signatures
    /// cover (and the run files it stands on), every row against the entry that recorded it, and
    /// each signature's anchor in the chain. Names the first problem.
    pub async fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        let rows = sqlx::query("SELECT * FROM audit_log ORDER BY seq").fetch_all(&self.pool).await?;
        let entries = rows.len() as i64;
        let last_hash: String = rows.last().map_or_else(|| GENESIS.to_string(), |r| r.get("hash"));
        let report = |signed_drafts, problem| AuditReport {
            entries,
            signed_drafts,
            last_hash: last_hash.clone(),
            first_problem: Some(problem),
        };
        let chain = match audit_chain(&rows) {
            Ok(chain) => chain,
            Err(problem) => return Ok(report(0, problem)),
        };
        let signed =
            sqlx::query("SELECT * FROM drafts WHERE state = 'signed' ORDER BY id").fetch_all(&self.pool).await?;
        let signed_drafts = signed.len() as i64;
        for r in &signed {
            if let Some(problem) = self.signed_draft_problem(r, &chain).await? {
                return Ok(report(signed_drafts, problem));
            }
        }
        let problem = match self.unmatched_row_or_entry(&chain).await? {
            None => match self.draft_content_problem(&chain).await? {
                None => match self.users_problem(&chain).await? {
                    None => self.anchor_problem(&chain).await?,
                    p => p,
                },
                p => p,
            },
            p => p,
        };
        if let Some(problem) = problem {
            return Ok(report(signed_drafts, problem));
        }
        Ok(AuditReport { entries, signed_drafts, last_hash, first_problem: None })
    }

    /// Every row the store shows, as the fact its entry recorded, with how a person names it.
    async fn row_facts(&self) -> Result<Vec<(Fact, String)>, StoreError> {
        let mut facts = Vec::new();
        for r in sqlx::query("SELECT * FROM drafts ORDER BY id").fetch_all(&self.pool).await? {
            let d = draft_row(&r);
            let entity = format!("draft:{}", d.id);
            let action = if d.created_by.starts_with("agent:") { "create" } else { "new_version" };
            let name = format!("draft {} made by `{}` at {}", d.id, d.created_by, d.created_at);
            facts.push((fact(entity.clone(), action, &d.created_by, &d.created_at, ""), name));
            if d.state == crate::draft::State::Superseded {
                let name = format!("the supersession of draft {} by `{}` at {}", d.id, d.updated_by, d.updated_at);
                facts.push((fact(entity, "supersede", &d.updated_by, &d.updated_at, &d.content_sha256), name));
            }
        }
        let changes = sqlx::query(
            "SELECT 'approval' AS kind, id, draft_id, actor, at, content_sha256 AS sha, decision AS body FROM approvals
             UNION ALL SELECT 'signature', id, draft_id, actor, at, content_sha256, NULL FROM signatures
             UNION ALL SELECT 'edit', id, draft_id, actor, at, after_sha256, NULL FROM edits
             UNION ALL SELECT 'comment', id, draft_id, actor, at, NULL, body FROM comments",
        )
        .fetch_all(&self.pool)
        .await?;
        for c in &changes {
            let (kind, draft_id, actor, at): (String, i64, String, String) =
                (c.get("kind"), c.get("draft_id"), c.get("actor"), c.get("at"));
            let body: Option<String> = c.get("body");
            let (action, sha) = match kind.as_str() {
                "approval" if body.as_deref() == Some("rejected") => ("reject", c.get("sha")),
                "approval" => ("approve", c.get("sha")),
                "signature" => ("sign", c.get("sha")),
                "edit" => ("edit", c.get("sha")),
                _ => ("comment", sha256_hex(body.unwrap_or_default().as_bytes())),
            };
            let name = format!("the {kind} of draft {draft_id} by `{actor}` at {at}");
            facts.push((fact(format!("draft:{draft_id}"), action, &actor, &at, &sha), name));
        }
        for r in sqlx::query("SELECT * FROM decisions ORDER BY id").fetch_all(&self.pool).await? {
            let d = super::decisions::decision_row(&r);
            let action = if r.get::<&str, _>("kind") == "send_back" { "send_back" } else { "decide" };
            let sha = super::decisions::stored_sha(&d);
            let name = format!("decision {} by `{}` at {}", d.id, d.decided_by, d.decided_at);
            facts.push((fact(format!("decision:{}", d.id), action, &d.decided_by, &d.decided_at, &sha), name));
        }
        for r in sqlx::query("SELECT * FROM decision_done ORDER BY id").fetch_all(&self.pool).await? {
            let (decision, actor, at, note): (i64, String, String, Option<String>) =
                (r.get("decision_id"), r.get("done_by"), r.get("done_at"), r.get("note"));
            let sha = super::decisions::done_sha(decision, &actor, note.as_deref());
            let name = format!("decision {decision} said done by `{actor}` at {at}");
            facts.push((fact(format!("decision:{decision}"), "done", &actor, &at, &sha), name));
        }
        let runs = sqlx::query("SELECT id, agent, files_sha256 FROM runs WHERE files_sha256 IS NOT NULL ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        for r in &runs {
            let (id, agent, files): (i64, String, String) = (r.get("id"), r.get("agent"), r.get("files_sha256"));
            let name = format!("the list of files of run {id}");
            facts.push((
                fact(format!("run:{id}"), "run_files", &format!("agent:{agent}"), "", &sha256_hex(files.as_bytes())),
                name,
            ));
        }
        for r in sqlx::query("SELECT person, created_at FROM users ORDER BY person").fetch_all(&self.pool).await? {
            let (person, at): (String, String) = (r.get("person"), r.get("created_at"));
            let name = format!("the user `{person}` added at {at}");
            facts.push((fact(format!("user:{person}"), "user_add", "", &at, &sha256_hex(person.as_bytes())), name));
        }
        Ok(facts)
    }

    /// Rows and entries matched one for one (as multisets): the first row without its entry (a
    /// log cut short, an entry removed, or the row changed: its signer, time or content), else
    /// the first entry without its row (the row deleted or changed).
    async fn unmatched_row_or_entry(&self, chain: &[Entry]) -> Result<Option<String>, StoreError> {
        let mut unmatched: BTreeMap<Fact, Vec<&Entry>> = BTreeMap::new();
        for e in chain {
            if recorded_kind(&e.action).is_some() {
                unmatched.entry(entry_fact(e)).or_default().push(e);
            } else if !e.entity.starts_with("user:") {
                return Ok(Some(format!("{}: snop records no such change: the entry was forged", e.name())));
            }
        }
        for (f, name) in self.row_facts().await? {
            if unmatched.get_mut(&f).and_then(Vec::pop).is_none() {
                let why = match f.1.as_str() {
                    "decide" | "send_back" | "done" => {
                        "has no audit entry over its content: the log was cut or the row changed"
                    }
                    _ => "has no audit entry: the log was cut or an entry removed, or the row was changed",
                };
                return Ok(Some(format!("{name} {why}")));
            }
        }
        let mut left: Vec<&Entry> = unmatched.into_values().flatten().collect();
        left.sort_by_key(|e| e.seq);
        Ok(left.first().map(|e| {
            let kind = recorded_kind(&e.action).unwrap_or("change");
            format!("{}: the store shows no {kind} it recorded: the row was deleted or changed", e.name())
        }))
    }

    /// Each draft's content against its stored hash, and that hash against the last content its
    /// audit entries made (when made, or by the last edit): an unsigned draft changed is caught.
    async fn draft_content_problem(&self, chain: &[Entry]) -> Result<Option<String>, StoreError> {
        let mut made: BTreeMap<&str, &Entry> = BTreeMap::new();
        for e in chain.iter().filter(|e| matches!(e.action.as_str(), "create" | "new_version" | "edit")) {
            made.insert(&e.entity, e);
        }
        for r in sqlx::query("SELECT * FROM drafts ORDER BY id").fetch_all(&self.pool).await? {
            let d = draft_row(&r);
            let content: String = r.get("content");
            let name = format!("draft {} ({} {} version {})", d.id, d.artifact, d.cycle, d.version);
            if sha256_hex(content.as_bytes()) != d.content_sha256 {
                return Ok(Some(format!(
                    "{name}: its content no longer matches its stored hash: the content was changed"
                )));
            }
            if let Some(e) = made.get(format!("draft:{}", d.id).as_str())
                && e.sha != d.content_sha256
            {
                return Ok(Some(format!(
                    "{name}: its content is not what {} made it: the content was changed",
                    e.name()
                )));
            }
        }
        Ok(None)
    }

    /// Each user's row against its entries: the last change (added, disabled, password reset)
    /// at the row's time and a disabled user disabled by it, a lock recorded, and no entry about
    /// a user without a row.
    async fn users_problem(&self, chain: &[Entry]) -> Result<Option<String>, StoreError> {
        let users = sqlx::query("SELECT * FROM users ORDER BY person").fetch_all(&self.pool).await?;
        let mut by_user: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
        for e in chain.iter().filter(|e| e.entity.starts_with("user:")) {
            by_user.entry(&e.entity["user:".len()..]).or_default().push(e);
        }
        for r in &users {
            let (person, updated_at, locked): (String, String, Option<String>) =
                (r.get("person"), r.get("updated_at"), r.get("locked_until"));
            let disabled = r.get::<i64, _>("disabled") != 0;
            let entries = by_user.remove(person.as_str()).unwrap_or_default();
            let last = entries.iter().rev().find(|e| e.action != "user_lock");
            let name = format!("the user `{person}`");
            if last.is_none_or(|e| e.ts != updated_at || (e.action == "user_disable") != disabled) {
                let state = if disabled { "disabled" } else { "enabled" };
                return Ok(Some(format!(
                    "{name} ({state}, changed at {updated_at}) is not as its last audit entry left it: the log was cut or the row changed"
                )));
            }
            if let Some(until) = locked
                && !entries.iter().any(|e| e.action == "user_lock" && e.sha == sha256_hex(until.as_bytes()))
            {
                return Ok(Some(format!(
                    "{name} is locked until {until} with no audit entry recording the lock: the log was cut or the row changed"
                )));
            }
        }
        Ok(by_user
            .into_values()
            .flatten()
            .min_by_key(|e| e.seq)
            .map(|e| format!("{}: that user has no login in the store: the user was deleted", e.name())))
    }

    /// Each signature's anchor: the chain had `audit_count` entries ending in `audit_hash` when
    /// it was made, and its own entry comes next. Only signatures made before this version have
    /// none: not one made after an anchored one, nor after the first list of run files (which
    /// this version began to record).
    async fn anchor_problem(&self, chain: &[Entry]) -> Result<Option<String>, StoreError> {
        let sigs = sqlx::query("SELECT draft_id, actor, at, audit_count, audit_hash FROM signatures ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        let this_version = chain.iter().find(|e| e.action == "run_files").map(|e| e.seq);
        let mut anchored = false;
        for r in &sigs {
            let (draft_id, actor, at): (i64, String, String) = (r.get("draft_id"), r.get("actor"), r.get("at"));
            let (count, hash): (Option<i64>, Option<String>) = (r.get("audit_count"), r.get("audit_hash"));
            let name = format!("the signature of draft {draft_id} by `{actor}` at {at}");
            let (Some(count), Some(hash)) = (count, hash) else {
                let entity = format!("draft:{draft_id}");
                let own =
                    chain.iter().find(|e| e.action == "sign" && e.entity == entity && e.actor == actor && e.ts == at);
                if anchored || own.zip(this_version).is_some_and(|(e, since)| e.seq > since) {
                    return Ok(Some(format!(
                        "{name} has lost its anchor in the audit log (the entry count and hash it was made at): the row was changed"
                    )));
                }
                continue;
            };
            anchored = true;
            let at_count = match count {
                0 => Some(GENESIS),
                n => usize::try_from(n - 1).ok().and_then(|i| chain.get(i)).map(|e| e.hash.as_str()),
            };
            let own = usize::try_from(count).ok().and_then(|i| chain.get(i));
            let own_ok = own.is_some_and(|e| {
                e.action == "sign" && e.entity == format!("draft:{draft_id}") && e.actor == actor && e.ts == at
            });
            if at_count != Some(hash.as_str()) || !own_ok {
                return Ok(Some(format!(
                    "{name} was made when the audit log had {count} entries ending in {hash}, followed by its own: the log no longer reads so: it was rewritten or cut"
                )));
            }
        }
        Ok(None)
    }

    /// What is wrong with a signed draft, if anything: its content against its hash and its
    /// signatures, the signatures its artifact needs, the audit entry of its signature, and the
    /// run files it stands on.
    async fn signed_draft_problem(&self, r: &AnyRow, chain: &[Entry]) -> Result<Option<String>, StoreError> {
        let row = draft_row(r);
        let content: String = r.get("content");
        let name = format!("draft {} ({} {} version {})", row.id, row.artifact, row.cycle, row.version);
        let actual = sha256_hex(content.as_bytes());
        let sigs = self.signatures(row.id).await?;
        let entity = format!("draft:{}", row.id);
        let problem = if actual != row.content_sha256 {
            Some(format!("{name}: its content no longer matches its stored hash: the signed content was changed"))
        } else if sigs.is_empty() {
            Some(format!("{name}: it is marked signed but has no signature"))
        } else if let Some(s) = sigs.last().filter(|s| s.content_sha256 != actual) {
            // The last signature is the one that made it signed: it covers this content.
            // (Earlier ones may cover content an edit replaced before signing was complete.)
            Some(format!(
                "{name}: it does not match the hash {} signed by `{}` at {}: the signed content was changed",
                s.content_sha256, s.actor, s.at
            ))
        } else if let Some(missing) = Artifact::from_key(&row.artifact).and_then(|a| {
            let roles: Vec<&str> = a.signer_roles().to_vec();
            let signed_now = |r: &str| sigs.iter().any(|s| s.role == r && s.content_sha256 == actual);
            if a.needs_every_signer() {
                roles.into_iter().find(|r| !signed_now(r))
            } else {
                (!roles.iter().any(|r| signed_now(r))).then_some(roles[0])
            }
        }) {
            Some(format!(
                "{name}: it is marked signed but lacks the {}'s signature over its content",
                role_title(missing)
            ))
        } else if !chain.iter().any(|e| e.entity == entity && e.action == "sign" && e.sha == actual) {
            Some(format!("{name}: no audit entry records its signature over this content"))
        } else {
            match serde_json::from_str::<DraftContent>(&content) {
                Err(e) => Some(format!("{name}: its content does not read: {e}")),
                Ok(c) => self.run_files_problem(&name, row.run_id, &c).await?,
            }
        };
        Ok(problem)
    }

    /// The files a signed draft's run keeps: those its content names, and every file of the run
    /// as the store listed them when it recorded the run (the pages, `report.json`, the
    /// quarantine), each with its hash.
    async fn run_files_problem(&self, name: &str, run_id: i64, c: &DraftContent) -> Result<Option<String>, StoreError> {
        let run = sqlx::query("SELECT folder, files_sha256 FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
        let folder: String = run.as_ref().map(|r| r.get("folder")).unwrap_or_default();
        let listed: Option<String> = run.as_ref().and_then(|r| r.get("files_sha256"));
        let mut files: Vec<(String, String)> = c.files.iter().map(|(f, s)| (f.clone(), s.clone())).collect();
        if let Some(listed) = listed {
            let listed: BTreeMap<String, String> =
                serde_json::from_str(&listed).map_err(|e| StoreError::Query(sqlx::Error::Decode(Box::new(e))))?;
            files.extend(listed);
        }
        let folder = self.root.join(folder);
        Ok(files.iter().find_map(|(file, sha)| {
            let path = folder.join(file);
            match fs_err::read(&path) {
                Ok(bytes) if sha256_hex(&bytes) == *sha => None,
                Ok(_) => Some(format!("{name}: the run file `{}` was changed after it was signed", path.display())),
                Err(_) => Some(format!("{name}: the run file `{}` it was signed with is missing", path.display())),
            }
        }))
    }
}

/// What is wrong with one signature against `snop.toml`, if anything.
fn signature_key_problem(dir: &Directory, r: &AnyRow) -> Option<String> {
    let (draft_id, actor, role, at): (i64, String, String, String) =
        (r.get("draft_id"), r.get("actor"), r.get("role"), r.get("at"));
    let artifact: String = r.get("artifact");
    let name = format!("the signature of draft {draft_id} by `{actor}` at {at}");
    let signs_for = Artifact::from_key(&artifact).is_some_and(|a| a.signer_roles().contains(&role.as_str()));
    if !signs_for || !dir.roles_of(&actor).contains(&role.as_str()) {
        return Some(format!(
            "{name} is under the role `{role}`, which `{actor}` does not hold for the {artifact} in `snop.toml`: the signer or the role was changed (or `snop.toml` no longer gives them the role)"
        ));
    }
    let public = dir.public_keys.get(&actor);
    let signature: Option<String> = r.get("ed25519");
    let (public, signature) = match (public, signature) {
        (None, None) => return None,
        (Some(_), None) => {
            return Some(format!(
                "{name} carries no ed25519 signature, yet `{actor}` has a public key in `snop.toml`: the key signature was stripped (or the signature was made before the key was registered)"
            ));
        }
        (None, Some(_)) => {
            return Some(format!("{name}: `{actor}` has no public key in `snop.toml` to check it against"));
        }
        (Some(p), Some(s)) => match keys::parse_public(p) {
            Ok(p) => (p, s),
            Err(e) => return Some(format!("{name}: {e}")),
        },
    };
    let (sha, cycle, version): (String, String, i64) = (r.get("content_sha256"), r.get("cycle"), r.get("version"));
    let v1 = keys::message(draft_id, &artifact, &cycle, version, &role, &actor, &sha);
    let (count, hash): (Option<i64>, Option<String>) = (r.get("audit_count"), r.get("audit_hash"));
    let v2 = count.zip(hash).map(|(audit_count, audit_hash)| {
        keys::message_v2(&keys::Signed {
            draft_id,
            artifact: &artifact,
            cycle: &cycle,
            version,
            role: &role,
            actor: &actor,
            sha: &sha,
            at: &at,
            audit_count,
            audit_hash: &audit_hash,
        })
    });
    // A version 2 signature does not verify as version 1: an old message cannot stand in.
    let verifies = v2.is_some_and(|m| keys::verify(&public, &m, &signature)) || keys::verify(&public, &v1, &signature);
    (!verifies).then(|| {
        format!(
            "{name}: its ed25519 signature does not verify against their public key in `snop.toml`: the signature or what it covers (the content, role, time or audit log) was changed"
        )
    })
}

/// Walks the audit log entry by entry (sequence, link to the previous entry, hash over the
/// fields): the entries, or the first broken one.
fn audit_chain(rows: &[AnyRow]) -> Result<Vec<Entry>, String> {
    let mut prev = GENESIS.to_string();
    let mut entries = Vec::with_capacity(rows.len());
    for (expected_seq, r) in (1_i64..).zip(rows.iter()) {
        let e = Entry {
            seq: r.get("seq"),
            ts: r.get("ts"),
            actor: r.get("actor"),
            action: r.get("action"),
            entity: r.get("entity"),
            sha: r.get("content_sha256"),
            hash: r.get("hash"),
        };
        let prev_hash: String = r.get("prev_hash");
        let name = e.name();
        let problem = if e.seq != expected_seq {
            Some(format!("{name}: expected entry {expected_seq} here: an entry is missing"))
        } else if prev_hash != prev {
            Some(format!("{name}: it does not follow entry {}: the chain is broken or reordered", e.seq - 1))
        } else if entry_hash(&prev_hash, e.seq, &e.ts, &e.actor, &e.action, &e.entity, &e.sha) != e.hash {
            Some(format!("{name}: its hash does not match its fields: the entry was changed"))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(problem);
        }
        prev = e.hash.clone();
        entries.push(e);
    }
    Ok(entries)
}
