//! Notifications: a draft ready for its owner, a signature due in N days or overdue, a run that
//! failed, a meeting the calendar moved. By e-mail over SMTP (lettre) and by webhook (a JSON POST
//! that Slack and Microsoft Teams Workflows accept). Each message says what, for whom, by when,
//! and where to look.
//!
//! At most one message per event and recipient: the sent-log (`notifications` table) is checked
//! before and written after each delivery. A failed delivery is retried a few times with
//! backoff, logged, and left unsent for the next run to retry; it never fails the run.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::{WebhookConfig, Workspace};
use crate::draft::State;
use crate::sop::Artifact;
use crate::store::Store;

/// Attempts per delivery within one run.
const ATTEMPTS: u32 = 3;
/// A delivery given up after this many attempts over all runs.
const MAX_ATTEMPTS: i64 = 12;

/// An agent run that failed tonight.
#[derive(Debug, Clone)]
pub struct Failure {
    pub agent: String,
    pub cycle: String,
    pub detail: String,
}

/// Something to tell people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Stable key: the same event found on another night is the same key.
    pub key: String,
    pub subject: String,
    /// What happened and what to do.
    pub what: String,
    /// Person ids it is for.
    pub to: Vec<String>,
    pub by_when: Option<NaiveDate>,
}

/// One delivery's outcome, for the night's report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sent {
    pub event: String,
    pub recipient: String,
    pub channel: String,
    /// `sent`, `failed` (will be retried) or `given up`.
    pub outcome: String,
    pub detail: String,
}

/// The events of a night: from the store's state of the night's cycle, the night's failed
/// runs, and meetings whose dates changed since they were announced. Writes the announced dates.
pub async fn events(
    ws: &Workspace,
    store: &Store,
    night: NaiveDate,
    failures: &[Failure],
) -> anyhow::Result<Vec<Event>> {
    let cal = &ws.calendar;
    let cycle = cal.cycle_on(night);
    let month = cycle.month.to_string();
    let holders =
        |roles: &[&str]| -> Vec<String> { roles.iter().flat_map(|r| ws.holders(r).iter().cloned()).collect() };
    let mut out = Vec::new();
    let lines = store.status(&month).await?;
    for (a, l) in Artifact::ALL.into_iter().zip(&lines) {
        let m = cycle.meeting(a);
        let signed = l.signed_version.is_some() || l.state == Some(State::Signed);
        if let (Some(id), Some(v), Some(State::Draft)) = (l.draft_id, l.version, l.state) {
            out.push(Event {
                key: format!("draft-ready:{id}"),
                subject: format!("Draft ready: the {} for {month}", a.title()),
                what: format!(
                    "The {} for the {month} cycle (draft {id}, version {v}) is ready for your review and approval before the {} ends.\nLook: `snop drafts show {id}`",
                    a.title(),
                    a.meeting()
                ),
                to: holders(a.owner_roles()),
                by_when: Some(m.last),
            });
        }
        if !signed && l.exists {
            let days = (m.last - night).num_days();
            if days < 0 {
                out.push(Event {
                    key: format!("overdue:{month}:{}", a.key()),
                    subject: format!("Overdue: the {} for {month} is not signed", a.title()),
                    what: format!(
                        "The {} for the {month} cycle was due to be signed by {} and is {} day{} overdue: the cycle is slipping.\nLook: `snop status --cycle {month}`",
                        a.title(),
                        m.last,
                        -days,
                        if days == -1 { "" } else { "s" }
                    ),
                    to: holders(a.signer_roles()),
                    by_when: Some(m.last),
                });
            } else if days <= ws.notify.remind_days {
                out.push(Event {
                    key: format!("sign-due:{month}:{}", a.key()),
                    subject: format!("Signature due in {days} day{}: the {} for {month}", if days == 1 { "" } else { "s" }, a.title()),
                    what: format!(
                        "The {} for the {month} cycle is to be signed by {} (the {} ends then).\nLook: `snop status --cycle {month}`",
                        a.title(),
                        m.last,
                        a.meeting()
                    ),
                    to: holders(a.signer_roles()),
                    by_when: Some(m.last),
                });
            }
        }
    }
    for f in failures {
        let Some(agent) = crate::sop::Agent::from_name(&f.agent) else { continue };
        let a = Artifact::of_agent(agent);
        out.push(Event {
            key: format!("run-failed:{night}:{}:{}", f.agent, f.cycle),
            subject: format!("Nightly run failed: {} for {}", f.agent, f.cycle),
            what: format!(
                "Tonight's run of `{}` for the {} cycle failed, so the {} was not refreshed: {}\nLook: `snop runs --agent {}`, and `snop run {} --cycle {}` once fixed",
                f.agent,
                f.cycle,
                a.title(),
                f.detail,
                f.agent,
                f.agent,
                f.cycle
            ),
            to: holders(a.owner_roles()),
            by_when: Some(cycle.meeting(a).last),
        });
    }
    // Meetings moved: this cycle's and the next's dates against those announced before.
    for c in [cycle.clone(), cal.cycle(cycle.month.plus(1))] {
        let month = c.month.to_string();
        let announced = store.announced_dates(&month).await?;
        for m in &c.meetings {
            let (first, last) = (m.first.to_string(), m.last.to_string());
            if let Some((_, f0, l0)) = announced.iter().find(|(k, _, _)| k == m.artifact.key())
                && (f0, l0) != (&first, &last)
            {
                out.push(Event {
                    key: format!("moved:{month}:{}:{first}", m.artifact.key()),
                    subject: format!("Meeting moved: the {} of {month} is now {first}", m.artifact.meeting()),
                    what: format!(
                        "The {} of the {month} cycle moved from {f0} to {l0} to {first} to {last} (the calendar in snop.toml changed).\nLook: `snop calendar`",
                        m.artifact.meeting()
                    ),
                    to: ws.people.keys().cloned().collect(),
                    by_when: Some(m.first),
                });
            }
            store.announce_dates(&month, m.artifact.key(), &first, &last).await?;
        }
    }
    Ok(out)
}

/// Finds the night's events and delivers them; never fails (problems are logged and returned).
pub async fn after_night(ws: &Workspace, store: &Store, now: DateTime<Utc>, failures: &[Failure]) -> Vec<Sent> {
    match events(ws, store, ws.calendar.local_date(now), failures).await {
        Ok(events) => deliver(ws, store, &events, now).await,
        Err(e) => {
            tracing::error!("notifications: cannot list tonight's events: {e:#}");
            Vec::new()
        }
    }
}

/// The text of a message: what, for whom, by when, where to look.
pub fn body(ws: &Workspace, e: &Event, for_whom: &str) -> String {
    let look = ws.notify.look_at.clone().unwrap_or_else(|| format!("the snop workspace `{}`", ws.root.display()));
    let by = e.by_when.map(|d| format!("By: {d}\n")).unwrap_or_default();
    format!("{}\n\n{}\nFor: {for_whom}\n{by}Where: {look}\n", e.subject, e.what)
}

/// Delivers each event to each recipient once: e-mail to each person with an address, one
/// post per webhook.
pub async fn deliver(ws: &Workspace, store: &Store, events: &[Event], now: DateTime<Utc>) -> Vec<Sent> {
    let mut out = Vec::new();
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for e in events {
        let names: Vec<String> = e.to.iter().map(|p| ws.people.get(p).map_or(p.clone(), |x| x.name.clone())).collect();
        let mut targets: Vec<(String, &'static str, String)> = Vec::new();
        if ws.notify.smtp.is_some() {
            for p in &e.to {
                if let Some(email) = ws.people.get(p).and_then(|x| x.email.clone()) {
                    targets.push((format!("email:{email}"), "email", ws.people[p].name.clone()));
                }
            }
        }
        for w in &ws.notify.webhooks {
            targets.push((format!("webhook:{}", w.name), "webhook", names.join(", ")));
        }
        for (recipient, channel, for_whom) in targets {
            let log = match store.sent_log(&e.key, &recipient).await {
                Ok(l) => l,
                Err(err) => {
                    tracing::error!("notifications: cannot read the sent-log: {err}");
                    continue;
                }
            };
            if log.as_ref().is_some_and(|l| l.sent_at.is_some()) {
                continue;
            }
            if log.as_ref().is_some_and(|l| l.attempts >= MAX_ATTEMPTS) {
                out.push(sent(e, &recipient, channel, "given up", "too many failed attempts".into()));
                continue;
            }
            let text = body(ws, e, &for_whom);
            let mut last_error = None;
            let mut tries = 0;
            for attempt in 0..ATTEMPTS {
                tries += 1;
                let r = if channel == "email" {
                    send_mail(ws, recipient.trim_start_matches("email:"), &for_whom, &e.subject, &text).await
                } else {
                    let w =
                        ws.notify.webhooks.iter().find(|w| recipient == format!("webhook:{}", w.name)).expect("listed");
                    post_webhook(w, &e.subject, &text).await
                };
                match r {
                    Ok(()) => {
                        last_error = None;
                        break;
                    }
                    Err(err) => {
                        tracing::warn!(%recipient, event = %e.key, "delivery attempt {} failed: {err:#}", attempt + 1);
                        last_error = Some(format!("{err:#}"));
                        if attempt + 1 < ATTEMPTS {
                            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                        }
                    }
                }
            }
            let attempt = crate::store::nightly::Attempt {
                event: &e.key,
                recipient: &recipient,
                channel,
                subject: &e.subject,
                attempts: tries,
                error: last_error.as_deref(),
                at: &at,
            };
            if let Err(err) = store.log_attempt(&attempt).await {
                tracing::error!("notifications: cannot write the sent-log: {err}");
            }
            let (outcome, detail) = match last_error {
                None => ("sent", e.subject.clone()),
                Some(err) => ("failed", format!("{err} (retried next run)")),
            };
            out.push(sent(e, &recipient, channel, outcome, detail));
        }
    }
    out
}

fn sent(e: &Event, recipient: &str, channel: &str, outcome: &str, detail: String) -> Sent {
    Sent {
        event: e.key.clone(),
        recipient: recipient.to_string(),
        channel: channel.into(),
        outcome: outcome.into(),
        detail,
    }
}

async fn send_mail(ws: &Workspace, to: &str, name: &str, subject: &str, text: &str) -> anyhow::Result<()> {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    crate::install_tls_provider();
    let smtp = ws.notify.smtp.as_ref().expect("called with smtp configured");
    let message = Message::builder()
        .from(smtp.from.parse()?)
        .to(lettre::message::Mailbox::new(Some(name.to_string()), to.parse()?))
        .subject(subject)
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(text.to_string())?;
    let builder = match smtp.security.as_str() {
        "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host).port(smtp.port.unwrap_or(25)),
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?.port(smtp.port.unwrap_or(465)),
        _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?.port(smtp.port.unwrap_or(587)),
    };
    let mut builder = builder.timeout(Some(Duration::from_secs(10)));
    if let (Some(u), Some(p)) = (&smtp.username_env, &smtp.password_env) {
        let (u, p) = (std::env::var(u)?, std::env::var(p)?);
        builder = builder.credentials(lettre::transport::smtp::authentication::Credentials::new(u, p));
    }
    builder.build().send(message).await?;
    Ok(())
}

/// The JSON a webhook gets: Slack's `{"text": ...}`, or an Adaptive Card for Teams.
pub fn webhook_json(format: &str, subject: &str, text: &str) -> serde_json::Value {
    // Slack's mrkdwn reads `&`, `<` and `>` as markup.
    let slack = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    match format {
        "teams" => serde_json::json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "text": subject, "weight": "Bolder", "wrap": true},
                        {"type": "TextBlock", "text": text, "wrap": true}
                    ]
                }
            }]
        }),
        _ => serde_json::json!({ "text": slack }),
    }
}

async fn post_webhook(w: &WebhookConfig, subject: &str, text: &str) -> anyhow::Result<()> {
    crate::install_tls_provider();
    let url = match (&w.url, &w.url_env) {
        (_, Some(env)) => std::env::var(env).map_err(|_| anyhow::anyhow!("`{env}` is not set"))?,
        (Some(u), None) => u.clone(),
        (None, None) => anyhow::bail!("webhook `{}` has no `url` or `url_env`", w.name),
    };
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let r = client.post(&url).json(&webhook_json(&w.format, subject, text)).send().await;
    // The URL is the secret: errors name the webhook, never the URL.
    let r = r.map_err(|e| anyhow::anyhow!("webhook `{}`: {}", w.name, e.without_url()))?;
    if !r.status().is_success() {
        anyhow::bail!("webhook `{}` answered {}", w.name, r.status());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_bodies_for_slack_and_teams() {
        let slack = webhook_json("slack", "Draft ready", "Margin <5% & falling");
        assert_eq!(slack, serde_json::json!({"text": "Margin &lt;5% &amp; falling"}));
        let teams = webhook_json("teams", "Draft ready", "Margin <5%");
        let card = &teams["attachments"][0];
        assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        assert_eq!(card["content"]["body"][0]["text"], "Draft ready");
        assert_eq!(card["content"]["body"][1]["text"], "Margin <5%", "Adaptive Cards take plain text");
    }
}
