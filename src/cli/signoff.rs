//! `snop drafts ...`, `snop status` and `snop audit verify`: the review workflow on the command
//! line. The rules are the store's (`store::signoff`); this only parses, calls and prints.

use std::io::Read as _;
use std::path::PathBuf;

use clap::Subcommand;

use crate::UserError;
use crate::artifacts::review;
use crate::config::Workspace;
use crate::contract::Month;
use crate::draft::{DraftDetail, Request, narrative_text, parse_narrative};
use crate::pipeline;
use crate::sop::{Artifact, Directory, role_title};
use crate::store::keys;
use crate::store::signoff::Acted;

#[derive(Debug, Subcommand)]
pub enum DraftsCommand {
    /// List draft versions, newest cycle first.
    List {
        #[arg(long)]
        cycle: Option<Month>,
        /// demand_consensus, supply_plan, reconciliation_pack, signed_plan or commitment_log.
        #[arg(long)]
        artifact: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show a draft version: its state, narrative, edits (with the diff against the model's
    /// narrative), comments, approvals and signatures; or render it.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
        /// The page as self-contained HTML (open it in a browser, print it).
        #[arg(long, conflicts_with_all = ["json", "markdown", "narrative"])]
        html: bool,
        /// The page as Markdown.
        #[arg(long, conflicts_with_all = ["json", "narrative"])]
        markdown: bool,
        /// Only the narrative, as the text `snop drafts edit --file` reads.
        #[arg(long, conflicts_with = "json")]
        narrative: bool,
    },
    /// Replace the narrative with an edited one (`# headline`, paragraphs, `## Risks`, `- ` lines).
    Edit {
        id: i64,
        #[command(flatten)]
        who: Who,
        /// The edited narrative (`-` for stdin); start from `snop drafts show ID --narrative`.
        #[arg(long)]
        file: PathBuf,
    },
    /// Comment on a draft version.
    Comment {
        id: i64,
        #[arg(long = "as", value_name = "PERSON", env = "SNOP_PERSON")]
        actor: String,
        #[arg(long, short = 'm')]
        message: String,
        #[arg(long)]
        json: bool,
    },
    /// Approve a draft version (its owner).
    Approve {
        id: i64,
        #[command(flatten)]
        who: Who,
    },
    /// Reject a draft version, with the reason (its owner).
    Reject {
        id: i64,
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        reason: String,
    },
    /// Sign an approved draft version (the role named for the artifact).
    Sign {
        id: i64,
        #[command(flatten)]
        who: Who,
        /// Your private key (`snop keys generate`): required once your public key is in
        /// `snop.toml`; the signature then carries an ed25519 signature over the content hash.
        #[arg(long, value_name = "FILE", env = "SNOP_KEY")]
        key: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a person's key pair: the private key goes to a file only they read (never
    /// replaced); the public key is printed, to be added to `snop.toml`.
    Generate {
        /// The person's id from `[people]` in `snop.toml`.
        #[arg(long = "as", value_name = "PERSON", env = "SNOP_PERSON")]
        actor: String,
        /// Where to write the private key (default `~/.config/snop/keys/<person>.ed25519`).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// Who acts, and the row version they read.
#[derive(Debug, Clone, clap::Args)]
pub struct Who {
    /// The acting person's id from `[people]` in `snop.toml`.
    #[arg(long = "as", value_name = "PERSON", env = "SNOP_PERSON")]
    pub actor: String,
    /// The row version you read (`snop drafts show ID`): if someone changed the draft since,
    /// your action is refused rather than overwriting theirs.
    #[arg(long)]
    pub row_version: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit chain entry by entry and every signed draft against its hash; names the
    /// first entry or draft that does not match.
    Verify {
        #[arg(long)]
        json: bool,
    },
}

fn artifact_of(key: &str) -> anyhow::Result<Artifact> {
    Artifact::from_key(key).ok_or_else(|| {
        UserError(format!("unknown artifact `{key}`: artifacts are {}", Artifact::ALL.map(Artifact::key).join(", ")))
            .into()
    })
}

pub async fn drafts(workspace: &std::path::Path, command: DraftsCommand) -> anyhow::Result<()> {
    let ws = Workspace::load_without_inputs(workspace)?;
    let store = pipeline::open_store(&ws).await?;
    let dir = ws.directory();
    let missing = |id: i64| UserError(format!("there is no draft {id}: `snop drafts list` lists them"));
    let (acted, json) = match command {
        DraftsCommand::List { cycle, artifact, json } => {
            let artifact = artifact.map(|a| artifact_of(&a)).transpose()?;
            let rows = store.drafts(cycle.map(|c| c.to_string()).as_deref(), artifact).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!("no drafts yet: `snop run demand-review --cycle YYYY-MM` makes the first");
            } else {
                println!(
                    "{:>5}  {:<8} {:<20} {:>7}  {:<10} {:>11}  updated",
                    "draft", "cycle", "artifact", "version", "state", "row version"
                );
                for r in rows {
                    println!(
                        "{:>5}  {:<8} {:<20} {:>7}  {:<10} {:>11}  {} by {}",
                        r.id, r.cycle, r.artifact, r.version, r.state, r.row_version, r.updated_at, r.updated_by
                    );
                }
            }
            return Ok(());
        }
        DraftsCommand::Show { id, json, html, markdown, narrative } => {
            let d = store.draft(id).await?.ok_or_else(|| missing(id))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else if html {
                print!("{}", review::html(&d.content, &review::Standing::of(&d, &dir))?);
            } else if markdown {
                print!("{}", review::markdown(&d.content, &review::Standing::of(&d, &dir))?);
            } else if narrative {
                print!("{}", narrative_text(&d.content.narrative));
            } else {
                print_detail(&d, &dir);
            }
            return Ok(());
        }
        DraftsCommand::Edit { id, who, file } => {
            let text = if file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s
            } else {
                fs_err::read_to_string(&file)?
            };
            let narrative = parse_narrative(&text)
                .map_err(|e| UserError(format!("`{}` is not a narrative: {e}", file.display())))?;
            (store.act(&dir, id, &who.actor, Request::Edit { narrative }, Some(who.row_version)).await?, who.json)
        }
        DraftsCommand::Comment { id, actor, message, json } => {
            (store.act(&dir, id, &actor, Request::Comment { body: message }, None).await?, json)
        }
        DraftsCommand::Approve { id, who } => {
            (store.act(&dir, id, &who.actor, Request::Approve, Some(who.row_version)).await?, who.json)
        }
        DraftsCommand::Reject { id, who, reason } => {
            (store.act(&dir, id, &who.actor, Request::Reject { reason }, Some(who.row_version)).await?, who.json)
        }
        DraftsCommand::Sign { id, who, key } => {
            let key = match &key {
                Some(path) => Some(
                    keys::read_private(path)
                        .map_err(|e| UserError(format!("reading the private key `{}`: {e}", path.display())))?,
                ),
                None => None,
            };
            let acted =
                store.act_with_key(&dir, id, &who.actor, Request::Sign, Some(who.row_version), key.as_ref()).await?;
            (acted, who.json)
        }
    };
    print_acted(&acted, json)
}

fn print_acted(acted: &Acted, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(acted)?);
    } else {
        println!("{}", acted.message);
        let d = &acted.draft;
        println!("draft {}: version {}, {}, row version {}", d.id, d.version, d.state, d.row_version);
    }
    Ok(())
}

fn print_detail(d: &DraftDetail, dir: &Directory) {
    let r = &d.row;
    let title = Artifact::from_key(&r.artifact).map_or(r.artifact.clone(), |a| a.title().to_string());
    println!("draft {}: {title} {} version {} ({})", r.id, r.cycle, r.version, r.state);
    println!("  row version     {} (pass `--row-version {}` to act on it)", r.row_version, r.row_version);
    println!("  content sha256  {}", r.content_sha256);
    println!("  run             {}", r.run_id);
    if let Some(p) = r.parent_version {
        println!("  made from       version {p}");
    }
    println!("  created         {} by {}", r.created_at, r.created_by);
    println!("  last change     {} by {}", r.updated_at, r.updated_by);
    println!("\n{}", narrative_text(&d.content.narrative));
    for e in &d.edits {
        println!("edited by {} at {}; against the model's narrative:\n{}", dir.name(&e.actor), e.at, e.diff_vs_model);
    }
    for c in &d.comments {
        println!("comment by {} at {}: {}", dir.name(&c.actor), c.at, c.body);
    }
    for a in &d.approvals {
        let reason = a.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
        println!("{} by {} ({}) at {}{reason}", a.decision, dir.name(&a.actor), role_title(&a.role), a.at);
    }
    for s in &d.signatures {
        println!("signed by {} ({}) at {} over {}", dir.name(&s.actor), role_title(&s.role), s.at, s.content_sha256);
    }
}

pub async fn status(workspace: &std::path::Path, cycle: Month, json: bool) -> anyhow::Result<()> {
    let ws = Workspace::load_without_inputs(workspace)?;
    let store = pipeline::open_store(&ws).await?;
    let dir = ws.directory();
    let lines = store.status(&cycle.to_string()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&lines)?);
        return Ok(());
    }
    println!("cycle {cycle}");
    let mut broken = Vec::new();
    let dates = ws.calendar.cycle(cycle);
    for (l, a) in lines.iter().zip(Artifact::ALL) {
        let (first, last) = (dates.meeting(a).first, dates.meeting(a).last);
        match (l.version, l.state) {
            (Some(v), Some(state)) => {
                let signed = if l.signatures.is_empty() {
                    "not signed".to_string()
                } else {
                    let on = match l.signed_version {
                        Some(sv) if sv != v => format!("version {sv} "),
                        _ => String::new(),
                    };
                    on + &l
                        .signatures
                        .iter()
                        .map(|s| format!("signed by {} ({}) at {}", dir.name(&s.actor), role_title(&s.role), s.at))
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                println!(
                    "  {:<24} draft {:<4} version {v:<3} {state:<10} {signed}",
                    a.title(),
                    l.draft_id.unwrap_or_default()
                );
            }
            _ => {
                println!("  {:<24} missing: the {} ({first} to {last}) has no artifact", a.title(), a.meeting());
                broken.push(a);
            }
        }
    }
    let today = ws.calendar.local_date(chrono::Utc::now());
    println!("cadence against the calendar:");
    for line in crate::cadence::drift(&ws.calendar, cycle, &lines, today).lines() {
        println!("  {line}");
    }
    if !broken.is_empty() {
        for a in &broken {
            println!("this cycle is incomplete: no {}, so the {} meeting is broken", a.title(), a.meeting());
        }
        let first = broken[0];
        match Some(first.agent()).filter(|a| ws.pipelines.contains_key(a)) {
            Some(agent) => println!("hint: `snop run {agent} --cycle {cycle}` drafts the {}", first.title()),
            None => println!(
                "hint: snop has no `{}` agent in this workspace yet: the {} is prepared outside snop for now",
                first.agent(),
                first.title()
            ),
        }
    }
    Ok(())
}

pub async fn audit(workspace: &std::path::Path, command: AuditCommand) -> anyhow::Result<()> {
    let ws = Workspace::load_without_inputs(workspace)?;
    let store = pipeline::open_store(&ws).await?;
    let AuditCommand::Verify { json } = command;
    let mut report = store.verify_audit().await?;
    let (by_key, key_problem) = store.verify_keys(&ws.directory()).await?;
    if report.first_problem.is_none() {
        report.first_problem = key_problem;
    }
    if json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            report: &'a crate::store::verify::AuditReport,
            signatures_checked_by_key: i64,
        }
        println!("{}", serde_json::to_string_pretty(&Out { report: &report, signatures_checked_by_key: by_key })?);
    }
    match &report.first_problem {
        None => {
            if !json {
                println!(
                    "the audit log is intact: {} entries chained, {} signed draft(s) match what was signed",
                    report.entries, report.signed_drafts
                );
                if by_key > 0 {
                    println!("{by_key} signature(s) verified against their signers' public keys in `snop.toml`");
                }
            }
            Ok(())
        }
        Some(problem) => Err(UserError(format!("the audit does not verify: {problem}")).into()),
    }
}

pub fn keys(workspace: &std::path::Path, command: KeysCommand) -> anyhow::Result<()> {
    let ws = Workspace::load_without_inputs(workspace)?;
    let KeysCommand::Generate { actor, out } = command;
    let Some(person) = ws.people.get(&actor) else {
        return Err(UserError(format!(
            "`{actor}` is not a person in `snop.toml`: pass `--as` with a person id from `[people]`"
        ))
        .into());
    };
    let path = out
        .or_else(|| keys::default_path(&actor))
        .ok_or_else(|| UserError("there is no home folder to keep the key in: pass `--out FILE`".into()))?;
    let key = keys::generate().map_err(|e| anyhow::anyhow!(e))?;
    keys::write_private(&path, &key).map_err(|e| UserError(format!("writing the private key: {e}")))?;
    println!("wrote the private key of {} to `{}`: keep it, and let nobody else read it", person.name, path.display());
    println!("add this line under `[people.\"{actor}\"]` in `snop.toml`, then sign with `--key {}`:", path.display());
    println!("public_key = \"{}\"", keys::public_text(&key.verifying_key()));
    Ok(())
}
