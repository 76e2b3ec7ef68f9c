//! The linear program over a [`Problem`] and its lexicographic solve.
//!
//! Columns (all >= 0): production per item, routing and month; overtime per resource and month
//! (up to its ceiling); item and component stock above safety stock at each month's end; new
//! orders per component, supplier option and month of arrival (from the option's lead time);
//! expedites (from the expedited lead time, before the regular lead time); units served per
//! demand line (up to its quantity). Rows: hours per resource-month (regular plus overtime);
//! stock balance per item-month (made, used by parents, served) and per component-month
//! (opening stock, open orders derated by OTIF with the late share a month later, new orders,
//! expedites, used by parents). Inside the frozen horizon only the primary routing runs and no
//! overtime, new order or expedite arrives.
//!
//! Objective: fix spend (overtime, holding, routing premiums, purchases and expedites above the
//! standard cost) plus the margin of demand not served. Then lexicographic stages, each
//! re-solved warm with the earlier optimum held as a row within [`HOLD_TOLERANCE`] and
//! [`HOLD_ABSOLUTE`]:
//! - `cost_first`: least cost; then priority 1's served units, priority 2's, ...; then
//!   earlier months served first; then the least activity (production, orders, stock).
//! - `priority_first`: least cost, to learn what the least-cost plan buys; with every fix
//!   capped at what it bought (each overtime hour, premium, stock, order column with a cost at
//!   most its least-cost value: no dense row, and the pieces stay independent), priority 1's
//!   served units, priority 2's, ...; then least cost again; then earlier months; then the
//!   least activity. Priority re-shares what the least-cost plan buys, never buys more.
//!
//! After a stage whose held row is its own objective, every column with a nonzero reduced cost
//! is fixed at its value (by complementary slackness it is there in every optimal plan of the
//! stage), so later stages search the optimal face only: measured at 1/100 of the benchmark,
//! the stages after the priorities took 0.2-0.4 s each.
//!
//! HiGHS runs on one thread with a fixed random seed: identical problems give identical plans.
//! A later stage the solver cannot finish against the held rows (a numerical fault) leaves the
//! plan of the stage before it.

use std::collections::{BTreeMap, BTreeSet};

use highs::{Col, HighsModelStatus, HighsStatus, Model, Sense, SolvedModel};

use super::arrays::Arrays;
use super::memo;
use super::split::{self, Piece, Split, SplitOptions};
use super::{AllocationRule, Cost, Part, Problem, Solution};

/// A stage's optimum is held to within this share of its value, plus [`HOLD_ABSOLUTE`]: later
/// stages can move an earlier stage's objective by no more.
pub const HOLD_TOLERANCE: f64 = 1e-9;
/// The absolute part of a held optimum's slack (the solver's own feasibility tolerance).
pub const HOLD_ABSOLUTE: f64 = 1e-6;

/// Something the plan may not use: the levers whose cost a gap's next-best way is priced by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lever {
    /// Overtime on a resource in a month.
    Overtime { resource: usize, month: usize },
    /// A routing of an item in a month.
    Routing { item: usize, routing: usize, month: usize },
    /// New orders from a supplier option of a component arriving in a month.
    Purchase { component: usize, option: usize, month: usize },
    /// Expedites of a component (every option) arriving in a month.
    Expedite { component: usize, month: usize },
    /// Stock of an item carried into a month above what it opened with (no building ahead
    /// into that month).
    BuildAhead { item: usize, month: usize },
}

/// The solver failed (a bug or a numerical fault, never the data: the model is always
/// feasible, since serving nothing is a plan).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the supply optimiser's solver stopped at stage `{stage}` with status {status}")]
pub struct SolveError {
    pub stage: String,
    pub status: String,
}

/// The columns, by what they mean.
struct Cols {
    prod: Vec<Vec<Vec<Option<Col>>>>,
    ot: Vec<Vec<Option<Col>>>,
    istock: Vec<Vec<Col>>,
    cstock: Vec<Vec<Col>>,
    buy: Vec<Vec<Vec<Option<Col>>>>,
    exp: Vec<Vec<Vec<Option<Col>>>>,
    served: Vec<Col>,
    /// Every column with its cost in the least-cost objective, in creation order.
    all: Vec<(Col, f64)>,
}

/// The premium of buying at `unit_cost` a component whose standard cost is `standard`: never
/// below 0 (a cheaper option saves nothing the margins have not already counted).
pub fn purchase_premium(unit_cost: f64, standard: f64) -> f64 {
    (unit_cost - standard).max(0.0)
}

/// Open purchase orders arriving per component and month: the OTIF share in the promised
/// month, the rest a month later (lost past the horizon).
pub fn open_receipts(p: &Problem) -> Vec<Vec<f64>> {
    let n = p.months.len();
    let mut out = vec![vec![0.0; n]; p.components.len()];
    for (c, comp) in p.components.iter().enumerate() {
        for po in &comp.open_pos {
            let otif = p.suppliers.get(po.supplier).map_or(1.0, |s| s.otif.clamp(0.0, 1.0));
            if po.month < n {
                out[c][po.month] += po.qty * otif;
            }
            if po.month + 1 < n {
                out[c][po.month + 1] += po.qty * (1.0 - otif);
            }
        }
    }
    out
}

fn build(p: &Problem, forbid: &BTreeSet<Lever>) -> (Arrays, Cols) {
    let n = p.months.len();
    let frozen = p.frozen_months.min(n);
    let mut pb = Arrays::default();
    let mut all = Vec::new();
    let mut col = |pb: &mut Arrays, cost: f64, ub: f64| {
        let c = pb.add_column(cost, ub);
        all.push((c, cost));
        c
    };
    let prod: Vec<Vec<Vec<Option<Col>>>> = p
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            it.routings
                .iter()
                .enumerate()
                .map(|(k, r)| {
                    (0..n)
                        .map(|t| {
                            let off = forbid.contains(&Lever::Routing { item: i, routing: k, month: t });
                            (!off && (k == 0 || t >= frozen)).then(|| col(&mut pb, r.premium_per_unit, f64::INFINITY))
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let ot: Vec<Vec<Option<Col>>> = p
        .resources
        .iter()
        .enumerate()
        .map(|(r, res)| {
            (0..n)
                .map(|t| {
                    let m = res.months.get(t).copied().unwrap_or_default();
                    let open = t >= frozen
                        && m.overtime_ceiling_hours > 0.0
                        && !forbid.contains(&Lever::Overtime { resource: r, month: t });
                    open.then(|| col(&mut pb, m.overtime_cost_per_hour, m.overtime_ceiling_hours))
                })
                .collect()
        })
        .collect();
    let istock: Vec<Vec<Col>> = p
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            // Stock at the end of month t is what month t + 1 opens with.
            let ub = |t: usize| {
                if forbid.contains(&Lever::BuildAhead { item: i, month: t + 1 }) {
                    it.usable_stock()
                } else {
                    f64::INFINITY
                }
            };
            (0..n).map(|t| col(&mut pb, it.holding_cost_per_month, ub(t))).collect()
        })
        .collect();
    let cstock: Vec<Vec<Col>> = p
        .components
        .iter()
        .map(|c| (0..n).map(|_| col(&mut pb, c.holding_cost_per_month, f64::INFINITY)).collect())
        .collect();
    let mut buy = Vec::new();
    let mut exp = Vec::new();
    for (c, comp) in p.components.iter().enumerate() {
        let mut b: Vec<Vec<Option<Col>>> = Vec::new();
        let mut e: Vec<Vec<Option<Col>>> = Vec::new();
        for (o, opt) in comp.options.iter().enumerate() {
            let premium = purchase_premium(opt.unit_cost, comp.unit_cost);
            // A supplier unavailable in a month (a scenario's window) delivers nothing then.
            let delivers = |t: usize| p.suppliers.get(opt.supplier).is_none_or(|s| s.delivers_in(t));
            let buy_ok =
                |t: usize| delivers(t) && !forbid.contains(&Lever::Purchase { component: c, option: o, month: t });
            b.push(
                (0..n)
                    .map(|t| {
                        (buy_ok(t) && t >= frozen && t >= opt.lead_time_months)
                            .then(|| col(&mut pb, premium, f64::INFINITY))
                    })
                    .collect(),
            );
            let exp_ok = |t: usize| {
                buy_ok(t) && opt.can_expedite && !forbid.contains(&Lever::Expedite { component: c, month: t })
            };
            e.push(
                (0..n)
                    .map(|t| {
                        let open =
                            exp_ok(t) && t >= frozen && t >= opt.expedite_lead_time_months && t < opt.lead_time_months;
                        open.then(|| col(&mut pb, premium + opt.expedite_premium_per_unit, f64::INFINITY))
                    })
                    .collect(),
            );
        }
        buy.push(b);
        exp.push(e);
    }
    let served: Vec<Col> = p.demand.iter().map(|d| col(&mut pb, -d.unit_margin, d.qty.max(0.0))).collect();

    let cols = Cols { prod, ot, istock, cstock, buy, exp, served, all };
    add_rows(p, &mut pb, &cols);
    (pb, cols)
}

/// The rows: hours per resource-month, then the stock balances of items and components.
fn add_rows(p: &Problem, pb: &mut Arrays, cols: &Cols) {
    let n = p.months.len();
    let Cols { prod, ot, istock, cstock, buy, exp, served, .. } = cols;
    // Hours per resource-month.
    let mut hours: Vec<Vec<Vec<(Col, f64)>>> = vec![vec![Vec::new(); n]; p.resources.len()];
    for (i, it) in p.items.iter().enumerate() {
        for (k, r) in it.routings.iter().enumerate() {
            for op in &r.operations {
                for t in 0..n {
                    if let Some(x) = prod[i][k][t]
                        && op.hours_per_unit != 0.0
                    {
                        hours[op.resource][t].push((x, op.hours_per_unit));
                    }
                }
            }
        }
    }
    for (r, res) in p.resources.iter().enumerate() {
        for t in 0..n {
            let mut row = std::mem::take(&mut hours[r][t]);
            if row.is_empty() {
                continue;
            }
            if let Some(o) = ot[r][t] {
                row.push((o, -1.0));
            }
            let regular = res.months.get(t).map_or(0.0, |m| m.regular_hours);
            pb.add_row(..=regular, row);
        }
    }
    // Stock balances: stock(t-1) + in - out - stock(t) = -constant in.
    let mut item_rows: Vec<Vec<Vec<(Col, f64)>>> = vec![vec![Vec::new(); n]; p.items.len()];
    let mut comp_rows: Vec<Vec<Vec<(Col, f64)>>> = vec![vec![Vec::new(); n]; p.components.len()];
    for e in &p.bom {
        for per_month in &prod[e.parent] {
            for (t, x) in per_month.iter().enumerate() {
                if let Some(x) = *x {
                    match e.child {
                        Part::Item(ch) => item_rows[ch][t].push((x, -e.qty_per)),
                        Part::Component(ch) => comp_rows[ch][t].push((x, -e.qty_per)),
                    }
                }
            }
        }
    }
    for (d, line) in p.demand.iter().enumerate() {
        if line.month < n {
            item_rows[line.item][line.month].push((served[d], -1.0));
        }
    }
    for (i, it) in p.items.iter().enumerate() {
        for t in 0..n {
            let mut row = std::mem::take(&mut item_rows[i][t]);
            for x in prod[i].iter().filter_map(|k| k[t]) {
                row.push((x, 1.0));
            }
            if t > 0 {
                row.push((istock[i][t - 1], 1.0));
            }
            row.push((istock[i][t], -1.0));
            let rhs = if t == 0 { -it.usable_stock() } else { 0.0 };
            pb.add_row(rhs..=rhs, row);
        }
    }
    let receipts = open_receipts(p);
    for (c, comp) in p.components.iter().enumerate() {
        for t in 0..n {
            let mut row = std::mem::take(&mut comp_rows[c][t]);
            for o in 0..comp.options.len() {
                row.extend(buy[c][o][t].map(|x| (x, 1.0)));
                row.extend(exp[c][o][t].map(|x| (x, 1.0)));
            }
            if t > 0 {
                row.push((cstock[c][t - 1], 1.0));
            }
            row.push((cstock[c][t], -1.0));
            let rhs = -receipts[c][t] - if t == 0 { comp.usable_stock() } else { 0.0 };
            pb.add_row(rhs..=rhs, row);
        }
    }
}

/// One lexicographic stage: its name and its objective (column, coefficient), minimised.
struct Stage {
    name: String,
    objective: Vec<(Col, f64)>,
    /// What later stages hold at its value in this stage's optimum (none: nothing).
    hold: Option<Vec<(Col, f64)>>,
    /// Later stages keep to this stage's optimal face (the hold is its objective): columns off
    /// it are fixed. Not where the hold is only a part of the objective.
    face: bool,
    /// Columns later stages may not raise above their value in this stage's optimum.
    cap: Vec<Col>,
}

fn stages(p: &Problem, cols: &Cols) -> Vec<Stage> {
    let n = p.months.len();
    let cost = Stage {
        name: "least cost".into(),
        objective: cols.all.clone(),
        hold: Some(cols.all.clone()),
        face: true,
        cap: Vec::new(),
    };
    let levels: BTreeSet<i64> = p.demand.iter().map(|d| d.priority).collect();
    let priority: Vec<Stage> = levels
        .iter()
        .map(|&lv| {
            let objective: Vec<(Col, f64)> =
                p.demand.iter().zip(&cols.served).filter(|(d, _)| d.priority == lv).map(|(_, &x)| (x, -1.0)).collect();
            Stage {
                name: format!("priority {lv} served"),
                hold: Some(objective.clone()),
                objective,
                face: true,
                cap: Vec::new(),
            }
        })
        .collect();
    let objective: Vec<(Col, f64)> =
        p.demand.iter().zip(&cols.served).map(|(d, &x)| (x, -((n - d.month.min(n)) as f64))).collect();
    let early = Stage {
        name: "earlier months first".into(),
        hold: Some(objective.clone()),
        objective,
        face: true,
        cap: Vec::new(),
    };
    let mut activity: Vec<(Col, f64)> = Vec::new();
    let flat = |v: &Vec<Vec<Vec<Option<Col>>>>| v.iter().flatten().flatten().flatten().copied().collect::<Vec<_>>();
    for x in flat(&cols.prod).into_iter().chain(flat(&cols.buy)).chain(flat(&cols.exp)) {
        activity.push((x, 1.0));
    }
    for x in cols.ot.iter().flatten().flatten() {
        activity.push((*x, 1.0));
    }
    for x in cols.istock.iter().chain(&cols.cstock).flatten() {
        activity.push((*x, 1.0));
    }
    let last = Stage { name: "least activity".into(), objective: activity, hold: None, face: false, cap: Vec::new() };
    let mut out = Vec::new();
    match p.rule {
        AllocationRule::CostFirst => {
            out.push(cost);
            out.extend(priority);
        }
        AllocationRule::PriorityFirst => {
            // Every column with a cost but the served units is money spent on a fix: later
            // stages buy no more of any fix than the least-cost plan does.
            let mut served = vec![false; cols.all.len()];
            for x in &cols.served {
                served[x.index()] = true;
            }
            let cap: Vec<Col> =
                cols.all.iter().filter(|(x, c)| *c > 0.0 && !served[x.index()]).map(|(x, _)| *x).collect();
            out.push(Stage {
                name: "least cost, each fix capped".into(),
                objective: cols.all.clone(),
                hold: None,
                face: false,
                cap,
            });
            out.extend(priority);
            out.push(cost);
        }
    }
    out.push(early);
    out.push(last);
    out
}

fn configure(model: &mut Model) {
    model.make_quiet();
    model.set_option("threads", 1);
    model.set_option("random_seed", 0);
    model.set_option("presolve", "on");
    model.set_option("time_limit", 600.0);
}

/// The least-cost plan (see the module's doc), solved in pieces ([`split`](super::split)).
pub fn solve(p: &Problem) -> Result<Solution, SolveError> {
    solve_without(p, &BTreeSet::new())
}

/// The least-cost plan without the levers in `forbid`.
pub fn solve_without(p: &Problem, forbid: &BTreeSet<Lever>) -> Result<Solution, SolveError> {
    solve_with(p, forbid, usize::MAX, SplitOptions::default())
}

/// The least-cost stage alone: the least cost, without the allocation rule, the earlier months
/// and the tie-breaks (one solve instead of several; for scale, where the later stages cost
/// most of the time). Its cost equals [`solve`]'s under `cost_first` within the held tolerance.
pub fn solve_least_cost(p: &Problem) -> Result<Solution, SolveError> {
    solve_with(p, &BTreeSet::new(), 1, SplitOptions::default())
}

/// The least-cost stage alone without the levers in `forbid`: what pricing a gap's options
/// needs (their cost), at one solve instead of every stage's.
pub fn solve_least_cost_without(p: &Problem, forbid: &BTreeSet<Lever>) -> Result<Solution, SolveError> {
    solve_with(p, forbid, 1, SplitOptions::default())
}

/// The first `at_most` lexicographic stages without the levers in `forbid`, each piece of the
/// problem cut by `opts` solved on its own (or reused from the memo when the same piece was
/// solved in this process, [`memo`](super::memo)) and the plans merged in the whole's order.
pub fn solve_with(
    p: &Problem,
    forbid: &BTreeSet<Lever>,
    at_most: usize,
    opts: SplitOptions,
) -> Result<Solution, SolveError> {
    Ok(solve_with_memo(p, forbid, at_most, opts, true)?.0)
}

/// As [`solve_with`], reusing pieces solved before in this process only when `reuse`; and the
/// pieces solved (not reused).
pub fn solve_with_memo(
    p: &Problem,
    forbid: &BTreeSet<Lever>,
    at_most: usize,
    opts: SplitOptions,
    reuse: bool,
) -> Result<(Solution, usize), SolveError> {
    let cut = tracing::debug_span!("lp.cut").in_scope(|| split::split(p, opts));
    let mut local: Vec<BTreeSet<Lever>> = vec![BTreeSet::new(); cut.pieces.len()];
    for l in forbid {
        for (pc, x) in cut.lever(*l) {
            local[pc].insert(x);
        }
    }
    let mut solved = 0;
    let plans = cut
        .pieces
        .iter()
        .zip(&local)
        .enumerate()
        .map(|(k, (piece, f))| {
            tracing::debug_span!("lp.piece", k, items = piece.problem.items.len())
                .in_scope(|| stages_memo(&piece.problem, f, at_most, reuse, &mut solved))
                .map(|s| s.0.clone())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let _span = tracing::debug_span!("lp.merge").entered();
    Ok((split::merge(p, &cut, &plans), solved))
}

/// A piece's lexicographic solve and its least-cost stage: from the memo when `reuse` and the
/// same piece (problem, forbidden levers, stages) was solved in this process, else solved (and
/// `solved` counts it) and kept there.
fn stages_memo(
    p: &Problem,
    forbid: &BTreeSet<Lever>,
    at_most: usize,
    reuse: bool,
    solved: &mut usize,
) -> Result<memo::Solved, SolveError> {
    let key = reuse.then(|| memo::key(p, forbid, at_most));
    if let Some(hit) = key.as_ref().and_then(memo::get) {
        return Ok(hit);
    }
    *solved += 1;
    let s = std::sync::Arc::new(solve_stages_first(p, forbid, at_most)?);
    if let Some(key) = key {
        memo::put(key, s.clone());
    }
    Ok(s)
}

/// The whole problem as one linear program, not cut: the reference the pieces are tested
/// against.
pub fn solve_whole(p: &Problem, forbid: &BTreeSet<Lever>, at_most: usize) -> Result<Solution, SolveError> {
    solve_stages(p, forbid, at_most)
}

/// The least-cost stage re-solved again and again with more levers forbidden, warm, one model
/// per piece of the problem ([`split`](super::split)): a re-solve touches only the pieces its
/// levers are in (their columns bounded for the solve and released after it, each solve starting
/// from the basis the one before left), and the other pieces keep their reference plan. What
/// pricing many options needs; identical calls in the same order give identical plans.
pub struct Pricer<'p> {
    p: &'p Problem,
    cut: Split,
    /// Per piece: the levers forbidden in every solve, in its own indices.
    base: Vec<BTreeSet<Lever>>,
    warm: Vec<Option<Warm>>,
    /// Per piece, the piece solve it was last used at (which warm model to drop first).
    used: Vec<usize>,
    /// At most this many pieces' models are kept warm ([`WARM_MODELS`]): past it, the model
    /// used longest ago is dropped, and built again (solved cold) if its piece is re-solved.
    pub max_warm: usize,
    /// Per piece, its least-cost plan with only `base` forbidden; and the whole plan they make.
    reference: Option<(Vec<Solution>, Solution)>,
    /// Per piece, its plan (every lexicographic stage) with only `base` forbidden, when the
    /// pricer was made with it ([`Pricer::with_plan`]): what [`Pricer::plan_without`] reuses.
    plans: Option<Vec<Solution>>,
    /// Pieces [`Pricer::plan_without`] solved cold, every stage (the memo's hits not counted).
    pub plan_pieces_solved: usize,
    /// Pieces solved (the reference's included).
    pub piece_solves: usize,
    /// Warm models built (a piece's first solve, or its first after its model was dropped).
    pub models_built: usize,
    /// Pieces a re-solve reached whose least-cost plan used none of the forbidden levers: not
    /// solved (their plan stands).
    pub piece_solves_saved: usize,
    /// Pieces of the plan ([`Pricer::with_plan`]) taken from the memo: solved before in this
    /// process with the same inputs.
    pub plan_pieces_reused: usize,
}

/// A plan uses none of a lever: every column the lever opens is within the bound that forbids
/// it (the same columns [`Warm`] bounds).
fn unused(p: &Problem, s: &Solution, lever: Lever) -> bool {
    const EPS: f64 = 1e-9;
    let zero = |x: Option<&f64>| x.is_none_or(|v| *v <= EPS);
    match lever {
        Lever::Overtime { resource, month } => zero(s.overtime.get(resource).and_then(|r| r.get(month))),
        Lever::Routing { item, routing, month } => {
            zero(s.production.get(item).and_then(|i| i.get(routing)).and_then(|k| k.get(month)))
        }
        Lever::BuildAhead { item, month } => match (month.checked_sub(1), p.items.get(item)) {
            (Some(t), Some(it)) => s.item_stock[item].get(t).is_none_or(|v| *v <= it.usable_stock() + EPS),
            _ => true,
        },
        Lever::Purchase { component, option, month } => [&s.purchases, &s.expedites]
            .iter()
            .all(|v| zero(v.get(component).and_then(|o| o.get(option)).and_then(|t| t.get(month)))),
        Lever::Expedite { component, month } => {
            s.expedites.get(component).into_iter().flatten().all(|per_option| zero(per_option.get(month)))
        }
    }
}

/// Warm models a [`Pricer`] keeps by default: each holds a piece's HiGHS model (at 1/10 of the
/// benchmark, 51 pieces held 2.5 GB together), so keeping every piece's would grow with the
/// company. A re-solve reaches several pieces, in the gaps' order of stake, not by piece: at
/// 1/10 a cap of 16 dropped and rebuilt (solved cold) 204 models for 456 piece solves, so the
/// cap is above 1/10's pieces (nothing dropped there) and bounds 1/1's memory.
pub const WARM_MODELS: usize = 64;

impl<'p> Pricer<'p> {
    /// The least-cost model without the levers in `forbid` (not solved yet), cut as the
    /// default [`SplitOptions`] says.
    pub fn new(p: &'p Problem, forbid: &BTreeSet<Lever>) -> Pricer<'p> {
        Pricer::with(p, forbid, SplitOptions::default())
    }

    /// As [`Pricer::new`], cut by `opts`.
    pub fn with(p: &'p Problem, forbid: &BTreeSet<Lever>, opts: SplitOptions) -> Pricer<'p> {
        let cut = tracing::debug_span!("lp.cut").in_scope(|| split::split(p, opts));
        let mut base = vec![BTreeSet::new(); cut.pieces.len()];
        for l in forbid {
            for (pc, x) in cut.lever(*l) {
                base[pc].insert(x);
            }
        }
        let warm = (0..cut.pieces.len()).map(|_| None).collect();
        let used = vec![0; cut.pieces.len()];
        Pricer {
            p,
            cut,
            base,
            warm,
            used,
            max_warm: WARM_MODELS,
            reference: None,
            plans: None,
            plan_pieces_solved: 0,
            piece_solves: 0,
            models_built: 0,
            piece_solves_saved: 0,
            plan_pieces_reused: 0,
        }
    }

    /// As [`Pricer::with`], and the plan: every lexicographic stage of each piece, as
    /// [`solve_with`] solves it. The first stage of each is the least-cost plan, so it is the
    /// reference as it is (no second least-cost solve).
    pub fn with_plan(
        p: &'p Problem,
        forbid: &BTreeSet<Lever>,
        opts: SplitOptions,
    ) -> Result<(Pricer<'p>, Solution), SolveError> {
        let mut pricer = Pricer::with(p, forbid, opts);
        let mut plans = Vec::with_capacity(pricer.cut.pieces.len());
        let mut firsts = Vec::with_capacity(pricer.cut.pieces.len());
        let mut solved = 0;
        for (k, (piece, f)) in pricer.cut.pieces.iter().zip(&pricer.base).enumerate() {
            let s = tracing::debug_span!("lp.piece", k, items = piece.problem.items.len())
                .in_scope(|| stages_memo(&piece.problem, f, usize::MAX, true, &mut solved))?;
            let (plan, first) = std::sync::Arc::try_unwrap(s).unwrap_or_else(|s| (*s).clone());
            plans.push(plan);
            firsts.push(first);
        }
        pricer.plan_pieces_reused = pricer.cut.pieces.len() - solved;
        tracing::debug!(
            pieces = pricer.cut.pieces.len(),
            solved,
            "lp: the plan's pieces solved (the rest from the memo)"
        );
        let whole = split::merge(p, &pricer.cut, &plans);
        pricer.plans = Some(plans);
        let reference = split::merge(p, &pricer.cut, &firsts);
        pricer.reference = Some((firsts, reference));
        Ok((pricer, whole))
    }

    /// Warm models held now (at most [`Pricer::max_warm`]).
    pub fn live_models(&self) -> usize {
        self.warm.iter().filter(|w| w.is_some()).count()
    }

    /// The pieces the problem is cut into.
    pub fn split(&self) -> &Split {
        &self.cut
    }

    fn solve_piece(&mut self, pc: usize, extra: &BTreeSet<Lever>) -> Result<Solution, SolveError> {
        let piece: &Piece = &self.cut.pieces[pc];
        self.piece_solves += 1;
        self.used[pc] = self.piece_solves;
        if self.warm[pc].is_none() {
            if self.live_models() >= self.max_warm.max(1) {
                // The model used longest ago goes (ties cannot happen: each solve has its count).
                let oldest = (0..self.warm.len()).filter(|&k| self.warm[k].is_some()).min_by_key(|&k| self.used[k]);
                if let Some(k) = oldest {
                    self.warm[k] = None;
                }
            }
            self.models_built += 1;
        }
        let warm = self.warm[pc].get_or_insert_with(|| {
            tracing::debug_span!("lp.build", pc).in_scope(|| Warm::new(&piece.problem, &self.base[pc]))
        });
        tracing::debug_span!("lp.reprice", pc, levers = extra.len())
            .in_scope(|| warm.solve_without(&piece.problem, &self.base[pc], extra))
    }

    /// The least-cost plan with only the base levers forbidden.
    pub fn reference(&mut self) -> Result<Solution, SolveError> {
        if self.reference.is_none() {
            let plans = (0..self.cut.pieces.len())
                .map(|pc| self.solve_piece(pc, &BTreeSet::new()))
                .collect::<Result<Vec<_>, _>>()?;
            let whole = split::merge(self.p, &self.cut, &plans);
            self.reference = Some((plans, whole));
        }
        Ok(self.reference.as_ref().expect("just solved").1.clone())
    }

    /// Per piece a set of levers reaches, its levers (in the piece's indices) not forbidden
    /// already.
    fn touched(&self, extra: &BTreeSet<Lever>) -> BTreeMap<usize, BTreeSet<Lever>> {
        let mut touched: BTreeMap<usize, BTreeSet<Lever>> = BTreeMap::new();
        for l in extra {
            for (pc, x) in self.cut.lever(*l) {
                if !self.base[pc].contains(&x) {
                    touched.entry(pc).or_default().insert(x);
                }
            }
        }
        touched
    }

    /// The pieces [`Pricer::solve_without`] with `extra` would solve: those the levers reach
    /// whose least-cost plan uses one of them. A re-solve with a subset of `extra` solves a
    /// subset of them, so this bounds it too. Needs the reference ([`Pricer::reference`]).
    pub fn pieces_to_solve(&self, extra: &BTreeSet<Lever>) -> usize {
        let Some((plans, _)) = self.reference.as_ref() else { return self.touched(extra).len() };
        self.touched(extra)
            .iter()
            .filter(|(pc, levers)| !levers.iter().all(|l| unused(&self.cut.pieces[**pc].problem, &plans[**pc], *l)))
            .count()
    }

    /// The least-cost plan with `extra` forbidden as well: the pieces the levers reach are
    /// re-solved, the others keep the reference's plan.
    pub fn solve_without(&mut self, extra: &BTreeSet<Lever>) -> Result<Solution, SolveError> {
        let mut out = self.reference()?;
        let touched = self.touched(extra);
        if touched.is_empty() {
            return Ok(out);
        }
        let mut cost = out.cost;
        for (pc, levers) in touched {
            let (plans, _) = self.reference.as_ref().expect("solved above");
            let piece = &self.cut.pieces[pc];
            if levers.iter().all(|l| unused(&piece.problem, &plans[pc], *l)) {
                // The piece's least-cost plan uses none of them: it is a plan without them, so
                // still a least-cost one (exact), and nothing to solve.
                self.piece_solves_saved += 1;
                continue;
            }
            let s = self.solve_piece(pc, &levers)?;
            let (plans, _) = self.reference.as_ref().expect("solved above");
            let piece = &self.cut.pieces[pc];
            split::add(&mut out, piece, &plans[pc], -1.0);
            split::add(&mut out, piece, &s, 1.0);
            cost = cost.plus(&s.cost, 1.0).plus(&plans[pc].cost, -1.0);
        }
        split::clean(&mut out);
        // The other pieces' cost is unchanged: the whole's is the reference's moved by the
        // re-solved pieces' (exact where the pieces are, and cheap at any size).
        out.cost = cost;
        Ok(out)
    }

    /// Drops the plan's pieces kept for [`Pricer::plan_without`] (which then solves every piece).
    pub fn forget_plans(&mut self) {
        self.plans = None;
    }

    /// The pieces [`Pricer::plan_without`] with `extra` would solve (every stage, cold): those
    /// the levers reach. (A piece whose plan uses none of them is solved too: its plan is
    /// optimal without them, but a cold solve finds another vertex within the held tolerance,
    /// a millionth of a unit apart, and the figure must be the cold solve's to the bit.)
    pub fn plan_pieces_to_solve(&self, extra: &BTreeSet<Lever>) -> Vec<usize> {
        self.touched(extra).into_keys().collect()
    }

    /// The plan, every lexicographic stage, with `extra` forbidden as well: what
    /// [`solve_with`] gives, to the bit, solving only [`Pricer::plan_pieces_to_solve`]'s pieces
    /// (from the memo when solved before in this process): a piece the levers do not reach
    /// keeps the plan's (the same piece, the same forbidden set: the same solve), kept by
    /// [`Pricer::with_plan`] (without it, every piece is solved).
    pub fn plan_without(&mut self, extra: &BTreeSet<Lever>) -> Result<Solution, SolveError> {
        let touched = self.touched(extra);
        let mut plans = Vec::with_capacity(self.cut.pieces.len());
        for (pc, piece) in self.cut.pieces.iter().enumerate() {
            let kept = self.plans.as_ref().map(|v| &v[pc]).filter(|_| !touched.contains_key(&pc));
            if let Some(kept) = kept {
                plans.push(kept.clone());
                continue;
            }
            let mut forbid = self.base[pc].clone();
            forbid.extend(touched.get(&pc).into_iter().flatten().copied());
            let mut solved = 0;
            let s = tracing::debug_span!("lp.piece", k = pc, items = piece.problem.items.len())
                .in_scope(|| stages_memo(&piece.problem, &forbid, usize::MAX, true, &mut solved))?;
            self.plan_pieces_solved += solved;
            plans.push(s.0.clone());
        }
        Ok(split::merge(self.p, &self.cut, &plans))
    }
}

/// One piece's least-cost model, re-solved warm.
struct Warm {
    model: Option<Model>,
    cols: Cols,
}

impl Warm {
    fn new(p: &Problem, forbid: &BTreeSet<Lever>) -> Warm {
        let (pb, cols) = build(p, forbid);
        let mut model = pb.optimise(Sense::Minimise);
        configure(&mut model);
        Warm { model: Some(model), cols }
    }

    /// The columns a lever opens, each with the upper bound that forbids it and the one it has.
    fn columns(&self, p: &Problem, lever: Lever) -> Vec<(Col, f64, f64)> {
        let c = &self.cols;
        let mut out = Vec::new();
        match lever {
            Lever::Overtime { resource, month } => {
                if let Some(Some(x)) = c.ot.get(resource).and_then(|r| r.get(month)) {
                    let ceiling = p.resources[resource].months.get(month).map_or(0.0, |m| m.overtime_ceiling_hours);
                    out.push((*x, 0.0, ceiling));
                }
            }
            Lever::Routing { item, routing, month } => {
                if let Some(Some(x)) = c.prod.get(item).and_then(|i| i.get(routing)).and_then(|k| k.get(month)) {
                    out.push((*x, 0.0, f64::INFINITY));
                }
            }
            Lever::BuildAhead { item, month } => {
                if let Some(x) = month.checked_sub(1).and_then(|t| c.istock.get(item).and_then(|i| i.get(t))) {
                    out.push((*x, p.items[item].usable_stock(), f64::INFINITY));
                }
            }
            Lever::Purchase { component, option, month } => {
                for v in [&c.buy, &c.exp] {
                    if let Some(Some(x)) = v.get(component).and_then(|o| o.get(option)).and_then(|t| t.get(month)) {
                        out.push((*x, 0.0, f64::INFINITY));
                    }
                }
            }
            Lever::Expedite { component, month } => {
                for per_option in c.exp.get(component).into_iter().flatten() {
                    if let Some(Some(x)) = per_option.get(month) {
                        out.push((*x, 0.0, f64::INFINITY));
                    }
                }
            }
        }
        out
    }

    /// The least-cost plan with `extra` forbidden as well as `base`.
    fn solve_without(
        &mut self,
        p: &Problem,
        base: &BTreeSet<Lever>,
        extra: &BTreeSet<Lever>,
    ) -> Result<Solution, SolveError> {
        let bounds: Vec<(Col, f64, f64)> =
            extra.iter().filter(|l| !base.contains(l)).flat_map(|l| self.columns(p, *l)).collect();
        let mut model = self.model.take().expect("the pricer's model is back after every solve");
        for &(x, forbidden, _) in &bounds {
            model.change_column_bounds(x, 0.0..=forbidden);
        }
        let solved = solve_model(model)
            .map_err(|e| SolveError { stage: "least cost (pricing)".into(), status: format!("{e:?}") })?;
        let status = solved.status();
        let values = if status == HighsModelStatus::ModelEmpty {
            vec![0.0; self.cols.all.len()]
        } else {
            solved.get_solution().columns().to_vec()
        };
        let mut model = Model::from(solved);
        for &(x, _, open) in &bounds {
            model.change_column_bounds(x, 0.0..=open);
        }
        self.model = Some(model);
        if !matches!(status, HighsModelStatus::Optimal | HighsModelStatus::ModelEmpty) {
            return Err(SolveError { stage: "least cost (pricing)".into(), status: format!("{status:?}") });
        }
        Ok(extract(p, &self.cols, &values))
    }
}

fn solve_stages(p: &Problem, forbid: &BTreeSet<Lever>, at_most: usize) -> Result<Solution, SolveError> {
    Ok(solve_stages_first(p, forbid, at_most)?.0)
}

/// The lexicographic solve, and the plan of its first stage (the least cost under either rule:
/// its objective is the least-cost one, on the model [`Warm`] builds, so it is the plan a cold
/// least-cost solve finds).
fn solve_stages_first(
    p: &Problem,
    forbid: &BTreeSet<Lever>,
    at_most: usize,
) -> Result<(Solution, Solution), SolveError> {
    let span = tracing::debug_span!("lp.build").entered();
    let (pb, cols) = build(p, forbid);
    let mut stages = stages(p, &cols);
    stages.truncate(at_most.max(1));
    let mut model = pb.optimise(Sense::Minimise);
    configure(&mut model);
    drop(span);
    let mut values: Vec<f64> = Vec::new();
    let mut first: Option<Solution> = None;
    let last = stages.len() - 1;
    for (s, stage) in stages.iter().enumerate() {
        // This stage's objective replaces the one before.
        for &(x, _) in &cols.all {
            model.change_column_cost(x, 0.0);
        }
        for &(x, c) in &stage.objective {
            model.change_column_cost(x, c);
        }
        let _span = tracing::debug_span!("lp.stage", s, name = stage.name.as_str()).entered();
        let solved = match solve_model(model) {
            Ok(solved) => solved,
            // A later stage HiGHS stops on (a time limit, a numerical fault) leaves the plan of
            // the stage before it, as a non-optimal status does.
            Err(_) if s > 0 => break,
            Err(e) => return Err(SolveError { stage: stage.name.clone(), status: format!("{e:?}") }),
        };
        let status = solved.status();
        if status == HighsModelStatus::ModelEmpty {
            // No row: every column costs nothing or money, so nothing is the plan.
            let none = extract(p, &cols, &vec![0.0; cols.all.len()]);
            return Ok((none.clone(), none));
        }
        if status != HighsModelStatus::Optimal {
            if s > 0 {
                // A later stage that the solver cannot finish (numerically, against the held
                // rows) leaves the earlier stage's plan, which is optimal for what it held.
                break;
            }
            return Err(SolveError { stage: stage.name.clone(), status: format!("{status:?}") });
        }
        let solution = solved.get_solution();
        values = solution.columns().to_vec();
        if s == 0 {
            first = Some(extract(p, &cols, &values));
        }
        let reduced = solution.dual_columns().to_vec();
        model = Model::from(solved);
        if s < last && stage.face {
            fix_off_face(&mut model, &cols.all, &values, &reduced);
        }
        for &x in &stage.cap {
            model.change_column_bounds(x, 0.0..=values[x.index()].max(0.0));
        }
        if let Some(hold) = &stage.hold
            && s < last
        {
            let z: f64 = hold.iter().map(|&(x, c)| c * values[x.index()]).sum();
            let slack = HOLD_TOLERANCE * z.abs() + HOLD_ABSOLUTE;
            model.add_row(..=z + slack, hold.iter().copied());
        }
    }
    let plan = extract(p, &cols, &values);
    // The first stage is always solved (an error there returns above).
    let first = first.unwrap_or_else(|| plan.clone());
    Ok((plan, first))
}

/// Solves `model`; a status other than optimal (or empty) is tried once more without presolve.
/// Every model here is feasible (a plan that makes, buys and serves nothing keeps every row) and
/// bounded below, so "infeasible" from a presolved solve is HiGHS's presolve misjudging tiny
/// quantities (shares of 1e-7 units from the approximate cut: a piece of the 50,000-SKU company,
/// `fixtures/lp/presolve-false-infeasible.json`), not an answer. Presolve stays off for that
/// model's later solves; a model HiGHS solves at once is untouched (its plans byte-identical).
fn solve_model(model: Model) -> Result<SolvedModel, HighsStatus> {
    let solved = model.try_solve()?;
    if matches!(solved.status(), HighsModelStatus::Optimal | HighsModelStatus::ModelEmpty) {
        return Ok(solved);
    }
    tracing::debug!(status = ?solved.status(), "the presolved model was not solved: solved again without presolve");
    let mut again = Model::from(solved);
    again.set_option("presolve", "off");
    again.try_solve()
}

/// A reduced cost above this (in money or units per unit) is not the solver's rounding.
const REDUCED_COST_TOLERANCE: f64 = 1e-6;

/// Fixes every column with a nonzero reduced cost at its value: by complementary slackness it is
/// at that bound in every optimal plan of the stage, so the later stages search the optimal face
/// only (exact, and far fewer columns for the simplex to price; the held row keeps the stage's
/// objective as well).
fn fix_off_face(model: &mut Model, all: &[(Col, f64)], values: &[f64], reduced: &[f64]) {
    for &(x, _) in all {
        let j = x.index();
        if reduced.get(j).is_some_and(|d| d.abs() > REDUCED_COST_TOLERANCE) {
            let v = values[j].max(0.0);
            model.change_column_bounds(x, v..=v);
        }
    }
}

fn clean(x: f64) -> f64 {
    if x.abs() < 1e-9 { 0.0 } else { x }
}

fn extract(p: &Problem, cols: &Cols, v: &[f64]) -> Solution {
    let val = |x: &Option<Col>| x.map_or(0.0, |c| clean(v[c.index()]));
    let prod: Vec<Vec<Vec<f64>>> =
        cols.prod.iter().map(|i| i.iter().map(|k| k.iter().map(val).collect()).collect()).collect();
    let overtime: Vec<Vec<f64>> = cols.ot.iter().map(|r| r.iter().map(val).collect()).collect();
    let item_stock: Vec<Vec<f64>> =
        cols.istock.iter().map(|i| i.iter().map(|c| clean(v[c.index()])).collect()).collect();
    let component_stock: Vec<Vec<f64>> =
        cols.cstock.iter().map(|i| i.iter().map(|c| clean(v[c.index()])).collect()).collect();
    let purchases: Vec<Vec<Vec<f64>>> =
        cols.buy.iter().map(|c| c.iter().map(|o| o.iter().map(val).collect()).collect()).collect();
    let expedites: Vec<Vec<Vec<f64>>> =
        cols.exp.iter().map(|c| c.iter().map(|o| o.iter().map(val).collect()).collect()).collect();
    let served: Vec<f64> = cols.served.iter().map(|c| clean(v[c.index()])).collect();
    let mut sol = Solution {
        cost: Cost::default(),
        production: prod,
        overtime,
        item_stock,
        component_stock,
        purchases,
        expedites,
        served,
    };
    sol.cost = cost_of(p, &sol);
    sol
}

/// The cost of a plan by kind, from its quantities and the problem's prices.
pub fn cost_of(p: &Problem, s: &Solution) -> Cost {
    let mut c = Cost::default();
    for (i, it) in p.items.iter().enumerate() {
        for (k, r) in it.routings.iter().enumerate() {
            c.routing_premium_money += r.premium_per_unit * s.production[i][k].iter().sum::<f64>();
        }
        c.holding_money += it.holding_cost_per_month * s.item_stock[i].iter().sum::<f64>();
    }
    for (r, res) in p.resources.iter().enumerate() {
        for (t, h) in s.overtime[r].iter().enumerate() {
            c.overtime_money += h * res.months.get(t).map_or(0.0, |m| m.overtime_cost_per_hour);
        }
    }
    for (ci, comp) in p.components.iter().enumerate() {
        c.holding_money += comp.holding_cost_per_month * s.component_stock[ci].iter().sum::<f64>();
        for (o, opt) in comp.options.iter().enumerate() {
            let premium = purchase_premium(opt.unit_cost, comp.unit_cost);
            c.purchase_premium_money += premium * s.purchases[ci][o].iter().sum::<f64>();
            c.expedite_money += (premium + opt.expedite_premium_per_unit) * s.expedites[ci][o].iter().sum::<f64>();
        }
    }
    for (d, line) in p.demand.iter().enumerate() {
        c.lost_margin_money += line.unit_margin * (line.qty - s.served[d]);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A piece of the 50,000-SKU company (`snop bench cycle --skus 50000 --customers 3400`, cut
    /// down to what still fails) that HiGHS's presolve calls infeasible: a demand of 2.7e-6 units
    /// in the frozen month and component stock shares of about 1e-7. Doing nothing is a plan, so
    /// it is feasible; without presolve it is solved, and the plan keeps every row and limit.
    #[test]
    fn a_piece_presolve_calls_infeasible_is_solved_without_it() {
        let p: Problem =
            serde_json::from_str(include_str!("../../../../fixtures/lp/presolve-false-infeasible.json")).unwrap();
        let (pb, _) = build(&p, &BTreeSet::new());
        let mut model = pb.optimise(Sense::Minimise);
        configure(&mut model);
        // What the fixture is for: should a later HiGHS solve it presolved, it tests nothing.
        assert_eq!(model.solve().status(), HighsModelStatus::Infeasible);
        let plan = solve_whole(&p, &BTreeSet::new(), usize::MAX).unwrap();
        let (v, what) = super::super::check::largest_violation(&p, &plan);
        assert!(v < 1e-6, "violation {v} ({what})");
    }
}
