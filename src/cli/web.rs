//! `snop users ...` and `snop serve`: who may log in to the web, and the server itself.

use std::io::{IsTerminal as _, Read as _};
use std::net::SocketAddr;
use std::path::Path;

use clap::Subcommand;

use crate::UserError;
use crate::config::Workspace;
use crate::pipeline;
use crate::store::Store;
use crate::web;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Let a person from `[people]` in `snop.toml` log in to `snop serve`. The password is
    /// read from stdin (never from the command line, where others could see it).
    Add {
        /// The person's id in `[people]`.
        person: String,
        /// Read the password from stdin (the default; the flag says so in scripts).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the users, whether each is disabled or locked.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stop a user from logging in and end their sessions.
    Disable { person: String },
    /// Set a new password (read from stdin); also re-enables and unlocks the user and ends their
    /// sessions.
    ResetPassword {
        person: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

fn read_password() -> anyhow::Result<String> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password (at least {MIN_PASSWORD_CHARS} characters; it is shown as you type), then Enter: ");
    }
    let mut text = String::new();
    stdin.read_to_string(&mut text)?;
    let password = text.lines().next().unwrap_or_default().to_string();
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(UserError(format!(
            "the password needs at least {MIN_PASSWORD_CHARS} characters: pipe it on stdin, e.g. `printf '%s\\n' \"$PASSWORD\" | snop users add PERSON --password-stdin`"
        ))
        .into());
    }
    Ok(password)
}

fn person_of(ws: &Workspace, person: &str) -> anyhow::Result<()> {
    if ws.people.contains_key(person) {
        return Ok(());
    }
    Err(UserError(format!(
        "`{person}` is not a person in `snop.toml`: people are {}\nhint: add them under `[people]` first",
        ws.people.keys().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
    ))
    .into())
}

/// Adds a user with a password (for `snop demo`, and `snop users add`).
pub async fn add_user(store: &Store, person: &str, password: &str, by: &str) -> anyhow::Result<bool> {
    let owned = password.to_string();
    let phc = tokio::task::spawn_blocking(move || web::hash_password(&owned)).await??;
    Ok(store.add_user(person, &phc, by).await?)
}

pub async fn users(workspace: &Path, command: UsersCommand) -> anyhow::Result<()> {
    let ws = Workspace::load_without_inputs(workspace)?;
    let store = pipeline::open_store(&ws).await?;
    let by = "cli:snop users";
    match command {
        UsersCommand::Add { person, password_stdin: _ } => {
            person_of(&ws, &person)?;
            let password = read_password()?;
            if !add_user(&store, &person, &password, by).await? {
                return Err(UserError(format!(
                    "`{person}` already has a user\nhint: `snop users reset-password {person}` sets a new password"
                ))
                .into());
            }
            println!("`{person}` ({}) can log in to `snop serve`", ws.people[&person].name);
        }
        UsersCommand::List { json } => {
            let users = store.users().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else if users.is_empty() {
                println!("no users yet: `snop users add PERSON --password-stdin` adds one");
            } else {
                let now = crate::store::audit::now();
                println!("{:<24} {:<24} {:<10} since", "person", "name", "state");
                for u in users {
                    let name = ws.people.get(&u.person).map_or("(not in snop.toml)", |p| p.name.as_str());
                    let state = if u.disabled {
                        "disabled".to_string()
                    } else if u.locked_until.as_deref().is_some_and(|t| t > now.as_str()) {
                        format!("locked until {}", u.locked_until.unwrap_or_default())
                    } else {
                        "active".to_string()
                    };
                    println!("{:<24} {:<24} {:<10} {}", u.person, name, state, u.created_at);
                }
            }
        }
        UsersCommand::Disable { person } => {
            if !store.disable_user(&person, by).await? {
                return Err(UserError(format!("`{person}` has no user: `snop users list` lists them")).into());
            }
            println!("`{person}` can no longer log in; their sessions are ended");
        }
        UsersCommand::ResetPassword { person, password_stdin: _ } => {
            let password = read_password()?;
            let phc = tokio::task::spawn_blocking(move || web::hash_password(&password)).await??;
            if !store.reset_password(&person, &phc, by).await? {
                return Err(UserError(format!(
                    "`{person}` has no user\nhint: `snop users add {person} --password-stdin` adds one"
                ))
                .into());
            }
            println!("`{person}` has a new password; the account is enabled and unlocked, old sessions ended");
        }
    }
    Ok(())
}

pub async fn serve(workspace: &Path, bind: SocketAddr, behind_proxy: bool) -> anyhow::Result<()> {
    let ws = Workspace::load_without_inputs(workspace)?;
    let store = pipeline::open_store(&ws).await?;
    let users = store.users().await?.len();
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| UserError(format!("cannot listen on {bind}: {e}\nhint: pass `--bind` with a free address")))?;
    let address = listener.local_addr()?;
    let app = web::App::new(
        store,
        ws.directory(),
        ws.company.clone(),
        web::Options {
            behind_proxy,
            calendar: Some(ws.calendar.clone()),
            returns: crate::pipeline::commitment_lines::returns_folder(&ws),
            workspace: Some(ws.root.clone()),
            locale: ws.locale,
            ..web::Options::default()
        },
    );
    eprintln!("snop serve: http://{address}/ ({users} user(s)); stop with Ctrl-C");
    if users == 0 {
        eprintln!("hint: nobody can log in yet: `snop users add PERSON --password-stdin -w {}`", workspace.display());
    }
    if !address.ip().is_loopback() && !behind_proxy {
        eprintln!(
            "warning: serving plain HTTP on a non-loopback address: put it behind a TLS reverse proxy and pass `--behind-proxy`"
        );
    }
    web::serve(listener, app, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
