//! The executive's decisions: the supply plan's gaps grouped by root cause, each group with 2-4
//! options built from its member gaps' options, what each buys, and a recommendation; the cap on
//! what reaches the executive; and the notices (what nobody decides this cycle). The grouping
//! rules are in the module doc of `reconcile`.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    CHEAPEST_FIXES, Decision, DecisionOption, MemberGap, Notice, NoticeKind, Recommendation, ReconcileInputs, Resolved,
    Root, gap_steps, leads_resolve, option_key, quarter_of,
};
use crate::analysis::r2;
use crate::analysis::supply::{Gap, GapKind, OptionKind, RecommendedStep};

/// At most this many options per decision (the cheapest fixes and accepting the shortfall
/// always among them).
pub const MAX_OPTIONS: usize = 4;

/// What the grouping makes of the supply plan's gaps.
pub(super) struct Grouped {
    /// The executive's decisions, ranked (at most the cap).
    pub decisions: Vec<Decision>,
    pub resolved: Vec<Resolved>,
    /// Frozen, no fix, below the cap: in that order, each kind by margin at risk.
    pub notices: Vec<Notice>,
}

/// Which bucket a gap goes to, before the cap.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Bucket {
    Frozen(String),
    NoFix(String),
    Decide(String),
}

/// The plan months S&OP can no longer change: the first `[supply] frozen_months` of the plan.
pub fn frozen_months(inputs: &ReconcileInputs<'_>) -> BTreeSet<String> {
    let s = inputs.supply;
    s.plan_months.iter().take(s.params.frozen_months as usize).cloned().collect()
}

/// The root cause a gap is decided under: `RES-<resource>-<quarter>` for capacity and labour,
/// `COMP-<component>` for material, `SUPPLIER-<supplier>` for a supplier's delivery risk.
pub fn root_key(g: &Gap) -> (Root, String) {
    match g.kind {
        GapKind::Capacity | GapKind::Labour => {
            (Root::ResourceQuarter, format!("RES-{}-{}", g.resource.as_deref().unwrap_or("?"), quarter_of(&g.month)))
        }
        GapKind::Material => (Root::Component, format!("COMP-{}", g.component.as_deref().unwrap_or("?"))),
        GapKind::Supplier => (Root::Supplier, format!("SUPPLIER-{}", g.supplier.as_deref().unwrap_or("?"))),
    }
}

/// The family a gap's shortfall falls on: its first SKU's (the SKUs are sorted).
fn family_of<'a>(g: &Gap, items: &'a BTreeMap<String, (String, f64)>) -> &'a str {
    g.skus_hit.iter().find_map(|s| items.get(s)).map_or("(unknown family)", |(f, _)| f.as_str())
}

/// Whether a gap offers any fix (an option other than accepting the shortfall).
fn has_fix(g: &Gap) -> bool {
    g.options.iter().any(|o| o.kind != OptionKind::AcceptShortfall && o.closes_units > 1e-9)
}

/// Groups the gaps: frozen ones, resolved ones, no-fix ones and the rest by root cause; the
/// decisions ranked and capped, the rest notices.
pub(super) fn group(inputs: &ReconcileInputs<'_>) -> Grouped {
    let limit = inputs.params.leads_may_approve_up_to;
    let frozen = frozen_months(inputs);
    let mut buckets: BTreeMap<Bucket, Vec<&Gap>> = BTreeMap::new();
    let mut resolved = Vec::new();
    for g in &inputs.supply.gaps {
        let bucket = if frozen.contains(&g.month) {
            Bucket::Frozen(format!("FROZEN-{}-{}", g.month, super::kind_word(g.kind)))
        } else if leads_resolve(g, limit) {
            resolved.push(super::resolved_gap(g));
            continue;
        } else if !has_fix(g) {
            Bucket::NoFix(format!("FAM-{}-{}", family_of(g, inputs.items), quarter_of(&g.month)))
        } else {
            Bucket::Decide(root_key(g).1)
        };
        buckets.entry(bucket).or_default().push(g);
    }
    let service = ServiceBase::new(inputs);
    let mut candidates = Vec::new();
    let mut notices = Vec::new();
    for (bucket, members) in &mut buckets {
        members.sort_by(|a, b| a.month.cmp(&b.month).then(a.id.cmp(&b.id)));
        let members = &*members;
        match bucket {
            Bucket::Frozen(id) => notices.push(notice(id, NoticeKind::Frozen, members, inputs)),
            Bucket::NoFix(id) => notices.push(notice(id, NoticeKind::NoFix, members, inputs)),
            Bucket::Decide(id) => candidates.push(decision(id, members, inputs, &service)),
        }
    }
    rank(&mut candidates);
    let cap = inputs.params.max_executive_decisions;
    let below: Vec<Decision> = if candidates.len() > cap { candidates.split_off(cap) } else { Vec::new() };
    let gaps: BTreeMap<&str, &Gap> = inputs.supply.gaps.iter().map(|g| (g.id.as_str(), g)).collect();
    for d in below {
        let members: Vec<&Gap> = d.gaps.iter().filter_map(|m| gaps.get(m.id.as_str()).copied()).collect();
        let mut n = notice(&d.id, NoticeKind::BelowCap, &members, inputs);
        n.text = format!(
            "{}; beyond the executive's {cap} decisions (ranked {}): the supply plan's least-cost fixes stand unless someone decides otherwise (they cost {} and keep {} of margin)",
            n.text,
            d.rank,
            super::money(d.options[0].spend_money),
            super::money(d.options[0].margin_kept_money)
        );
        notices.push(n);
    }
    notices.sort_by(|a, b| {
        a.kind.cmp(&b.kind).then(b.margin_at_risk_money.total_cmp(&a.margin_at_risk_money)).then(a.id.cmp(&b.id))
    });
    Grouped { decisions: candidates, resolved, notices }
}

/// Orders decisions by margin at risk (highest first), then first month and id; ranks from 1.
fn rank(decisions: &mut [Decision]) {
    decisions.sort_by(|a, b| {
        b.margin_at_risk_money.total_cmp(&a.margin_at_risk_money).then(a.month.cmp(&b.month)).then(a.id.cmp(&b.id))
    });
    for (i, d) in decisions.iter_mut().enumerate() {
        d.rank = i + 1;
    }
}

/// The months of a group of gaps, sorted, once each.
fn months_of(members: &[&Gap]) -> Vec<String> {
    members.iter().map(|g| g.month.clone()).collect::<BTreeSet<_>>().into_iter().collect()
}

/// Where a group is, as a planner says it.
fn place_of_group(members: &[&Gap]) -> String {
    let g = members[0];
    match g.kind {
        GapKind::Capacity | GapKind::Labour => format!("{} in {}", super::place_of(g), quarter_of(&g.month)),
        GapKind::Material => super::place_of(g),
        GapKind::Supplier => format!(
            "deliveries of {} from {}",
            plural(members.iter().filter_map(|g| g.component.as_deref()).collect::<BTreeSet<_>>().len(), "component"),
            g.supplier.as_deref().unwrap_or("its supplier")
        ),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

/// A notice: a group of gaps nobody decides this cycle, and why.
fn notice(id: &str, kind: NoticeKind, members: &[&Gap], inputs: &ReconcileInputs<'_>) -> Notice {
    let months = months_of(members);
    let units: f64 = members.iter().map(|g| g.units_short).sum();
    let margin: f64 = members.iter().map(|g| g.margin_at_risk_money).sum();
    let revenue: f64 = members.iter().map(|g| g.revenue_at_risk_money).sum();
    let customers: BTreeSet<&str> = members.iter().flat_map(|g| g.customers_hit.iter().map(String::as_str)).collect();
    let place = match kind {
        NoticeKind::Frozen => {
            format!("{} {} gap(s) in {}", members.len(), super::kind_word(members[0].kind), months.join(", "))
        }
        NoticeKind::NoFix => {
            format!("family {} in {}", family_of(members[0], inputs.items), quarter_of(&members[0].month))
        }
        _ => place_of_group(members),
    };
    let text = match kind {
        NoticeKind::Frozen => format!(
            "inside the frozen horizon ({}): S&OP can no longer change it; {} units short, {} of margin at risk",
            months.join(", "),
            super::money(units),
            super::money(margin)
        ),
        NoticeKind::NoFix => format!(
            "no fix exists: {} units short, {} of margin at risk, shared by the allocation rule",
            super::money(units),
            super::money(margin)
        ),
        NoticeKind::BelowCap => {
            format!("{} units short, {} of margin at risk", super::money(units), super::money(margin))
        }
    };
    Notice {
        id: id.to_string(),
        kind,
        place,
        months,
        gaps: members.iter().map(|g| g.id.clone()).collect(),
        units_short: r2(units),
        revenue_at_risk_money: r2(revenue),
        margin_at_risk_money: r2(margin),
        customers_hit: customers.len(),
        text,
    }
}

/// Demand and constrained units by (SKU, month), for a decision's service level.
pub(super) struct ServiceBase<'a> {
    cells: BTreeMap<(&'a str, &'a str), (f64, f64)>,
}

impl<'a> ServiceBase<'a> {
    pub(super) fn new(inputs: &'a ReconcileInputs<'_>) -> ServiceBase<'a> {
        let mut cells: BTreeMap<(&str, &str), (f64, f64)> = BTreeMap::new();
        for p in &inputs.supply.constrained_plan {
            let c = cells.entry((p.sku.as_str(), p.month.as_str())).or_default();
            c.0 += p.demand_units;
            c.1 += p.constrained_units;
        }
        ServiceBase { cells }
    }

    /// Demand and planned units of the SKUs the gaps hit, in their months (each SKU-month once).
    fn of(&self, members: &[&Gap]) -> (f64, f64) {
        let keys: BTreeSet<(&str, &str)> =
            members.iter().flat_map(|g| g.skus_hit.iter().map(|s| (s.as_str(), g.month.as_str()))).collect();
        keys.iter().filter_map(|k| self.cells.get(k)).fold((0.0, 0.0), |a, c| (a.0 + c.0, a.1 + c.1))
    }
}

/// Units a set of steps closes on a gap (fixes only, at most the gap).
fn closed(g: &Gap, steps: &[RecommendedStep]) -> f64 {
    steps.iter().filter(|s| s.kind != OptionKind::AcceptShortfall).map(|s| s.units).sum::<f64>().min(g.units_short)
}

/// The steps a member gap takes when its decision takes `key`: the gap's own under that key, or
/// its cheapest fixes when it does not offer the key (as the executive's re-plan does: an option
/// a gap does not have changes nothing of it).
fn steps_under(g: &Gap, key: &str) -> Vec<RecommendedStep> {
    gap_steps(g, key).or_else(|| gap_steps(g, CHEAPEST_FIXES)).unwrap_or_default()
}

/// One option of a decision: every member gap's steps under `key` (a gap that does not offer
/// it keeps its cheapest fixes), and what that buys.
pub(super) fn option_of(key: &str, members: &[&Gap], demand_planned: (f64, f64)) -> DecisionOption {
    let (mut units, mut revenue, mut margin, mut spend, mut with_fix) = (0.0, 0.0, 0.0, 0.0, 0);
    let mut still_hit: BTreeSet<&str> = BTreeSet::new();
    let margin_at_risk: f64 = members.iter().map(|g| g.margin_at_risk_money).sum();
    for g in members {
        let steps = steps_under(g, key);
        let c = closed(g, &steps);
        let share = if g.units_short > 0.0 { c / g.units_short } else { 0.0 };
        let takes = match key {
            CHEAPEST_FIXES | "accept_shortfall" => c > 1e-9,
            _ => gap_steps(g, key).is_some(),
        };
        if takes {
            with_fix += 1;
        }
        units += c;
        revenue += g.revenue_at_risk_money * share;
        margin += g.margin_at_risk_money * share;
        spend += steps.iter().filter(|s| s.kind != OptionKind::AcceptShortfall).map(|s| s.cost_money).sum::<f64>();
        if share < 1.0 - 1e-9 {
            still_hit.extend(g.customers_hit.iter().map(String::as_str));
        }
    }
    let (demand, planned) = demand_planned;
    let service = (demand > 1e-9).then(|| r2(100.0 * (planned + units).min(demand) / demand));
    DecisionOption {
        key: key.to_string(),
        label: option_label(key, with_fix, members.len()),
        closes_units: r2(units),
        revenue_kept_money: r2(revenue),
        margin_kept_money: r2(margin),
        spend_money: r2(spend),
        lost_margin_money: r2(margin_at_risk - margin),
        service_level_percent: service,
        customers_still_hit: still_hit.into_iter().map(str::to_string).collect(),
        gaps_with_fix: with_fix,
        plan: None,
    }
}

/// An option as a person reads it.
fn option_label(key: &str, with_fix: usize, of: usize) -> String {
    let all = match key {
        CHEAPEST_FIXES if with_fix < of => format!("{with_fix} of {of} gaps, the rest short"),
        _ if with_fix < of => format!("{with_fix} of {of} gaps, the others their cheapest fixes"),
        _ => "every gap".to_string(),
    };
    match key {
        CHEAPEST_FIXES => format!("the cheapest fixes of each gap ({all})"),
        "accept_shortfall" => "accept the shortfall: no spend, the margin is lost".to_string(),
        k => format!("{} ({all})", k.replace('_', " ")),
    }
}

/// The options of a group: the cheapest fixes of each gap, each fix kind any member offers (at
/// most two, the best net value first), and accepting the shortfall; an option that does to
/// every gap what an earlier one does is left out.
fn options_of(members: &[&Gap], base: (f64, f64)) -> Vec<DecisionOption> {
    let cheapest = option_of(CHEAPEST_FIXES, members, base);
    let kinds: BTreeSet<OptionKind> = members
        .iter()
        .flat_map(|g| g.options.iter().map(|o| o.kind))
        .filter(|k| *k != OptionKind::AcceptShortfall)
        .collect();
    let same_as_cheapest = |k: OptionKind| {
        members.iter().all(|g| {
            let a = gap_steps(g, CHEAPEST_FIXES).unwrap_or_default();
            let b = steps_under(g, option_key(k));
            a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.kind == y.kind && (x.units - y.units).abs() < 1e-9)
        })
    };
    let mut alternatives: Vec<DecisionOption> = kinds
        .into_iter()
        .filter(|k| !same_as_cheapest(*k))
        .map(|k| option_of(option_key(k), members, base))
        .filter(|o| o.closes_units > 1e-9)
        .collect();
    let net = |o: &DecisionOption| o.margin_kept_money - o.spend_money;
    alternatives.sort_by(|a, b| net(b).total_cmp(&net(a)).then(a.key.cmp(&b.key)));
    alternatives.truncate(MAX_OPTIONS - 2);
    let mut options = vec![cheapest];
    options.extend(alternatives);
    options.push(option_of("accept_shortfall", members, base));
    options
}

/// A decision for a group of gaps with at least one fix between them.
fn decision(id: &str, members: &[&Gap], inputs: &ReconcileInputs<'_>, service: &ServiceBase<'_>) -> Decision {
    let money = super::money;
    let limit = inputs.params.leads_may_approve_up_to;
    let base = service.of(members);
    let options = options_of(members, base);
    let units: f64 = members.iter().map(|g| g.units_short).sum();
    let margin: f64 = members.iter().map(|g| g.margin_at_risk_money).sum();
    let revenue: f64 = members.iter().map(|g| g.revenue_at_risk_money).sum();
    let cheapest = &options[0];
    // Under a hundredth of a unit short is rounding, not a shortfall.
    let short = units - cheapest.closes_units;
    let why = if short >= 0.01 {
        format!("no set of fixes closes all of it: {} of {} units would be accepted short", money(short), money(units))
    } else {
        format!("its fixes cost {}, over the {} the leads may approve", money(cheapest.spend_money), money(limit))
    };
    // The recommendation: the cheapest fixes when the least-cost plan used a fix on a member gap
    // (each gap's recommended steps are that plan's, so recommending them keeps the signed plan
    // the supply plan: the estimates below never overrule the optimiser); else the best net value
    // (margin kept less spend), ties to the earlier.
    let net = |o: &DecisionOption| o.margin_kept_money - o.spend_money;
    let planned_fix = members.iter().any(|g| g.recommended.iter().any(|s| s.kind != OptionKind::AcceptShortfall));
    let best = match options.iter().find(|o| o.key == CHEAPEST_FIXES) {
        Some(o) if planned_fix => o,
        _ => options.iter().fold(&options[0], |b, o| if net(o) > net(b) + 1e-9 { o } else { b }),
    };
    let service_now = (base.0 > 1e-9).then(|| 100.0 * base.1 / base.0);
    let customers: BTreeSet<&str> = members.iter().flat_map(|g| g.customers_hit.iter().map(String::as_str)).collect();
    let buys = buys(best, units, service_now);
    let months = months_of(members);
    Decision {
        rank: 0,
        id: id.to_string(),
        root: root_key(members[0]).0,
        kind: members[0].kind,
        place: place_of_group(members),
        month: months[0].clone(),
        months,
        near_term: members.iter().any(|g| g.near_term),
        units_short: r2(units),
        revenue_at_risk_money: r2(revenue),
        margin_at_risk_money: r2(margin),
        customers_hit: customers.into_iter().map(str::to_string).collect(),
        why,
        gaps: members
            .iter()
            .map(|g| MemberGap {
                id: g.id.clone(),
                kind: g.kind,
                month: g.month.clone(),
                units_short: g.units_short,
                margin_at_risk_money: g.margin_at_risk_money,
                options: gap_option_keys(g),
            })
            .collect(),
        recommendation: Recommendation {
            option: best.key.clone(),
            cost_money: best.spend_money,
            buys,
            owner: inputs.decision_owner.clone(),
            due: inputs.executive_date.clone(),
        },
        service_level_percent: service_now.map(r2),
        options,
    }
}

/// What an option buys, as the recommendation says it: "closes 120 of 150 units for 3,000,
/// keeps 9,000 of margin; service 91.0% to 97.0%". An option that spends less than accepting
/// the shortfall (the plan without its fixes may spend more elsewhere, under `priority_first`)
/// "spends 4,582 less", one that loses margin "loses 300 of margin": no negative amount to read.
pub(super) fn buys(best: &DecisionOption, units: f64, service_now: Option<f64>) -> String {
    let money = super::money;
    let negative = |x: f64| money(x).starts_with('-');
    let spend = if negative(best.spend_money) {
        format!("and spends {} less", money(-best.spend_money))
    } else {
        format!("for {}", money(best.spend_money))
    };
    let margin = if negative(best.margin_kept_money) {
        format!("loses {} of margin", money(-best.margin_kept_money))
    } else {
        format!("keeps {} of margin", money(best.margin_kept_money))
    };
    format!(
        "closes {} of {} units {spend}, {margin}{}",
        money(best.closes_units),
        money(units),
        match (service_now, best.service_level_percent) {
            (Some(a), Some(b)) => format!("; service {} to {}", super::percent(a), super::percent(b)),
            _ => String::new(),
        }
    )
}

/// The option keys a gap may be given on its own: its cheapest fixes, each of its options.
pub fn gap_option_keys(g: &Gap) -> Vec<String> {
    let mut keys = vec![CHEAPEST_FIXES.to_string()];
    for o in &g.options {
        let k = option_key(o.kind).to_string();
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    if !keys.iter().any(|k| k == "accept_shortfall") {
        keys.push("accept_shortfall".into());
    }
    keys
}

/// The kind of a notice as a word.
pub fn notice_word(k: NoticeKind) -> &'static str {
    match k {
        NoticeKind::Frozen => "frozen horizon",
        NoticeKind::NoFix => "no fix",
        NoticeKind::BelowCap => "below the cap",
    }
}

/// A root cause as a word.
pub fn root_word(r: Root) -> &'static str {
    match r {
        Root::ResourceQuarter => "a resource over a quarter",
        Root::Component => "a component",
        Root::Supplier => "a supplier",
        Root::Gap => "one gap",
    }
}
