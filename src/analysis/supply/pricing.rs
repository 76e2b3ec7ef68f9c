//! The plan and every gap priced by the model: the least-cost plan of the optimiser is the
//! constrained plan, and each gap's options are whole plans re-solved with levers of the gap's
//! scope forbidden.
//!
//! Pricing is done at the least cost alone ([`lp::Pricer`]: one stage, not every lexicographic
//! stage, re-solved warm from the last basis with the forbidden levers' columns bounded): S
//! below is the least-cost stage of the plan, and every re-solve is the least cost with more
//! forbidden. An option's cost is therefore exact, and what it
//! serves is a least-cost plan's; the allocation rule (who is served when costs tie, or
//! priority first) shares the plan afterwards and moves no option's cost under `cost_first`.
//! Measured on the demo company (300 SKUs, 100 customers), full lexicographic re-solves took
//! too long in a debug build (HiGHS unoptimised) for a review people run on demand.
//!
//! For a gap with scope levers L (see `gaps`) and the least-cost plan S:
//! - the **recommended** steps are what S does: each kind of lever it used in L, the main one
//!   (the most spend) first, with its spend in S and the units it buys (served in the gap's
//!   demand, its SKUs in its month, over the plan with one kind fewer: a chain of re-solves from
//!   the plan without any of L up to S); then the shortfall S accepts in the gap's demand, at the
//!   lost margin of the lines it cuts;
//! - the **options** are plans: the recommended one (S), each other kind S used alone (L's other
//!   kinds forbidden), and accepting the shortfall (all of L forbidden: A). Each option's figures
//!   are its plan's: units, revenue and margin served in the gap's demand over A's, and a cost
//!   that is the recommended steps' cost plus what its whole plan costs over S (spend and lost
//!   margin apart), so options compare exactly as their plans do, ripples elsewhere included;
//! - the gap's units short and what it puts at risk are A's unmet demand in the gap's demand.
//!
//! A gap whose levers S does not use costs no re-solve (A is S). A gap inside the frozen horizon
//! is a notice: no re-solve, its one option accepting the shortfall the plan leaves. Re-solves are cached by
//! their forbidden set, so two gaps with the same scope (a material and a supplier gap of one
//! component) share them. A re-solve solves only the pieces of the problem its levers are in
//! (`lp::split`: the connected components), the rest keep the reference plan.
//!
//! **The budget** is counted in the work, not the gaps: piece solves (`lp::Pricer`: a warm
//! least-cost re-solve of one piece counts 1, a cold solve of a piece's every stage
//! [`COLD_PIECE_SOLVES`]), at most `[supply] max_piece_solves`, and re-solves, at most
//! `[supply] max_re_solves`. First the plan with every fix forbidden (every stage, for the
//! revenue "with every shortfall accepted"): only the pieces a fix lever reaches are solved, the
//! others keep the plan's (`Pricer::plan_without`, the cold solve's plan to the bit); if they do not fit the piece budget the figure is
//! left out (`None`). Then the gaps, in order of what is at stake in S (the margin S loses in
//! their demand plus its spend on their levers, the most first): a gap is re-solved when its
//! bound (`2k - 1` re-solves for the `k` kinds S uses, each solving at most the pieces its
//! levers reach whose least-cost plan uses one) fits what is left of both budgets; else it is
//! priced by S alone (`priced_by: "plan"`: S's fixes and their spend, the shortfall S accepts;
//! no other option, no next-best cost, units short those S leaves), so no figure stands for a
//! plan nobody solved. A later gap that fits is still re-solved, so the count never passes the
//! budget and the order of stake is kept among the re-solved.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::lp::{self, Lever, Problem, Solution, SolveError};
use super::masters::Masters;
use super::{Gap, GapOption, OptionKind, PlanAdjustments, PricedBy, RecommendedStep, r2, r3};
use crate::analysis::AnalysisError;

/// Units below this are nothing: the lexicographic stages hold each optimum within a small
/// slack ([`lp::HOLD_ABSOLUTE`]), so a line served in full may show a millionth short; the facts
/// round units to thousandths.
pub(super) const UNIT_EPS: f64 = 1e-4;

/// Re-solved plans kept for reuse.
const CACHED_PLANS: usize = 32;

/// (SKU, customer) to the constrained units per plan month.
pub(super) type Constrained = BTreeMap<(usize, usize), Vec<f64>>;

/// The optimiser's levers that are a gap's own, and the demand it hits.
pub(super) struct Scope {
    /// The finished SKUs (indices of the masters' items and of the problem's items).
    pub(super) skus: BTreeSet<usize>,
    /// The plan month whose demand is hit.
    pub(super) month: usize,
    pub(super) levers: Vec<(OptionKind, Lever)>,
}

impl Scope {
    fn levers_of(&self, keep: impl Fn(OptionKind) -> bool) -> BTreeSet<Lever> {
        self.levers.iter().filter(|(k, _)| keep(*k)).map(|(_, l)| *l).collect()
    }
}

/// A detected gap and its scope.
pub(super) struct Found {
    pub(super) gap: Gap,
    pub(super) scope: Scope,
}

/// The levers the decisions forbid: per decided gap, its levers of the kinds forbidden.
pub(super) fn decided(found: &[Found], adjust: &PlanAdjustments) -> BTreeSet<Lever> {
    let mut out = BTreeSet::new();
    for f in found {
        let kinds = adjust.forbidden_kinds(&f.gap.id);
        out.extend(f.scope.levers_of(|k| kinds.contains(&k)));
    }
    out
}

/// Every lever of every gap: the plan with every shortfall accepted forbids them all.
pub(super) fn all_fix_levers(found: &[Found]) -> BTreeSet<Lever> {
    found.iter().flat_map(|f| f.scope.levers.iter().map(|(_, l)| *l)).collect()
}

/// Solves the problem with the decisions' levers forbidden, and re-solves it with more
/// forbidden, each forbidden set once, within a budget of re-solves.
pub(super) struct Solver<'p> {
    problem: &'p Problem,
    forbid: BTreeSet<Lever>,
    /// The least-cost model, re-solved warm, piece by piece.
    pricer: lp::Pricer<'p>,
    /// The plan: every lexicographic stage.
    base: Rc<Solution>,
    /// Its least-cost stage alone: the reference every re-solve is priced against.
    reference: Rc<Solution>,
    cache: BTreeMap<BTreeSet<Lever>, Rc<Solution>>,
    /// Demand lines per (plan month, item).
    lines: Rc<BTreeMap<(usize, usize), Vec<usize>>>,
    /// Re-solves made (the base plan not counted).
    pub(super) solves: usize,
    /// Re-solves allowed for pricing.
    budget: usize,
    /// Piece solves allowed for pricing, in warm least-cost piece re-solves (a cold
    /// lexicographic piece solve counts [`COLD_PIECE_SOLVES`]).
    piece_budget: usize,
    /// Cold lexicographic piece solves made for the plan with every fix forbidden.
    cold_pieces: usize,
}

/// What a cold solve of a piece's every lexicographic stage (the plan with every fix forbidden)
/// counts against `[supply] max_piece_solves`, in warm least-cost re-solves of a piece: measured
/// in release, 9.0 s against 78 ms at 1/100 of `snop bench supply` (115x), 6.6 s against 86 ms
/// per piece at 1/10 (77x).
pub(super) const COLD_PIECE_SOLVES: usize = 100;

impl<'p> Solver<'p> {
    pub(super) fn new(
        problem: &'p Problem,
        forbid: BTreeSet<Lever>,
        cut: lp::SplitOptions,
        budget: usize,
        piece_budget: usize,
    ) -> Result<Solver<'p>, SolveError> {
        // The plan, every stage; its first stage is the least-cost reference (no second solve).
        let (mut pricer, base) = lp::Pricer::with_plan(problem, &forbid, cut)?;
        let base = Rc::new(base);
        let reference = Rc::new(pricer.reference()?);
        let mut lines: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        for (d, line) in problem.demand.iter().enumerate() {
            lines.entry((line.month, line.item)).or_default().push(d);
        }
        Ok(Solver {
            problem,
            forbid,
            pricer,
            base,
            reference,
            cache: BTreeMap::new(),
            lines: Rc::new(lines),
            solves: 1,
            budget,
            piece_budget,
            cold_pieces: 0,
        })
    }

    /// The plan (the least-cost one, with the decisions imposed).
    pub(super) fn base(&self) -> &Solution {
        &self.base
    }

    /// The pieces the optimiser cut the problem into, and whether any is an approximation.
    pub(super) fn pieces(&self) -> (usize, bool) {
        (self.pricer.split().pieces.len(), self.pricer.split().approximate())
    }

    /// Piece solves pricing has spent, in warm least-cost re-solves of a piece.
    pub(super) fn piece_solves(&self) -> usize {
        self.pricer.piece_solves + COLD_PIECE_SOLVES * self.cold_pieces
    }

    /// At most the piece solves pricing a gap takes: its re-solves (the plan without any of its
    /// levers, a chain of one kind fewer each and each other kind alone: `2k - 1` for the `k`
    /// kinds the plan uses, fewer when cached), each solving at most the pieces the re-solve
    /// without all of them solves.
    fn gap_bound(&self, scope: &Scope) -> usize {
        let kinds = uses(self.problem, scope, &self.reference).len().max(1);
        (2 * kinds - 1) * self.pricer.pieces_to_solve(&scope.levers_of(|_| true))
    }

    /// The least cost re-solved with `extra` forbidden as well.
    fn without(&mut self, extra: &BTreeSet<Lever>) -> Result<Rc<Solution>, SolveError> {
        if extra.is_subset(&self.forbid) {
            return Ok(self.reference.clone());
        }
        let all: BTreeSet<Lever> = self.forbid.union(extra).copied().collect();
        if let Some(s) = self.cache.get(&all) {
            return Ok(s.clone());
        }
        let s = Rc::new(self.pricer.solve_without(&all)?);
        self.solves += 1;
        // Each entry is a whole plan: keep the last few (a gap's own re-solves, and the next
        // gap of the same scope, come one after the other), not every one (at 1/10 of the
        // benchmark, 1,000 plans held 6 GB).
        if self.cache.len() >= CACHED_PLANS {
            self.cache.clear();
        }
        self.cache.insert(all, s.clone());
        Ok(s)
    }

    /// A plan's outcome in a gap's demand.
    fn in_scope(&self, scope: &Scope, plan: &Solution) -> InScope {
        in_scope(self.problem, &self.lines, scope, plan)
    }
}

/// The plan's served units per (SKU, customer) and month.
pub(super) fn constrained(masters: &Masters<'_>, problem: &Problem, plan: &Solution) -> Constrained {
    let mut out: Constrained = BTreeMap::new();
    for (d, line) in problem.demand.iter().enumerate() {
        let Some(&c) = masters.cust_ix.get(&line.customer) else { continue };
        out.entry((line.item, c)).or_insert_with(|| vec![0.0; masters.n])[line.month] += plan.served[d];
    }
    out
}

/// A plan's outcome in a gap's demand: served and unmet units, revenue and margin served, margin
/// lost, and units served per customer.
#[derive(Default)]
struct InScope {
    served: f64,
    unmet: f64,
    revenue: f64,
    margin: f64,
    lost: f64,
    unmet_revenue: f64,
    by_customer: BTreeMap<String, f64>,
}

fn in_scope(p: &Problem, lines: &BTreeMap<(usize, usize), Vec<usize>>, scope: &Scope, plan: &Solution) -> InScope {
    let mut out = InScope::default();
    for &item in &scope.skus {
        for &d in lines.get(&(scope.month, item)).into_iter().flatten() {
            let line = &p.demand[d];
            let k = plan.served[d];
            out.served += k;
            out.unmet += line.qty - k;
            out.revenue += k * line.unit_price;
            out.margin += k * line.unit_margin;
            out.lost += (line.qty - k) * line.unit_margin;
            out.unmet_revenue += (line.qty - k) * line.unit_price;
            *out.by_customer.entry(line.customer.clone()).or_default() += k;
        }
    }
    out
}

/// What a plan does with one kind of a gap's levers: the spend and the words.
struct Use {
    kind: OptionKind,
    spend: f64,
    details: Vec<String>,
}

/// The gap's levers a plan uses, per kind (in the kinds' order), with their spend.
fn uses(p: &Problem, scope: &Scope, plan: &Solution) -> Vec<Use> {
    let mut out: BTreeMap<OptionKind, Use> = BTreeMap::new();
    for &(kind, lever) in &scope.levers {
        let Some((qty, spend, detail)) = lever_use(p, plan, lever) else { continue };
        if qty <= UNIT_EPS {
            continue;
        }
        let u = out.entry(kind).or_insert_with(|| Use { kind, spend: 0.0, details: Vec::new() });
        u.spend += spend;
        u.details.push(detail);
    }
    out.into_values().collect()
}

/// How much of a lever a plan uses, what that costs, and the words for it.
fn lever_use(p: &Problem, s: &Solution, lever: Lever) -> Option<(f64, f64, String)> {
    let month = |t: usize| p.months.get(t).cloned().unwrap_or_default();
    // Written as `format_number` writes numbers (1,234.5), which `Locale::localize` turns into
    // the company's locale where a person reads it.
    let n = crate::analysis::format_number;
    Some(match lever {
        Lever::Overtime { resource, month: t } => {
            let h = *s.overtime.get(resource)?.get(t)?;
            let rate = p.resources[resource].months.get(t).map_or(0.0, |m| m.overtime_cost_per_hour);
            (h, h * rate, format!("{} h overtime on {} in {}", n(h), p.resources[resource].name, month(t)))
        }
        Lever::BuildAhead { item, month: t } => {
            let it = &p.items[item];
            let u = (s.item_stock.get(item)?.get(t.checked_sub(1)?)? - it.usable_stock()).max(0.0);
            (u, u * it.holding_cost_per_month, format!("{} units of {} built ahead into {}", n(u), it.name, month(t)))
        }
        Lever::Routing { item, routing, month: t } => {
            let it = &p.items[item];
            let r = it.routings.get(routing)?;
            let u = *s.production.get(item)?.get(routing)?.get(t)?;
            (u, u * r.premium_per_unit, format!("{} units of {} made on {} in {}", n(u), it.name, r.label, month(t)))
        }
        Lever::Expedite { component, month: t } => {
            let c = &p.components[component];
            let (mut u, mut spend) = (0.0, 0.0);
            for (o, opt) in c.options.iter().enumerate() {
                let q = *s.expedites.get(component)?.get(o)?.get(t)?;
                u += q;
                spend += q * (lp::purchase_premium(opt.unit_cost, c.unit_cost) + opt.expedite_premium_per_unit);
            }
            (u, spend, format!("{} units of {} expedited into {}", n(u), c.name, month(t)))
        }
        Lever::Purchase { component, option, month: t } => {
            let c = &p.components[component];
            let opt = c.options.get(option)?;
            let u = *s.purchases.get(component)?.get(option)?.get(t)?;
            let supplier = p.suppliers.get(opt.supplier).map_or("", |x| x.name.as_str());
            (
                u,
                u * lp::purchase_premium(opt.unit_cost, c.unit_cost),
                format!("{} units of {} from {supplier} at {} in {}", n(u), c.name, n(opt.unit_cost), month(t)),
            )
        }
    })
}

/// The plan's revenue (served units at their prices).
fn revenue(p: &Problem, plan: &Solution) -> f64 {
    p.demand.iter().zip(&plan.served).map(|(d, k)| k * d.unit_price).sum()
}

/// Prices every gap (see the module's doc): fills in each gap's units short, what it puts at
/// risk, its recommended steps and options. Without `price` (the executive's re-plan) nothing is
/// re-solved: each gap gets the shortfall the plan leaves. With it, the gaps with the most at
/// stake in the least-cost plan (margin it loses in their demand plus its spend on their fixes)
/// are re-solved first while the budget lasts; the rest are priced by that plan alone. Returns
/// the revenue of the plan with every gap's fixes forbidden (with `price` only, and only when
/// its pieces fit `[supply] max_piece_solves`: else `None`, the figure left out).
pub(super) fn price(solver: &mut Solver<'_>, found: &mut [Found], price: bool) -> Result<Option<f64>, AnalysisError> {
    let mut order: Vec<(f64, usize)> = Vec::new();
    for (k, f) in found.iter_mut().enumerate() {
        if price && !f.gap.frozen {
            let s = solver.in_scope(&f.scope, &solver.reference);
            let spend: f64 = uses(solver.problem, &f.scope, &solver.reference).iter().map(|u| u.spend).sum();
            order.push((s.lost + spend, k));
        } else {
            let s = solver.in_scope(&f.scope, solver.base());
            notice(&s, f);
        }
    }
    if !price {
        return Ok(None);
    }
    // The plan with every fix forbidden first (one figure the executive's financial slide
    // reads), if its pieces fit the budget; else left out (`None`), nothing spent.
    let all: BTreeSet<Lever> = solver.forbid.union(&all_fix_levers(found)).copied().collect();
    let cold = solver.pricer.plan_pieces_to_solve(&all).len();
    let without = if cold * COLD_PIECE_SOLVES <= solver.piece_budget {
        let plan = tracing::debug_span!("supply.without_fixes", pieces = cold)
            .in_scope(|| solver.pricer.plan_without(&all))?;
        solver.cold_pieces += cold;
        Some(revenue(solver.problem, &plan))
    } else {
        tracing::debug!(pieces = cold, "supply.pricing: the plan with every fix forbidden is beyond the budget");
        None
    };
    // The plan's pieces were kept for that plan alone: not held through the gaps' re-solves.
    solver.pricer.forget_plans();
    // The most at stake first; ties in the gaps' order. A gap whose re-solves could pass either
    // budget is priced by the plan alone; a later gap that fits is still re-solved.
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, k) in order {
        let fits = solver.solves < solver.budget
            && solver.piece_solves() + solver.gap_bound(&found[k].scope) <= solver.piece_budget;
        if fits {
            price_gap(solver, &mut found[k])?;
        } else {
            plan_only(solver, &mut found[k]);
        }
    }
    // The plan with every fix forbidden counts as a re-solve (after the gaps, as before the
    // piece budget: the re-solve budget prices as many gaps as it did).
    solver.solves += usize::from(without.is_some());
    tracing::debug!(
        re_solves = solver.solves,
        piece_solves = solver.piece_solves(),
        warm_piece_solves = solver.pricer.piece_solves,
        cold_pieces = solver.cold_pieces,
        models_built = solver.pricer.models_built,
        piece_solves_saved = solver.pricer.piece_solves_saved,
        "supply.pricing: gaps priced"
    );
    Ok(without)
}

/// A gap not re-priced: the shortfall the plan leaves in its demand, accepted; its one option
/// is accepting it (the plan as it is).
fn notice(s: &InScope, f: &mut Found) {
    let detail = if f.gap.frozen { "inside the frozen horizon: the plan as it is" } else { "the plan as it is" };
    as_planned(&mut f.gap, PricedBy::NotPriced, OptionKind::AcceptShortfall, detail.into(), 0.0, Vec::new(), s);
}

/// A gap beyond the pricing budget: what the least-cost plan does about it, and nothing the
/// plan did not compute. Its fixes with their spend (units bought not known without a
/// re-solve: 0), the shortfall it accepts; one option, the plan itself; no next-best cost.
fn plan_only(solver: &Solver<'_>, f: &mut Found) {
    let plan = solver.reference.clone();
    let s = solver.in_scope(&f.scope, &plan);
    let mut used = uses(solver.problem, &f.scope, &plan);
    used.sort_by(|a, b| b.spend.total_cmp(&a.spend).then(a.kind.cmp(&b.kind)));
    let spend: f64 = used.iter().map(|u| u.spend).sum();
    let kind = used.first().map_or(OptionKind::AcceptShortfall, |u| u.kind);
    let detail = if used.is_empty() {
        "the least-cost plan as it is (not re-solved: beyond the pricing budget)".into()
    } else {
        used.iter().flat_map(|u| u.details.iter().cloned()).collect::<Vec<_>>().join("; ")
    };
    let fixes = used.iter().map(|u| RecommendedStep { kind: u.kind, units: 0.0, cost_money: r2(u.spend) }).collect();
    as_planned(&mut f.gap, PricedBy::Plan, kind, detail, spend, fixes, &s);
    f.gap.next_best_extra_cost_money = None;
}

/// A gap's one option, the plan as it is: `spend` on the plan's `fixes` (none for a notice) and
/// the shortfall it leaves in the gap's demand, accepted; the recommendation is the same.
fn as_planned(
    g: &mut Gap,
    by: PricedBy,
    kind: OptionKind,
    detail: String,
    spend: f64,
    fixes: Vec<RecommendedStep>,
    s: &InScope,
) {
    g.priced_by = by;
    g.options = vec![GapOption {
        kind,
        detail,
        closes_units: 0.0,
        closes_percent: 0.0,
        fully_closes: s.unmet <= UNIT_EPS,
        cost_money: r2(spend + s.lost),
        cost_per_unit_money: 0.0,
        spend_money: r2(spend),
        lost_margin_money: r2(s.lost),
        revenue_kept_money: 0.0,
        margin_kept_money: 0.0,
        customers_served: Vec::new(),
    }];
    g.units_short = r3(s.unmet);
    g.revenue_at_risk_money = r2(s.unmet_revenue);
    g.margin_at_risk_money = r2(s.lost);
    g.recommended = fixes.into_iter().chain(accept_step(s)).collect();
    g.recommended_cost_money = r2(spend + s.lost);
    g.recommended_closes_units = 0.0;
}

fn accept_step(s: &InScope) -> Vec<RecommendedStep> {
    if s.unmet > UNIT_EPS {
        vec![RecommendedStep { kind: OptionKind::AcceptShortfall, units: r3(s.unmet), cost_money: r2(s.lost) }]
    } else {
        Vec::new()
    }
}

fn price_gap(solver: &mut Solver<'_>, f: &mut Found) -> Result<(), SolveError> {
    let p = solver.problem;
    let base = solver.reference.clone();
    let mut used = uses(p, &f.scope, &base);
    // The main fix: the most spend, then the kinds' order.
    used.sort_by(|a, b| b.spend.total_cmp(&a.spend).then(a.kind.cmp(&b.kind)));
    let accept_plan = solver.without(&f.scope.levers_of(|_| true))?;
    let (b, a) = (solver.in_scope(&f.scope, &base), solver.in_scope(&f.scope, &accept_plan));
    // The units each kind buys: a chain from the plan without any of the gap's levers, adding
    // the other kinds (in the kinds' order), then the main one (S itself).
    let mut chain: Vec<OptionKind> = used.iter().skip(1).map(|u| u.kind).collect();
    chain.sort();
    chain.extend(used.first().map(|u| u.kind));
    let mut units: BTreeMap<OptionKind, f64> = BTreeMap::new();
    let mut before = a.served;
    for j in 0..chain.len() {
        let allowed: BTreeSet<OptionKind> = chain[..=j].iter().copied().collect();
        let plan = if j + 1 == chain.len() {
            base.clone()
        } else {
            solver.without(&f.scope.levers_of(|k| !allowed.contains(&k)))?
        };
        let served = solver.in_scope(&f.scope, &plan).served;
        units.insert(chain[j], served - before);
        before = served;
    }
    let spend_here: f64 = used.iter().map(|u| u.spend).sum();
    let rec_cost = spend_here + b.lost;
    let lines = solver.lines.clone();
    let option = |kind: OptionKind, detail: String, plan: &Solution| -> GapOption {
        let s = in_scope(p, &lines, &f.scope, plan);
        let spend = plan.cost.spend() - base.cost.spend() + spend_here;
        let lost = plan.cost.lost_margin_money - base.cost.lost_margin_money + b.lost;
        let closes = s.served - a.served;
        GapOption {
            kind,
            detail,
            closes_units: r3(closes),
            closes_percent: if a.unmet > UNIT_EPS { r2(100.0 * closes / a.unmet) } else { 100.0 },
            fully_closes: s.unmet <= UNIT_EPS,
            cost_money: r2(spend + lost),
            cost_per_unit_money: if closes > UNIT_EPS { r2(spend / closes) } else { 0.0 },
            spend_money: r2(spend),
            lost_margin_money: r2(lost),
            revenue_kept_money: r2(s.revenue - a.revenue),
            margin_kept_money: r2(s.margin - a.margin),
            customers_served: s
                .by_customer
                .iter()
                .filter(|(c, k)| **k > a.by_customer.get(*c).copied().unwrap_or(0.0) + UNIT_EPS)
                .map(|(c, _)| c.clone())
                .collect(),
        }
    };
    let mut options = Vec::new();
    if let Some(main) = used.first() {
        let detail = used.iter().flat_map(|u| u.details.iter().cloned()).collect::<Vec<_>>().join("; ");
        options.push(option(main.kind, detail, &base));
    }
    for u in used.iter().skip(1) {
        let plan = solver.without(&f.scope.levers_of(|k| k != u.kind))?;
        let alone = uses(p, &f.scope, &plan).into_iter().flat_map(|x| x.details).collect::<Vec<_>>().join("; ");
        options.push(option(u.kind, alone, &plan));
    }
    options.push(option(
        OptionKind::AcceptShortfall,
        "accept the shortfall: the gap's fixes forbidden".into(),
        &accept_plan,
    ));

    let g = &mut f.gap;
    g.priced_by = PricedBy::ReSolve;
    g.units_short = r3(a.unmet);
    g.revenue_at_risk_money = r2(a.unmet_revenue);
    g.margin_at_risk_money = r2(a.lost);
    g.recommended = used
        .iter()
        .map(|u| RecommendedStep {
            kind: u.kind,
            units: r3(units.get(&u.kind).copied().unwrap_or(0.0)),
            cost_money: r2(u.spend),
        })
        .chain(accept_step(&b))
        .collect();
    g.recommended_cost_money = r2(rec_cost);
    g.recommended_closes_units = r3(b.served - a.served);
    let rec = options.first().map_or(0.0, |o| o.cost_money);
    g.next_best_extra_cost_money =
        options.iter().skip(1).map(|o| r2(o.cost_money - rec)).min_by(f64::total_cmp).filter(|_| options.len() > 1);
    g.options = options;
    Ok(())
}
