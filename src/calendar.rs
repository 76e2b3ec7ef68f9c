//! The cycle calendar: when each of a cycle's five meetings is held, from the rules in
//! `snop.toml` written the way planners say them ("first Monday of the month, 3 working days";
//! "second Thursday"; "next working day, 2 working days"; "8 working days before the
//! executive S&OP"), the working days, the holidays and the time zone.
//!
//! Pure: no clock, no I/O. The date "today" is always an argument.
//!
//! How a rule is read: the anchor gives the meeting's first day, the optional "N working days"
//! its length (1 when omitted). A fixed anchor (`second Thursday`) that lands on a holiday or a
//! day off moves to the next working day, and [`Calendar::check`] reports it, so planners decide
//! rather than find out. Meetings are listed in cycle order (demand review, supply review,
//! reconciliation, executive S&OP, commit-back); `next working day` follows the meeting before.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};

use crate::contract::Month;
use crate::sop::Artifact;

/// A rule like "first Monday": the n-th given weekday of each month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekdayOfMonth {
    /// 1 to 4, or 5 for "last".
    pub nth: u8,
    pub weekday: chrono::Weekday,
}

impl WeekdayOfMonth {
    pub fn parse(s: &str) -> Result<WeekdayOfMonth, String> {
        let words: Vec<String> = s.split_whitespace().map(str::to_lowercase).collect();
        let [nth, day] = words.as_slice() else {
            return Err(format!("`{s}` is not a rule like `first Monday`"));
        };
        let nth = match nth.as_str() {
            "first" | "1st" => 1,
            "second" | "2nd" => 2,
            "third" | "3rd" => 3,
            "fourth" | "4th" => 4,
            "last" => 5,
            other => {
                return Err(format!("`{other}` is not one of first, second, third, fourth, last"));
            }
        };
        let weekday = day.parse::<chrono::Weekday>().map_err(|_| {
            let original = s.split_whitespace().nth(1).unwrap_or(day);
            format!("`{original}` is not a day of the week")
        })?;
        Ok(WeekdayOfMonth { nth, weekday })
    }

    /// The date of this weekday in a given month.
    pub fn in_month(self, month: crate::contract::Month) -> chrono::NaiveDate {
        use chrono::Datelike;
        let first = month.first_day();
        if self.nth == 5 {
            let last = month.plus(1).first_day().pred_opt().expect("date");
            let back = (last.weekday().num_days_from_monday() + 7 - self.weekday.num_days_from_monday()) % 7;
            return last - chrono::Days::new(back.into());
        }
        let ahead = (self.weekday.num_days_from_monday() + 7 - first.weekday().num_days_from_monday()) % 7;
        first + chrono::Days::new(u64::from(ahead) + 7 * u64::from(self.nth - 1))
    }
}

/// The longest a cycle may run, demand review start to commit-back end, in calendar days.
pub const MAX_CYCLE_DAYS: i64 = 14;

/// Where a meeting's first day comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// "second Thursday (of the month)".
    Fixed(WeekdayOfMonth),
    /// "next working day": the working day after the meeting before ends.
    Next,
    /// "8 working days before the executive S&OP": counted back from another meeting's start.
    Before(u32, Artifact),
}

/// One meeting's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub anchor: Anchor,
    /// Its length in working days (at least 1).
    pub working_days: u32,
}

impl Rule {
    /// Parses a rule in planners' words; `Err` says what is wrong and what is expected.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let trimmed = text.trim();
        // ASCII lowercase keeps byte offsets, so a slice of `lower` maps back onto `trimmed`.
        let lower = trimmed.to_ascii_lowercase();
        let (anchor, length) = match lower.split_once(',') {
            Some((a, l)) => (a.trim(), Some(l.trim())),
            None => (lower.as_str(), None),
        };
        let working_days = match length {
            None => 1,
            Some(l) => {
                let words: Vec<&str> = l.split_whitespace().collect();
                match words.as_slice() {
                    [n, "working", "day" | "days"] | [n, "day" | "days"] => {
                        n.parse::<u32>().ok().filter(|n| (1..=10).contains(n)).ok_or_else(|| {
                            format!("`{n}` is not a number of working days from 1 to 10 (in `{text}`)")
                        })?
                    }
                    _ => return Err(format!("`{l}` is not a length like `3 working days` (in `{text}`)")),
                }
            }
        };
        let anchor = anchor.strip_prefix("the ").unwrap_or(anchor);
        let anchor = if anchor == "next working day" {
            Anchor::Next
        } else if let Some((n, meeting)) = anchor
            .split_once(" working days before ")
            .or_else(|| anchor.strip_prefix("1 working day before ").map(|m| ("1", m)))
        {
            let n = n.parse::<u32>().map_err(|_| format!("`{n}` is not a number of working days (in `{text}`)"))?;
            let meeting = meeting.strip_prefix("the ").unwrap_or(meeting);
            let target = meeting_named(meeting).ok_or_else(|| {
                format!("`{meeting}` is not a meeting: say demand review, supply review, reconciliation, executive S&OP or commit-back (in `{text}`)")
            })?;
            Anchor::Before(n, target)
        } else {
            let day = anchor.strip_suffix(" of the month").or(anchor.strip_suffix(" of each month")).unwrap_or(anchor);
            let start = day.as_ptr() as usize - lower.as_ptr() as usize;
            let rule = WeekdayOfMonth::parse(&trimmed[start..start + day.len()]).map_err(|e| {
                format!("{e}\nhint: a rule reads like `first Monday of the month, 3 working days`, `next working day, 2 working days` or `8 working days before the executive S&OP`")
            })?;
            Anchor::Fixed(rule)
        };
        Ok(Rule { anchor, working_days })
    }
}

/// A meeting by any of the names planners use for it.
pub fn meeting_named(name: &str) -> Option<Artifact> {
    let n = name.trim().to_lowercase().replace('-', " ");
    let n = n.strip_suffix(" meeting").unwrap_or(&n);
    Artifact::ALL.into_iter().find(|a| {
        let agent = a.agent().name().replace('-', " ");
        let meeting = a.meeting().to_lowercase().replace('-', " ");
        n == agent
            || n == meeting
            || n == meeting.replace("pre s&op ", "")
            || (*a == Artifact::SignedPlan && (n == "executive s&op" || n == "executive" || n == "exec s&op"))
    })
}

/// A validated calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub timezone: chrono_tz::Tz,
    /// Monday first.
    pub working_days: [bool; 7],
    /// Holidays with their names.
    pub holidays: BTreeMap<NaiveDate, String>,
    /// One rule per meeting, in cycle order ([`Artifact::ALL`]).
    pub rules: [Rule; 5],
    /// The working day's meeting hours (local time): every meeting sits inside them.
    pub hours: (NaiveTime, NaiveTime),
    /// When each meeting sits on each of its days, and who else is invited, in cycle order.
    pub slots: [Slot; 5],
    /// When `snop nightly` runs (local time).
    pub nightly_at: NaiveTime,
}

/// When a meeting sits on each of its days (local time), and who is invited beyond its owner
/// and signer roles and the seed's participants ([`participant_roles`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub start: NaiveTime,
    pub minutes: u32,
    /// Person ids or roles of `snop.toml` (plant heads, procurement, the account managers).
    pub attendees: Vec<String>,
}

impl Slot {
    /// The default: at the start of the meeting hours, for [`default_minutes`].
    pub fn default_for(artifact: Artifact, hours: (NaiveTime, NaiveTime)) -> Slot {
        Slot { start: hours.0, minutes: default_minutes(artifact), attendees: Vec::new() }
    }

    /// Whether it starts and ends inside the meeting hours `(open, close)`.
    pub fn inside(&self, (open, close): (NaiveTime, NaiveTime)) -> bool {
        self.start >= open && self.end().is_some_and(|e| e <= close)
    }

    /// When it ends on each of its days (local time); `None` past midnight.
    pub fn end(&self) -> Option<NaiveTime> {
        let (end, wrapped) = self.start.overflowing_add_signed(chrono::Duration::minutes(self.minutes.into()));
        (wrapped == 0 && end > self.start).then_some(end)
    }
}

/// How long a meeting sits on each of its days by default, in minutes: the executive S&OP 60
/// ("60 minutes maximum", the seed), the commit-back 60, the others 90: five short meetings, not
/// one long one.
pub fn default_minutes(artifact: Artifact) -> u32 {
    match artifact {
        Artifact::SignedPlan | Artifact::CommitmentLog => 60,
        _ => 90,
    }
}

/// Who the seed seats at each meeting, as `snop.toml` roles, beyond the owner and signer roles:
/// sales at the demand review; the finance partner at the reconciliation; the sales, supply and
/// finance leads with the COO or CEO at the executive S&OP. The seed's planners, procurement,
/// plant heads and account managers hold no role: list them in `[calendar.times]`' `attendees`.
pub fn participant_roles(artifact: Artifact) -> &'static [&'static str] {
    match artifact {
        Artifact::DemandConsensus => &["sales_lead"],
        Artifact::SupplyPlan => &[],
        Artifact::ReconciliationPack => &["finance_lead"],
        Artifact::SignedPlan => &["sales_lead", "supply_lead", "finance_lead"],
        Artifact::CommitmentLog => &[],
    }
}

/// A person invited to a meeting: the name, the e-mail when `snop.toml` has one, and whether
/// they chair it (an owner role) or take part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub name: String,
    pub email: Option<String>,
    pub chair: bool,
}

/// What an invite says about its people: the owner as the description names them ("the demand
/// lead (Dana Whitfield)"), the organizer's name and e-mail, and the attendees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitees {
    pub owner: String,
    pub organizer: Option<(String, String)>,
    pub attendees: Vec<Attendee>,
}

/// One meeting of one cycle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Meeting {
    #[serde(serialize_with = "artifact_key")]
    pub artifact: Artifact,
    pub first: NaiveDate,
    pub last: NaiveDate,
    /// The day a fixed rule named, when it was a holiday or day off and the meeting moved.
    pub moved_from: Option<NaiveDate>,
}

fn artifact_key<S: serde::Serializer>(a: &Artifact, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(a.key())
}

/// One cycle's meetings, in cycle order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cycle {
    #[serde(serialize_with = "month_text")]
    pub month: Month,
    pub meetings: Vec<Meeting>,
}

fn month_text<S: serde::Serializer>(m: &Month, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&m.to_string())
}

impl Cycle {
    pub fn meeting(&self, artifact: Artifact) -> &Meeting {
        self.meetings.iter().find(|m| m.artifact == artifact).expect("every meeting is in a cycle")
    }
    pub fn start(&self) -> NaiveDate {
        self.meetings.iter().map(|m| m.first).min().expect("five meetings")
    }
    pub fn end(&self) -> NaiveDate {
        self.meetings.iter().map(|m| m.last).max().expect("five meetings")
    }
    /// Calendar days from the demand review's first day to the commit-back's last, both counted.
    pub fn length_days(&self) -> i64 {
        (self.meeting(Artifact::CommitmentLog).last - self.meeting(Artifact::DemandConsensus).first).num_days() + 1
    }
}

/// Something wrong with the calendar's rules, found by [`Calendar::check`]: the meeting whose
/// rule it is (`None`: the calendar as a whole) and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarProblem {
    pub artifact: Option<Artifact>,
    pub message: String,
}

impl Calendar {
    pub fn is_working(&self, d: NaiveDate) -> bool {
        self.working_days[d.weekday().num_days_from_monday() as usize] && !self.holidays.contains_key(&d)
    }

    /// The first working day on or after `d`.
    pub fn working_on_or_after(&self, mut d: NaiveDate) -> NaiveDate {
        while !self.is_working(d) {
            d = d + Days::new(1);
        }
        d
    }

    /// The `n`-th working day counting `start` (a working day) as the first.
    pub fn nth_working(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        for _ in 1..n {
            d = self.working_on_or_after(d + Days::new(1));
        }
        d
    }

    /// `n` working days before `d`.
    pub fn working_days_before(&self, mut d: NaiveDate, n: u32) -> NaiveDate {
        for _ in 0..n {
            d = d - Days::new(1);
            while !self.is_working(d) {
                d = d - Days::new(1);
            }
        }
        d
    }

    /// The meetings of the cycle of `month` (the month its fixed rules are read in).
    pub fn cycle(&self, month: Month) -> Cycle {
        let mut placed: [Option<Meeting>; 5] = Default::default();
        // Fixed anchors first, then whatever the placed ones make resolvable (the rules were
        // checked for loops when the workspace was loaded).
        for _ in 0..5 {
            for (i, rule) in self.rules.iter().enumerate() {
                if placed[i].is_some() {
                    continue;
                }
                let (first, moved_from) = match rule.anchor {
                    Anchor::Fixed(w) => {
                        let d = w.in_month(month);
                        let first = self.working_on_or_after(d);
                        (first, (first != d).then_some(d))
                    }
                    Anchor::Next => match i.checked_sub(1).and_then(|p| placed[p].as_ref()) {
                        Some(prev) => (self.working_on_or_after(prev.last + Days::new(1)), None),
                        None => continue,
                    },
                    Anchor::Before(n, target) => {
                        match placed[Artifact::ALL.iter().position(|a| *a == target).expect("listed")].as_ref() {
                            Some(t) => (self.working_days_before(t.first, n), None),
                            None => continue,
                        }
                    }
                };
                let last = self.nth_working(first, rule.working_days);
                placed[i] = Some(Meeting { artifact: Artifact::ALL[i], first, last, moved_from });
            }
        }
        Cycle { month, meetings: placed.into_iter().map(|m| m.expect("rules without loops")).collect() }
    }

    /// `count` cycles from `month` on.
    pub fn cycles(&self, month: Month, count: u32) -> Vec<Cycle> {
        (0..count as i32).map(|i| self.cycle(month.plus(i))).collect()
    }

    /// The cycle `today` belongs to: the latest whose demand review has started.
    pub fn cycle_on(&self, today: NaiveDate) -> Cycle {
        let month = Month(today.year() * 12 + today.month0() as i32);
        [month.plus(1), month, month.plus(-1)]
            .into_iter()
            .map(|m| self.cycle(m))
            .find(|c| c.start() <= today)
            .unwrap_or_else(|| self.cycle(month.plus(-2)))
    }

    /// The first cycle not yet over on `today`.
    pub fn upcoming(&self, today: NaiveDate) -> Month {
        let c = self.cycle_on(today);
        if c.end() < today { c.month.plus(1) } else { c.month }
    }

    /// A local date and time in the calendar's zone, as UTC. A time that does not exist (the
    /// spring-forward hour) is read one hour later; an ambiguous one (fall-back) as the first.
    pub fn to_utc(&self, date: NaiveDate, time: NaiveTime) -> chrono::DateTime<Utc> {
        let local = date.and_time(time);
        match self.timezone.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            chrono::LocalResult::None => self
                .timezone
                .from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
                .expect("an hour after a gap exists")
                .with_timezone(&Utc),
        }
    }

    /// The local date of an instant.
    pub fn local_date(&self, at: chrono::DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }

    /// Checks the rules over the cycles of `months` (planners see the next year's; the months
    /// of listed holidays are added by the caller): a cycle longer than 14 days, a meeting on a
    /// holiday or day off, meetings out of order, an executive meeting that changes its
    /// weekday-of-month. One problem per kind and meeting, naming the first month it happens.
    pub fn check(&self, months: &[Month]) -> Vec<CalendarProblem> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        let mut push = |kind: &str, artifact: Option<Artifact>, message: String| {
            if seen.insert((kind.to_string(), artifact.map(Artifact::key))) {
                out.push(CalendarProblem { artifact, message });
            }
        };
        let mut exec_pattern: Option<(Month, u32, Weekday)> = None;
        for &month in months {
            let c = self.cycle(month);
            if c.length_days() > MAX_CYCLE_DAYS {
                push(
                    "long",
                    None,
                    format!(
                        "the {month} cycle runs {} calendar days ({} to {}), more than {MAX_CYCLE_DAYS}: decisions go stale\nhint: shorten a meeting or start the demand review later",
                        c.length_days(),
                        c.meeting(Artifact::DemandConsensus).first,
                        c.meeting(Artifact::CommitmentLog).last
                    ),
                );
            }
            for m in &c.meetings {
                if let Some(from) = m.moved_from {
                    let why = match self.holidays.get(&from) {
                        Some(name) => format!("a holiday ({name})"),
                        None => "not a working day".to_string(),
                    };
                    push(
                        "holiday",
                        Some(m.artifact),
                        format!(
                            "the {} of the {month} cycle falls on {from} ({}), {why}: it would move to {} ({})\nhint: choose a rule that avoids it, or hold the meeting on the holiday by removing it from `calendar.holidays`",
                            m.artifact.meeting(),
                            from.format("%a"),
                            m.first,
                            m.first.format("%a")
                        ),
                    );
                }
            }
            for pair in c.meetings.windows(2) {
                if pair[1].first <= pair[0].last {
                    push(
                        "order",
                        Some(pair[1].artifact),
                        format!(
                            "in the {month} cycle the {} ({}) starts before the {} ends ({}): meetings must follow the cycle's order",
                            pair[1].artifact.meeting(),
                            pair[1].first,
                            pair[0].artifact.meeting(),
                            pair[0].last
                        ),
                    );
                }
            }
            let exec = c.meeting(Artifact::SignedPlan).first;
            let nth = (exec.day() - 1) / 7 + 1;
            match exec_pattern {
                None => exec_pattern = Some((month, nth, exec.weekday())),
                Some((m0, n0, w0)) if (n0, w0) != (nth, exec.weekday()) => push(
                    "exec",
                    Some(Artifact::SignedPlan),
                    format!(
                        "the executive S&OP is the {} {} in {m0} but the {} {} in {month} ({exec}): it must be the same weekday of the same week every month\nhint: give it a fixed rule such as `second Thursday`",
                        ordinal(n0),
                        w0,
                        ordinal(nth),
                        exec.weekday()
                    ),
                ),
                Some(_) => {}
            }
        }
        out
    }

    /// The days a meeting sits: its working days from first to last.
    pub fn meeting_days(&self, m: &Meeting) -> Vec<NaiveDate> {
        m.first.iter_days().take_while(|d| *d <= m.last).filter(|d| self.is_working(*d)).collect()
    }

    /// The `.ics` text of `cycles`: one event per meeting day, inside the meeting's slot on that
    /// day (never one block through nights and weekends), times in UTC, a stable UID per cycle,
    /// meeting and day (the first day keeps the meeting's UID, so re-importing replaces an
    /// older single block), and `DTSTAMP` fixed to `stamp` so the same calendar gives the same
    /// bytes. `invitees(artifact)` names the owner, the organizer and the attendees.
    pub fn ics(
        &self,
        company: &str,
        cycles: &[Cycle],
        stamp: chrono::DateTime<Utc>,
        invitees: &dyn Fn(Artifact) -> Invitees,
    ) -> String {
        let uid_domain: String =
            company.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let mut out = String::new();
        let mut line = |text: String| out.push_str(&fold(&text));
        line("BEGIN:VCALENDAR".into());
        line("VERSION:2.0".into());
        line("PRODID:-//snop//S&OP cycle calendar//EN".into());
        line("CALSCALE:GREGORIAN".into());
        line("METHOD:PUBLISH".into());
        line(format!("X-WR-CALNAME:{}", escape(&format!("{company} S&OP cycle"))));
        let utc = |t: chrono::DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
        for c in cycles {
            for m in &c.meetings {
                let who = invitees(m.artifact);
                let slot = &self.slots[Artifact::ALL.iter().position(|a| *a == m.artifact).expect("listed")];
                let start = slot.start;
                let end = slot.end().unwrap_or(self.hours.1);
                let days = self.meeting_days(m);
                for (i, day) in days.iter().enumerate() {
                    let agent = m.artifact.agent().name();
                    let uid = if i == 0 {
                        format!("snop-{}-{agent}", c.month)
                    } else {
                        format!("snop-{}-{agent}-day{}", c.month, i + 1)
                    };
                    let of = if days.len() > 1 { format!(", day {} of {}", i + 1, days.len()) } else { String::new() };
                    line("BEGIN:VEVENT".into());
                    line(format!("UID:{uid}@{uid_domain}.snop"));
                    line(format!("DTSTAMP:{}", utc(stamp)));
                    line(format!("DTSTART:{}", utc(self.to_utc(*day, start))));
                    line(format!("DTEND:{}", utc(self.to_utc(*day, end))));
                    line(format!(
                        "SUMMARY:{}",
                        escape(&format!("{} {}{of} ({company})", title(m.artifact.meeting()), c.month))
                    ));
                    if let Some((name, email)) = &who.organizer {
                        line(format!("ORGANIZER;CN={}:mailto:{email}", param(name)));
                    }
                    for a in &who.attendees {
                        let role = if a.chair { "CHAIR" } else { "REQ-PARTICIPANT" };
                        // RFC 5545 wants an address; without an e-mail, the `invalid:nomail` of
                        // Outlook and Apple Calendar.
                        let address = a.email.as_ref().map_or("invalid:nomail".to_string(), |e| format!("mailto:{e}"));
                        line(format!("ATTENDEE;CN={};ROLE={role};PARTSTAT=NEEDS-ACTION:{address}", param(&a.name)));
                    }
                    line(format!("DESCRIPTION:{}", escape(&agenda_outline(m.artifact, &who.owner))));
                    line("TRANSP:OPAQUE".into());
                    line("END:VEVENT".into());
                }
            }
        }
        line("END:VCALENDAR".into());
        out
    }

    /// How many events [`Calendar::ics`] writes for `cycles`: one per meeting day.
    pub fn event_count(&self, cycles: &[Cycle]) -> usize {
        cycles.iter().flat_map(|c| &c.meetings).map(|m| self.meeting_days(m).len()).sum()
    }
}

fn title(meeting: &str) -> String {
    let mut chars = meeting.chars();
    chars.next().map(|f| f.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The five lines of every meeting's agenda (the guide's template), as an invite's description.
pub fn agenda_outline(artifact: Artifact, owner: &str) -> String {
    let next = match artifact.next() {
        Some(n) => format!("What the {} must decide, by whom and when", n.meeting()),
        None => "What the next cycle must decide, by whom and when".to_string(),
    };
    let mut s = format!("Owner: {owner}. Output: the {}.\n", artifact.title());
    for (i, l) in [
        "Last cycle's commitments: kept, missed, re-negotiated".to_string(),
        format!("This cycle's primary output: the {}", artifact.title()),
        "Top 3 risks or open questions".to_string(),
        next,
        "Owner of each decision and the date it is due".to_string(),
    ]
    .iter()
    .enumerate()
    {
        let _ = writeln!(s, "{}. {l}", i + 1);
    }
    s.trim_end().to_string()
}

fn ordinal(n: u32) -> &'static str {
    ["first", "second", "third", "fourth", "fifth"].get(n as usize - 1).copied().unwrap_or("last")
}

/// RFC 5545 text escaping.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace('\n', "\\n")
}

/// A parameter value, quoted when it holds a separator.
fn param(s: &str) -> String {
    let clean = s.replace('"', "'");
    if clean.contains([':', ';', ',']) { format!("\"{clean}\"") } else { clean }
}

/// Folds a content line at 75 octets (on character boundaries) and ends it with CRLF.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for ch in line.chars() {
        let w = ch.len_utf8();
        if width + w > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += w;
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
pub(crate) mod tests;
