//! The problem cut into independent linear programs.
//!
//! **Exact**: the connected components of the graph of items, resources and purchased
//! components (an item is linked to every resource its routings load and to every part its bill
//! of materials consumes; a demand line follows its item; suppliers have no capacity in the
//! model, so they link nothing). Every objective of every stage is a sum over columns, and no
//! row spans two components, so the lexicographic optimum of the whole is the components'
//! optima side by side. Components come in the order of their first item; the nodes no item
//! reaches (resources no routing loads, components nothing consumes) share one last piece.
//!
//! **Approximate**, only for a component with more than [`SplitOptions::approximate_above_items`]
//! items: its finished goods (the items with demand) in groups of at most
//! [`SplitOptions::piece_items`], in the order of their site then index; each group's piece holds
//! the group's demand and everything below it (sub-assemblies, parts, the resources their
//! routings load). A node several groups reach is shared by its unconstrained requirement: each
//! piece gets its share of the node's opening and safety stock, open orders, regular hours and
//! overtime ceiling (an equal share when nothing requires it), the shares summing to one. The
//! pieces' plans summed are therefore a feasible plan of the whole (every row is a sum of the
//! pieces' rows), never cheaper than the optimum and dearer where a share turns out wrong. The
//! items no group reaches make one last piece (at a share of 0 of what the groups reach).
//!
//! **A scenario's cut keeps the base's** ([`with_base`]: the problem the scenario changes, set
//! by the caller for the thread). A what-if scenario changes a few nodes; cut afresh, a change
//! to a node several groups share (a resource's hours, a part's stock or open orders) or to the
//! demand (which moves every share) changes every sharing piece's inputs, so every piece is
//! solved again. Cut with the base's pieces instead, a large component is cut as the base's is
//! (the same groups, every node at the base's share of the base's quantity, computed from the
//! base problem), and only what the scenario changes moves:
//! - a demand line stays in the piece of its item's group (a promotion re-shares nothing);
//! - a scaled quantity the scenario changes (a resource-month's regular hours or overtime
//!   ceiling; an item's or part's opening or safety stock; an open order's quantity, matched to
//!   the base's by month, supplier and order among those) keeps every piece's share of the base
//!   value, and its **change** is placed: hours **added** go first to the pieces whose base plan
//!   (its least-cost stage, read from the memo or the store: the piece the base solved) uses
//!   them, most first, each up to what it can use (regular hours: the overtime it works plus
//!   the load of its demand it leaves unserved that month, when its regular hours are all used;
//!   overtime ceiling: that unserved load, when its overtime is at its ceiling), and the rest
//!   to one piece (the one that can use the most over the node's months, else the largest
//!   share), not by share: by share, it would change every sharing piece again. Any other
//!   quantity added goes whole to the largest share. A quantity **removed** is taken from the
//!   pieces in order of their share, largest first (ties: the piece's order), each down to 0.
//!   An open order the scenario drops leaves every piece (each had its share).
//!
//! Every row is still a sum of the pieces' rows, so the plan is feasible for the scenario's
//! problem (a test checks it with the independent checker); how much dearer than the fresh cut
//! and the exact solve is measured in `bench/RESULTS.md`. An unchanged node gives a piece the
//! base's bytes, so an unchanged piece is the base's and is read from the memo; with no change
//! at all the cut is the base's cut. A scenario whose shape differs from the base's (other
//! items, resources, parts, routings or bill of materials, or demand for an item the base had
//! none for) is cut afresh.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{
    BomEdge, Component, DemandLine, Item, Lever, OpenPo, Operation, Part, Problem, Resource, Routing, Solution, memo,
};

thread_local! {
    /// The base problem a scenario's cut keeps the pieces of ([`with_base`]).
    static BASE: RefCell<Option<Arc<Problem>>> = const { RefCell::new(None) };
}

/// Runs `f` with `base` as the problem whose cut the plans made on this thread keep (see the
/// module's doc: a scenario's pieces are the base's, only its changes move); `None`: cut afresh.
pub fn with_base<R>(base: Option<Arc<Problem>>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<Problem>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            BASE.with(|b| *b.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(BASE.with(|b| std::mem::replace(&mut *b.borrow_mut(), base)));
    f()
}

/// How the problem is cut (see the module's doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitOptions {
    /// Cut at the connected components (false: the whole problem is one piece).
    pub connected: bool,
    /// A connected component with more items than this is cut approximately (`None`: never).
    pub approximate_above_items: Option<usize>,
    /// Finished goods per approximate piece, at most.
    pub piece_items: usize,
}

impl Default for SplitOptions {
    /// Exact up to 5,000 items in a component (the demo company and the benchmark at 1/100 are
    /// solved exactly); above, pieces of 100 finished goods (at 1/100 of the benchmark, cut so,
    /// the least cost is 5 % above the optimum, found 6 times faster).
    fn default() -> Self {
        SplitOptions { connected: true, approximate_above_items: Some(5_000), piece_items: 100 }
    }
}

impl SplitOptions {
    /// Never approximate: the connected components only.
    pub fn exact() -> Self {
        SplitOptions { connected: true, approximate_above_items: None, piece_items: usize::MAX }
    }

    /// Not cut at all: one linear program over the whole problem.
    pub fn whole() -> Self {
        SplitOptions { connected: false, approximate_above_items: None, piece_items: usize::MAX }
    }
}

/// One independent linear program: a problem of its own and where its rows and columns are in
/// the whole (local index to global).
#[derive(Debug, Clone)]
pub struct Piece {
    pub problem: Problem,
    pub items: Vec<usize>,
    pub resources: Vec<usize>,
    pub components: Vec<usize>,
    pub demand: Vec<usize>,
    /// Cut from a larger component by shares (an approximation).
    pub approximate: bool,
}

/// The problem cut into pieces, and where each node of the whole is in them.
#[derive(Debug, Clone)]
pub struct Split {
    pub pieces: Vec<Piece>,
    /// Per global item, resource, component: the (piece, local index) holding it.
    item_at: Vec<Vec<(usize, usize)>>,
    resource_at: Vec<Vec<(usize, usize)>>,
    component_at: Vec<Vec<(usize, usize)>>,
}

impl Split {
    /// Some piece is an approximation.
    pub fn approximate(&self) -> bool {
        self.pieces.iter().any(|p| p.approximate)
    }

    /// Items of the largest piece.
    pub fn largest_items(&self) -> usize {
        self.pieces.iter().map(|p| p.items.len()).max().unwrap_or(0)
    }

    /// A lever of the whole, in each piece it reaches: (piece, the lever in local indices).
    pub fn lever(&self, lever: Lever) -> Vec<(usize, Lever)> {
        let at = |v: &Vec<Vec<(usize, usize)>>, g: usize| v.get(g).cloned().unwrap_or_default();
        match lever {
            Lever::Overtime { resource, month } => at(&self.resource_at, resource)
                .into_iter()
                .map(|(pc, r)| (pc, Lever::Overtime { resource: r, month }))
                .collect(),
            Lever::Routing { item, routing, month } => at(&self.item_at, item)
                .into_iter()
                .map(|(pc, i)| (pc, Lever::Routing { item: i, routing, month }))
                .collect(),
            Lever::BuildAhead { item, month } => {
                at(&self.item_at, item).into_iter().map(|(pc, i)| (pc, Lever::BuildAhead { item: i, month })).collect()
            }
            Lever::Purchase { component, option, month } => at(&self.component_at, component)
                .into_iter()
                .map(|(pc, c)| (pc, Lever::Purchase { component: c, option, month }))
                .collect(),
            Lever::Expedite { component, month } => at(&self.component_at, component)
                .into_iter()
                .map(|(pc, c)| (pc, Lever::Expedite { component: c, month }))
                .collect(),
        }
    }
}

/// Union-find over the nodes: items, then resources, then components.
struct Nodes {
    parent: Vec<usize>,
}

impl Nodes {
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        // The smaller root wins: roots are the components' first nodes.
        if a < b {
            self.parent[b] = a;
        } else if b < a {
            self.parent[a] = b;
        }
    }
}

/// The node sets of one piece before it is extracted, with each node's share.
#[derive(Default, Clone)]
struct Members {
    items: Vec<(usize, f64)>,
    resources: Vec<(usize, f64)>,
    components: Vec<(usize, f64)>,
    demand: Vec<usize>,
    approximate: bool,
    /// Quantities placed, not scaled by the share (a scenario's changes, [`with_base`]), by
    /// node (items, then resources, then components).
    fixed: BTreeMap<usize, Fixed>,
}

/// A node's scaled quantities in one piece, placed (see the module's doc).
#[derive(Clone)]
enum Fixed {
    Item {
        opening: f64,
        safety: f64,
    },
    /// Regular hours and overtime ceiling per month.
    Resource(Vec<(f64, f64)>),
    Component {
        opening: f64,
        safety: f64,
        open_pos: Vec<OpenPo>,
    },
}

/// Cuts the problem (see the module's doc).
pub fn split(p: &Problem, opts: SplitOptions) -> Split {
    let (ni, nr, nc) = (p.items.len(), p.resources.len(), p.components.len());
    let mut uf = Nodes { parent: (0..ni + nr + nc).collect() };
    if !opts.connected {
        for x in 1..ni + nr + nc {
            uf.parent[x] = 0;
        }
    }
    for (i, it) in p.items.iter().enumerate() {
        for op in it.routings.iter().flat_map(|r| &r.operations) {
            uf.union(i, ni + op.resource);
        }
    }
    for e in &p.bom {
        let child = match e.child {
            Part::Item(c) => c,
            Part::Component(c) => ni + nr + c,
        };
        uf.union(e.parent, child);
    }
    // Components in the order of their first node; those without an item share the last piece.
    let mut order: BTreeMap<usize, usize> = BTreeMap::new();
    let mut groups: Vec<Members> = Vec::new();
    let mut rest = Members::default();
    for x in 0..ni + nr + nc {
        let root = uf.find(x);
        let m = if root < ni {
            let g = *order.entry(root).or_insert_with(|| {
                groups.push(Members::default());
                groups.len() - 1
            });
            &mut groups[g]
        } else {
            &mut rest
        };
        match x {
            x if x < ni => m.items.push((x, 1.0)),
            x if x < ni + nr => m.resources.push((x - ni, 1.0)),
            x => m.components.push((x - ni - nr, 1.0)),
        }
    }
    for (d, line) in p.demand.iter().enumerate() {
        if let Some(&g) = order.get(&uf.find(line.item)) {
            groups[g].demand.push(d);
        }
    }
    if !(rest.resources.is_empty() && rest.components.is_empty()) {
        groups.push(rest);
    }
    let base = BASE.with(|b| b.borrow().clone()).filter(|b| same_shape(b, p));
    let mut members = Vec::new();
    for g in groups {
        match opts.approximate_above_items {
            Some(limit) if g.items.len() > limit => {
                let n = opts.piece_items.max(1);
                let kept = base.as_deref().and_then(|b| kept(p, b, &g, n));
                members.extend(kept.unwrap_or_else(|| approximate(p, &g, n)))
            }
            _ => members.push(g),
        }
    }
    let mut out = Split {
        pieces: Vec::with_capacity(members.len()),
        item_at: vec![Vec::new(); ni],
        resource_at: vec![Vec::new(); nr],
        component_at: vec![Vec::new(); nc],
    };
    for (pc, m) in members.iter().enumerate() {
        for (l, &(g, _)) in m.items.iter().enumerate() {
            out.item_at[g].push((pc, l));
        }
        for (l, &(g, _)) in m.resources.iter().enumerate() {
            out.resource_at[g].push((pc, l));
        }
        for (l, &(g, _)) in m.components.iter().enumerate() {
            out.component_at[g].push((pc, l));
        }
        out.pieces.push(extract(p, m));
    }
    out
}

/// The approximate pieces of one large component (see the module's doc).
fn approximate(p: &Problem, whole: &Members, piece_items: usize) -> Vec<Members> {
    let (ni, nr, nc) = (p.items.len(), p.resources.len(), p.components.len());
    let mut children: Vec<Vec<(Part, f64)>> = vec![Vec::new(); ni];
    for e in &p.bom {
        children[e.parent].push((e.child, e.qty_per));
    }
    // Parents before children (the bill of materials has no loops: the inputs refuse them).
    let order = topological(p, whole, &children);
    let mut lines: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &d in &whole.demand {
        lines.entry(p.demand[d].item).or_default().push(d);
    }
    let mut finished: Vec<usize> = lines.keys().copied().collect();
    finished.sort_by(|a, b| (&p.items[*a].site, a).cmp(&(&p.items[*b].site, b)));
    let chunks: Vec<&[usize]> = finished.chunks(piece_items).collect();
    // Each group's requirement per node (0 where it reaches a node that nothing requires) and
    // what it reaches.
    let mut req: Vec<BTreeMap<usize, f64>> = Vec::with_capacity(chunks.len() + 1);
    let node_r = |r: usize| ni + r;
    let node_c = |c: usize| ni + nr + c;
    for chunk in &chunks {
        let mut item_req = vec![0.0f64; ni];
        let mut reached = vec![false; ni];
        for &i in *chunk {
            reached[i] = true;
            item_req[i] += lines[&i].iter().map(|&d| p.demand[d].qty).sum::<f64>();
        }
        let mut r: BTreeMap<usize, f64> = BTreeMap::new();
        for &i in &order {
            if !reached[i] {
                continue;
            }
            *r.entry(i).or_default() += item_req[i];
            for (k, routing) in p.items[i].routings.iter().enumerate() {
                for op in &routing.operations {
                    let h = if k == 0 { item_req[i] * op.hours_per_unit.abs() } else { 0.0 };
                    *r.entry(node_r(op.resource)).or_default() += h;
                }
            }
            for &(child, q) in &children[i] {
                match child {
                    Part::Item(c) => {
                        reached[c] = true;
                        item_req[c] += item_req[i] * q.abs();
                    }
                    Part::Component(c) => *r.entry(node_c(c)).or_default() += item_req[i] * q.abs(),
                }
            }
        }
        req.push(r);
    }
    // What no group reaches: the last piece, at a share of 0 of what the groups reach.
    let mut reached_any = vec![false; ni + nr + nc];
    for r in &req {
        for &x in r.keys() {
            reached_any[x] = true;
        }
    }
    let rest_roots: Vec<usize> = whole.items.iter().map(|&(i, _)| i).filter(|&i| !reached_any[i]).collect();
    let mut rest: BTreeMap<usize, f64> = BTreeMap::new();
    let mut stack = rest_roots;
    while let Some(i) = stack.pop() {
        if rest.insert(i, 0.0).is_some() {
            continue;
        }
        for op in p.items[i].routings.iter().flat_map(|r| &r.operations) {
            rest.insert(node_r(op.resource), 0.0);
        }
        for &(child, _) in &children[i] {
            match child {
                Part::Item(c) => stack.push(c),
                Part::Component(c) => {
                    rest.insert(node_c(c), 0.0);
                }
            }
        }
    }
    for x in whole.resources.iter().map(|r| node_r(r.0)).chain(whole.components.iter().map(|c| node_c(c.0))) {
        if !reached_any[x] {
            rest.insert(x, 0.0);
        }
    }
    let has_rest = !rest.is_empty();
    // Shares: by requirement among the groups; what no group reaches goes to the last piece.
    let mut total = vec![0.0f64; ni + nr + nc];
    let mut count = vec![0usize; ni + nr + nc];
    for r in &req {
        for (&x, &v) in r {
            total[x] += v;
            count[x] += 1;
        }
    }
    let share = |x: usize, v: f64| if total[x] > 0.0 { v / total[x] } else { 1.0 / count[x] as f64 };
    let mut out = Vec::new();
    for (g, r) in req.iter().enumerate() {
        let mut m = Members { approximate: true, ..Members::default() };
        for (&x, &v) in r {
            push(&mut m, x, share(x, v), ni, nr);
        }
        m.demand = chunks[g].iter().flat_map(|i| lines[i].iter().copied()).collect();
        m.demand.sort_unstable();
        out.push(m);
    }
    if has_rest {
        let mut m = Members { approximate: true, ..Members::default() };
        for &x in rest.keys() {
            push(&mut m, x, if reached_any[x] { 0.0 } else { 1.0 }, ni, nr);
        }
        out.push(m);
    }
    out
}

fn push(m: &mut Members, x: usize, share: f64, ni: usize, nr: usize) {
    if x < ni {
        m.items.push((x, share));
    } else if x < ni + nr {
        m.resources.push((x - ni, share));
    } else {
        m.components.push((x - ni - nr, share));
    }
}

/// The component's items, every parent before its children.
fn topological(p: &Problem, whole: &Members, children: &[Vec<(Part, f64)>]) -> Vec<usize> {
    let mut indegree: BTreeMap<usize, usize> = whole.items.iter().map(|&(i, _)| (i, 0)).collect();
    for e in &p.bom {
        if let Part::Item(c) = e.child
            && let Some(n) = indegree.get_mut(&c)
        {
            *n += 1;
        }
    }
    let mut ready: Vec<usize> = indegree.iter().filter(|(_, n)| **n == 0).map(|(i, _)| *i).rev().collect();
    let mut out = Vec::with_capacity(indegree.len());
    while let Some(i) = ready.pop() {
        out.push(i);
        for &(child, _) in &children[i] {
            if let Part::Item(c) = child
                && let Some(n) = indegree.get_mut(&c)
            {
                *n -= 1;
                if *n == 0 {
                    ready.push(c);
                }
            }
        }
    }
    out
}

/// Whether `p` has `b`'s shape: the same months, items, resources, parts, routings (their
/// resources) and bill of materials (its lines); what a scenario changes is quantities.
fn same_shape(b: &Problem, p: &Problem) -> bool {
    let routings = |x: &Item, y: &Item| {
        x.routings.len() == y.routings.len()
            && x.routings.iter().zip(&y.routings).all(|(u, v)| {
                u.operations.len() == v.operations.len()
                    && u.operations.iter().zip(&v.operations).all(|(o, q)| o.resource == q.resource)
            })
    };
    b.months == p.months
        && b.items.len() == p.items.len()
        && b.resources.len() == p.resources.len()
        && b.components.len() == p.components.len()
        && b.items.iter().zip(&p.items).all(|(x, y)| routings(x, y))
        && b.resources.iter().zip(&p.resources).all(|(x, y)| x.months.len() == y.months.len())
        && b.bom.len() == p.bom.len()
        && b.bom.iter().zip(&p.bom).all(|(x, y)| x.parent == y.parent && x.child == y.child)
}

/// The pieces of `g` (a large component of `p`) cut as the base `b`'s are, only the scenario's
/// changes moved (see the module's doc); `None` when a finished good of `p` is not one of `b`'s.
fn kept(p: &Problem, b: &Problem, g: &Members, piece_items: usize) -> Option<Vec<Members>> {
    let (ni, nr) = (p.items.len(), p.resources.len());
    let mut in_g = vec![false; ni];
    for &(i, _) in &g.items {
        in_g[i] = true;
    }
    let whole = Members {
        items: g.items.clone(),
        resources: g.resources.clone(),
        components: g.components.clone(),
        demand: (0..b.demand.len()).filter(|&d| in_g[b.demand[d].item]).collect(),
        ..Members::default()
    };
    let base = approximate(b, &whole, piece_items);
    let mut owner = vec![usize::MAX; ni];
    for (k, m) in base.iter().enumerate() {
        for &d in &m.demand {
            owner[b.demand[d].item] = k;
        }
    }
    let mut out = base.clone();
    for m in &mut out {
        m.demand.clear();
    }
    for (d, line) in p.demand.iter().enumerate() {
        if in_g[line.item] {
            out.get_mut(owner[line.item])?.demand.push(d);
        }
    }
    // The nodes whose scaled quantities the scenario changed, and the pieces holding each.
    let mut changed: BTreeMap<usize, Vec<(usize, f64)>> = BTreeMap::new();
    for &(i, _) in &g.items {
        let (x, y) = (&b.items[i], &p.items[i]);
        if x.opening_stock != y.opening_stock || x.safety_stock != y.safety_stock {
            changed.insert(i, Vec::new());
        }
    }
    for &(r, _) in &g.resources {
        let hours =
            |x: &Resource| x.months.iter().map(|m| (m.regular_hours, m.overtime_ceiling_hours)).collect::<Vec<_>>();
        if hours(&b.resources[r]) != hours(&p.resources[r]) {
            changed.insert(ni + r, Vec::new());
        }
    }
    for &(c, _) in &g.components {
        let (x, y) = (&b.components[c], &p.components[c]);
        if x.opening_stock != y.opening_stock || x.safety_stock != y.safety_stock || x.open_pos != y.open_pos {
            changed.insert(ni + nr + c, Vec::new());
        }
    }
    if changed.is_empty() {
        return Some(out);
    }
    for (k, m) in base.iter().enumerate() {
        let nodes = m.items.iter().copied();
        let nodes = nodes.chain(m.resources.iter().map(|&(r, s)| (ni + r, s)));
        for (x, s) in nodes.chain(m.components.iter().map(|&(c, s)| (ni + nr + c, s))) {
            if let Some(h) = changed.get_mut(&x) {
                h.push((k, s));
            }
        }
    }
    let mut plans: BTreeMap<usize, Option<(Piece, memo::Solved)>> = BTreeMap::new();
    for (&x, holders) in &changed {
        let shares: Vec<f64> = holders.iter().map(|h| h.1).collect();
        let largest = largest_share(&shares);
        let fixed: Vec<Fixed> = if x < ni {
            let (was, now) = (&b.items[x], &p.items[x]);
            let opening = place(was.opening_stock, now.opening_stock, &shares, &[], largest);
            let safety = place(was.safety_stock, now.safety_stock, &shares, &[], largest);
            opening.into_iter().zip(safety).map(|(opening, safety)| Fixed::Item { opening, safety }).collect()
        } else if x < ni + nr {
            let r = x - ni;
            let wants: Vec<Vec<(f64, f64)>> = holders
                .iter()
                .map(|&(k, _)| {
                    let plan = plans.entry(k).or_insert_with(|| base_plan(b, &base[k]));
                    plan.as_ref().map_or_else(Vec::new, |(piece, s)| wants(piece, &s.1, r))
                })
                .collect();
            resource_hours(&b.resources[r], &p.resources[r], &shares, &wants)
        } else {
            let (was, now) = (&b.components[x - ni - nr], &p.components[x - ni - nr]);
            let opening = place(was.opening_stock, now.opening_stock, &shares, &[], largest);
            let safety = place(was.safety_stock, now.safety_stock, &shares, &[], largest);
            let pos = open_orders(&was.open_pos, &now.open_pos, &shares, largest);
            (0..holders.len())
                .map(|h| Fixed::Component { opening: opening[h], safety: safety[h], open_pos: pos[h].clone() })
                .collect()
        };
        for (&(k, _), f) in holders.iter().zip(fixed) {
            out[k].fixed.insert(x, f);
        }
    }
    Some(out)
}

/// The holder with the largest share (the first of equals).
fn largest_share(shares: &[f64]) -> usize {
    (0..shares.len()).fold(0, |best, k| if shares[k] > shares[best] { k } else { best })
}

/// A quantity over its holders: each holder's share of `was`, the change from `was` to `now`
/// placed (see the module's doc): an addition to the holders by what each can use (`wants`,
/// most first), the rest to `sink`; a removal from the largest shares first, each down to 0.
fn place(was: f64, now: f64, shares: &[f64], wants: &[f64], sink: usize) -> Vec<f64> {
    let mut v: Vec<f64> = shares.iter().map(|&s| was * s).collect();
    if now > was {
        let mut left = now - was;
        let mut order: Vec<usize> = (0..v.len()).filter(|&k| wants.get(k).is_some_and(|&w| w > 0.0)).collect();
        order.sort_by(|&a, &b| wants[b].total_cmp(&wants[a]).then(a.cmp(&b)));
        for k in order {
            let give = wants[k].min(left);
            v[k] += give;
            left -= give;
        }
        if left > 0.0
            && let Some(x) = v.get_mut(sink)
        {
            *x += left;
        }
    } else if now < was {
        let mut left = was - now;
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&a, &b| shares[b].total_cmp(&shares[a]).then(a.cmp(&b)));
        for k in order {
            let take = v[k].min(left);
            v[k] -= take;
            left -= take;
        }
    }
    v
}

/// A resource's hours per holder and month: each month's regular hours and ceiling placed by
/// what each holder can use of them (`wants[holder][month]`: regular, ceiling; empty when its
/// base plan is not known), the rest to the holder that can use the most over the months, else
/// the largest share.
fn resource_hours(was: &Resource, now: &Resource, shares: &[f64], wants: &[Vec<(f64, f64)>]) -> Vec<Fixed> {
    let total = |k: usize| wants[k].iter().map(|w| w.0 + w.1).sum::<f64>();
    let sink = (0..shares.len())
        .filter(|&k| total(k) > 0.0)
        .fold(None, |best: Option<usize>, k| match best {
            Some(b) if total(b) >= total(k) => Some(b),
            _ => Some(k),
        })
        .unwrap_or_else(|| largest_share(shares));
    let mut out = vec![Vec::with_capacity(now.months.len()); shares.len()];
    for (t, (a, b)) in was.months.iter().zip(&now.months).enumerate() {
        let want = |f: fn(&(f64, f64)) -> f64| wants.iter().map(|w| w.get(t).map_or(0.0, f)).collect::<Vec<f64>>();
        let regular = place(a.regular_hours, b.regular_hours, shares, &want(|w| w.0), sink);
        let ceiling = place(a.overtime_ceiling_hours, b.overtime_ceiling_hours, shares, &want(|w| w.1), sink);
        for (k, o) in out.iter_mut().enumerate() {
            o.push((regular[k], ceiling[k]));
        }
    }
    out.into_iter().map(Fixed::Resource).collect()
}

/// Each holder's open orders: the scenario's list, each order's quantity placed against the
/// base's order of the same month and supplier (the n-th such with the n-th; none: 0).
fn open_orders(was: &[OpenPo], now: &[OpenPo], shares: &[f64], sink: usize) -> Vec<Vec<OpenPo>> {
    let mut base: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
    for po in was {
        base.entry((po.month, po.supplier)).or_default().push(po.qty);
    }
    let mut seen: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut out = vec![Vec::with_capacity(now.len()); shares.len()];
    for po in now {
        let n = seen.entry((po.month, po.supplier)).or_default();
        let b = base.get(&(po.month, po.supplier)).and_then(|v| v.get(*n)).copied().unwrap_or(0.0);
        *n += 1;
        for (k, qty) in place(b, po.qty, shares, &[], sink).into_iter().enumerate() {
            out[k].push(OpenPo { qty, ..*po });
        }
    }
    out
}

/// A base piece and its solve (the least-cost stage second), if the memo or the store has it.
fn base_plan(b: &Problem, m: &Members) -> Option<(Piece, memo::Solved)> {
    let piece = extract(b, m);
    let none = BTreeSet::new();
    let solved =
        [usize::MAX, 1].into_iter().find_map(|at_most| memo::peek(&memo::key(&piece.problem, &none, at_most)))?;
    Some((piece, solved))
}

/// What a base piece's plan `s` could use of more hours on resource `r` (global), per month:
/// (regular, ceiling) as the module's doc says; empty if the piece does not hold `r`.
fn wants(piece: &Piece, s: &Solution, r: usize) -> Vec<(f64, f64)> {
    let p = &piece.problem;
    let Some(lr) = piece.resources.iter().position(|&g| g == r) else { return Vec::new() };
    let n = p.months.len();
    let mut load = vec![0.0; n];
    for (i, it) in p.items.iter().enumerate() {
        for (k, routing) in it.routings.iter().enumerate() {
            let h: f64 = routing.operations.iter().filter(|o| o.resource == lr).map(|o| o.hours_per_unit).sum();
            if h != 0.0 {
                for (t, l) in load.iter_mut().enumerate() {
                    *l += h * s.production[i][k][t];
                }
            }
        }
    }
    // Hours on `lr` per unit of each item, through its first routing and its sub-assemblies.
    let mut children: Vec<Vec<(usize, f64)>> = vec![Vec::new(); p.items.len()];
    for e in &p.bom {
        if let Part::Item(c) = e.child {
            children[e.parent].push((c, e.qty_per));
        }
    }
    let mut unit: Vec<Option<f64>> = vec![None; p.items.len()];
    let mut unmet = vec![0.0; n];
    for (d, line) in p.demand.iter().enumerate() {
        let short = line.qty - s.served[d];
        if short > 0.0 && line.month < n {
            unmet[line.month] += short * unit_hours(p, &children, lr, line.item, &mut unit);
        }
    }
    (0..n)
        .map(|t| {
            let m = &p.resources[lr].months[t];
            let ot = s.overtime[lr][t];
            let tol = 1e-6 * (1.0 + m.regular_hours + m.overtime_ceiling_hours);
            let full = load[t] >= m.regular_hours - tol;
            let regular = if full { ot + unmet[t] } else { 0.0 };
            let ceiling = if full && ot >= m.overtime_ceiling_hours - tol { unmet[t] } else { 0.0 };
            (regular, ceiling)
        })
        .collect()
}

fn unit_hours(p: &Problem, children: &[Vec<(usize, f64)>], r: usize, i: usize, memo: &mut Vec<Option<f64>>) -> f64 {
    if let Some(h) = memo[i] {
        return h;
    }
    let own: f64 = p.items[i]
        .routings
        .first()
        .map_or(0.0, |rt| rt.operations.iter().filter(|o| o.resource == r).map(|o| o.hours_per_unit).sum());
    let below: f64 = children[i].iter().map(|&(c, q)| q * unit_hours(p, children, r, c, memo)).sum();
    memo[i] = Some(own + below);
    own + below
}

/// A piece's own problem: its nodes renumbered, each scaled by its share.
fn extract(p: &Problem, m: &Members) -> Piece {
    let local = |n: usize, v: &[(usize, f64)]| {
        let mut at = vec![usize::MAX; n];
        for (l, &(g, _)) in v.iter().enumerate() {
            at[g] = l;
        }
        at
    };
    let (li, lr, lc) = (
        local(p.items.len(), &m.items),
        local(p.resources.len(), &m.resources),
        local(p.components.len(), &m.components),
    );
    let (ni, nr) = (p.items.len(), p.resources.len());
    let items = m
        .items
        .iter()
        .map(|&(g, s)| {
            let it = &p.items[g];
            let (opening_stock, safety_stock) = match m.fixed.get(&g) {
                Some(Fixed::Item { opening, safety }) => (*opening, *safety),
                _ => (it.opening_stock * s, it.safety_stock * s),
            };
            Item {
                opening_stock,
                safety_stock,
                routings: it
                    .routings
                    .iter()
                    .map(|r| Routing {
                        label: r.label.clone(),
                        premium_per_unit: r.premium_per_unit,
                        operations: r
                            .operations
                            .iter()
                            .map(|op| Operation { resource: lr[op.resource], hours_per_unit: op.hours_per_unit })
                            .collect(),
                    })
                    .collect(),
                ..it.clone()
            }
        })
        .collect();
    let resources = m
        .resources
        .iter()
        .map(|&(g, s)| {
            let r = &p.resources[g];
            let mut months = r.months.clone();
            if let Some(Fixed::Resource(hours)) = m.fixed.get(&(ni + g)) {
                for (x, &(regular, ceiling)) in months.iter_mut().zip(hours) {
                    x.regular_hours = regular;
                    x.overtime_ceiling_hours = ceiling;
                }
            } else {
                for x in &mut months {
                    x.regular_hours *= s;
                    x.overtime_ceiling_hours *= s;
                }
            }
            Resource { months, ..r.clone() }
        })
        .collect();
    let components = m
        .components
        .iter()
        .map(|&(g, s)| {
            let c = &p.components[g];
            if let Some(Fixed::Component { opening, safety, open_pos }) = m.fixed.get(&(ni + nr + g)) {
                return Component {
                    opening_stock: *opening,
                    safety_stock: *safety,
                    open_pos: open_pos.clone(),
                    ..c.clone()
                };
            }
            Component {
                opening_stock: c.opening_stock * s,
                safety_stock: c.safety_stock * s,
                open_pos: c.open_pos.iter().map(|po| OpenPo { qty: po.qty * s, ..*po }).collect(),
                ..c.clone()
            }
        })
        .collect();
    let bom = p
        .bom
        .iter()
        .filter(|e| li[e.parent] != usize::MAX)
        .map(|e| BomEdge {
            parent: li[e.parent],
            child: match e.child {
                Part::Item(c) => Part::Item(li[c]),
                Part::Component(c) => Part::Component(lc[c]),
            },
            qty_per: e.qty_per,
        })
        .collect();
    let demand = m.demand.iter().map(|&d| DemandLine { item: li[p.demand[d].item], ..p.demand[d].clone() }).collect();
    Piece {
        problem: Problem {
            months: p.months.clone(),
            frozen_months: p.frozen_months,
            items,
            resources,
            components,
            suppliers: p.suppliers.clone(),
            bom,
            demand,
            rule: p.rule,
        },
        items: m.items.iter().map(|x| x.0).collect(),
        resources: m.resources.iter().map(|x| x.0).collect(),
        components: m.components.iter().map(|x| x.0).collect(),
        demand: m.demand.clone(),
        approximate: m.approximate,
    }
}

/// A plan of the whole with nothing in it (every quantity 0).
pub fn empty(p: &Problem) -> Solution {
    let n = p.months.len();
    Solution {
        cost: super::Cost::default(),
        production: p.items.iter().map(|it| vec![vec![0.0; n]; it.routings.len()]).collect(),
        overtime: vec![vec![0.0; n]; p.resources.len()],
        item_stock: vec![vec![0.0; n]; p.items.len()],
        component_stock: vec![vec![0.0; n]; p.components.len()],
        purchases: p.components.iter().map(|c| vec![vec![0.0; n]; c.options.len()]).collect(),
        expedites: p.components.iter().map(|c| vec![vec![0.0; n]; c.options.len()]).collect(),
        served: vec![0.0; p.demand.len()],
    }
}

/// Adds a piece's plan into a plan of the whole (`sign` -1 takes it out).
pub fn add(into: &mut Solution, piece: &Piece, s: &Solution, sign: f64) {
    let acc = |a: &mut Vec<f64>, b: &Vec<f64>| {
        for (x, y) in a.iter_mut().zip(b) {
            *x += sign * y;
        }
    };
    for (l, &g) in piece.items.iter().enumerate() {
        for (a, b) in into.production[g].iter_mut().zip(&s.production[l]) {
            acc(a, b);
        }
        acc(&mut into.item_stock[g], &s.item_stock[l]);
    }
    for (l, &g) in piece.resources.iter().enumerate() {
        acc(&mut into.overtime[g], &s.overtime[l]);
    }
    for (l, &g) in piece.components.iter().enumerate() {
        acc(&mut into.component_stock[g], &s.component_stock[l]);
        for (a, b) in into.purchases[g].iter_mut().zip(&s.purchases[l]) {
            acc(a, b);
        }
        for (a, b) in into.expedites[g].iter_mut().zip(&s.expedites[l]) {
            acc(a, b);
        }
    }
    for (l, &g) in piece.demand.iter().enumerate() {
        into.served[g] += sign * s.served[l];
    }
}

/// The pieces' plans side by side: the plan of the whole, its cost from its quantities.
pub fn merge(p: &Problem, split: &Split, plans: &[Solution]) -> Solution {
    let mut out = empty(p);
    for (piece, s) in split.pieces.iter().zip(plans) {
        add(&mut out, piece, s, 1.0);
    }
    clean(&mut out);
    out.cost = super::cost_of(p, &out);
    out
}

/// Sums of pieces' zeros stay 0; tiny sums of opposite signs are rounding.
pub fn clean(s: &mut Solution) {
    let c = |x: &mut f64| {
        if x.abs() < 1e-9 {
            *x = 0.0;
        }
    };
    s.production.iter_mut().flatten().flatten().for_each(c);
    s.overtime.iter_mut().flatten().for_each(c);
    s.item_stock.iter_mut().flatten().for_each(c);
    s.component_stock.iter_mut().flatten().for_each(c);
    s.purchases.iter_mut().flatten().flatten().for_each(c);
    s.expedites.iter_mut().flatten().flatten().for_each(c);
    s.served.iter_mut().for_each(c);
}

#[cfg(test)]
mod scenario_tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::super::check::largest_violation;
    use super::super::*;
    use super::{SplitOptions, split, with_base};

    /// Every finished good its own approximate piece.
    const ONE_EACH: SplitOptions = SplitOptions { connected: true, approximate_above_items: Some(0), piece_items: 1 };

    fn problem(months: usize, suppliers: usize) -> Problem {
        Problem {
            months: (0..months).map(|t| format!("2027-{:02}", t + 1)).collect(),
            frozen_months: 0,
            items: Vec::new(),
            resources: Vec::new(),
            components: Vec::new(),
            suppliers: (0..suppliers).map(|k| Supplier::new(&format!("S{k}"), 1.0)).collect(),
            bom: Vec::new(),
            demand: Vec::new(),
            rule: AllocationRule::CostFirst,
        }
    }

    fn resource(p: &mut Problem, name: &str, regular: f64, ceiling: f64, rate: f64) -> usize {
        let m = ResourceMonth { regular_hours: regular, overtime_ceiling_hours: ceiling, overtime_cost_per_hour: rate };
        p.resources.push(Resource {
            name: name.into(),
            site: "A".into(),
            kind: "line".into(),
            months: vec![m; p.months.len()],
        });
        p.resources.len() - 1
    }

    /// An item with one routing per (premium, resource, hours per unit).
    fn item(p: &mut Problem, name: &str, stock: f64, routings: &[(f64, usize, f64)]) -> usize {
        let routings = routings
            .iter()
            .enumerate()
            .map(|(k, &(premium, resource, hours))| Routing {
                label: format!("R{k}"),
                premium_per_unit: premium,
                operations: vec![Operation { resource, hours_per_unit: hours }],
            })
            .collect();
        p.items.push(Item {
            name: name.into(),
            site: "A".into(),
            unit_cost: 10.0,
            opening_stock: stock,
            safety_stock: 0.0,
            holding_cost_per_month: 1.0,
            routings,
        });
        p.items.len() - 1
    }

    fn demand(p: &mut Problem, item: usize, month: usize, qty: f64, margin: f64) {
        let line = DemandLine {
            item,
            customer: "K1".into(),
            priority: 1,
            month,
            qty,
            unit_price: margin + 10.0,
            unit_margin: margin,
        };
        p.demand.push(line);
    }

    /// Hours added where the base plan lacks them. One month; line R6 has 6 h, no overtime; A6
    /// needs 10 units at 1 h each, B6 2 units at 1 h but has 2 in stock (it needs no hours);
    /// margin 10 each (costs within the stages' held tolerance). Cut one finished good a piece, R6 is shared by requirement: A6 10/12 of
    /// 6 = 5 h, B6 1 h. Base: A6 makes 5, loses 5 x 10 = 50 (B6 ships its stock): cost 50.
    /// The scenario adds 3 h (9 h). With the base's shares, A6's piece uses its 5 h fully and
    /// leaves 5 h of load unserved, so the 3 h go to it (8 h): it loses 2 x 10 = 20, and B6's
    /// piece keeps its 1 h, the base's piece to the byte, read from the memo (1 piece solved).
    /// Cut afresh, the 9 h are shared 7.5 and 1.5: A6 loses 2.5 x 10 = 25 and both pieces are
    /// solved. The exact solve gives A6 all 9 h (B6 needs none): it loses 1 x 10 = 10.
    #[test]
    fn added_hours_go_to_the_piece_that_binds_and_the_other_is_reused() {
        let mut base = problem(1, 1);
        let r = resource(&mut base, "R6", 6.0, 0.0, 0.0);
        let a = item(&mut base, "A6", 0.0, &[(0.0, r, 1.0)]);
        let b = item(&mut base, "B6", 2.0, &[(0.0, r, 1.0)]);
        demand(&mut base, a, 0, 10.0, 10.0);
        demand(&mut base, b, 0, 2.0, 10.0);
        let none = BTreeSet::new();
        let (plan, solved) = solve_with_memo(&base, &none, usize::MAX, ONE_EACH, true).unwrap();
        assert!((plan.cost.total() - 50.0).abs() < 1e-4, "{:?}", plan.cost);
        assert!(solved <= 2);
        let mut scenario = base.clone();
        scenario.resources[r].months[0].regular_hours = 9.0;

        let shared = Arc::new(base.clone());
        let cut = with_base(Some(shared.clone()), || split(&scenario, ONE_EACH));
        let before = split(&base, ONE_EACH);
        assert_eq!(cut.pieces.len(), 2);
        assert!((cut.pieces[0].problem.resources[0].months[0].regular_hours - 8.0).abs() < 1e-12);
        assert_eq!(cut.pieces[1].problem, before.pieces[1].problem);
        let (kept, solved) =
            with_base(Some(shared), || solve_with_memo(&scenario, &none, usize::MAX, ONE_EACH, true)).unwrap();
        assert_eq!(solved, 1, "B6's piece is the base's, from the memo");
        assert!((kept.cost.total() - 20.0).abs() < 1e-4, "{:?}", kept.cost);
        assert!(largest_violation(&scenario, &kept).0 < 1e-9);

        let (fresh, solved) = solve_with_memo(&scenario, &none, usize::MAX, ONE_EACH, true).unwrap();
        assert_eq!(solved, 2);
        assert!((fresh.cost.total() - 25.0).abs() < 1e-4, "{:?}", fresh.cost);
        assert!((solve_least_cost(&scenario).unwrap().cost.total() - 10.0).abs() < 1e-4);
    }

    /// Hours removed are taken from the largest share first, each down to 0: R7 has 12 h, A7
    /// needs 9 (share 9/12: 9 h) and B7 3 (3 h); 4 h removed (8 h) come out of A7's piece
    /// alone (5 h), B7's keeps 3 h. Then 10 h removed (2 h): A7's piece 0, B7's 2.
    #[test]
    fn removed_hours_come_from_the_largest_share_first() {
        let mut base = problem(1, 1);
        let r = resource(&mut base, "R7", 12.0, 0.0, 0.0);
        let a = item(&mut base, "A7", 0.0, &[(0.0, r, 1.0)]);
        let b = item(&mut base, "B7", 0.0, &[(0.0, r, 1.0)]);
        demand(&mut base, a, 0, 9.0, 10.0);
        demand(&mut base, b, 0, 3.0, 10.0);
        let shared = Arc::new(base.clone());
        let hours = |h: f64| {
            let mut s = base.clone();
            s.resources[r].months[0].regular_hours = h;
            let cut = with_base(Some(shared.clone()), || split(&s, ONE_EACH));
            cut.pieces.iter().map(|pc| pc.problem.resources[0].months[0].regular_hours).collect::<Vec<_>>()
        };
        assert_eq!(hours(8.0), vec![5.0, 3.0]);
        assert_eq!(hours(2.0), vec![0.0, 2.0]);
        assert_eq!(hours(12.0), vec![9.0, 3.0]);
    }

    /// A random base: 2 months, 2 lines, 2-4 finished goods (each on a line, some with an
    /// alternate on the other at a premium, some with stock), one part all of them use with an
    /// open order, demand for every good in every month; and a scenario of it: hours, ceilings,
    /// the part's stock and open order, and the first good's demand scaled.
    fn base_and_scenario() -> impl Strategy<Value = (Problem, Problem)> {
        (
            prop::collection::vec((0.0f64..60.0, 0.0f64..20.0, 1.0f64..8.0), 2),
            prop::collection::vec((0usize..2, 0.2f64..2.0, prop::option::of(0.0f64..5.0), 0.0f64..10.0), 2..5),
            (0.0f64..40.0, 0.0f64..30.0, 1.0f64..10.0),
            prop::collection::vec((0.0f64..30.0, 0.0f64..25.0), 4..10),
            (prop::collection::vec((0.0f64..2.5, 0.0f64..2.5), 2), 0.0f64..2.5, 0.0f64..2.5, 0.0f64..3.0),
        )
            .prop_map(|(res, items, (stock, po, cost), lines, (hours, stock_x, po_x, promo))| {
                let mut p = problem(2, 1);
                for (k, &(h, ot, rate)) in res.iter().enumerate() {
                    resource(&mut p, &format!("L{k}"), h, ot, rate);
                }
                let option = SupplierOption {
                    supplier: 0,
                    unit_cost: cost,
                    lead_time_months: 1,
                    min_order_qty: 0.0,
                    can_expedite: false,
                    expedite_premium_per_unit: 0.0,
                    expedite_lead_time_months: 1,
                };
                p.components.push(Component {
                    name: "P".into(),
                    unit_cost: cost,
                    opening_stock: stock,
                    safety_stock: 0.0,
                    holding_cost_per_month: 0.1,
                    open_pos: vec![OpenPo { month: 1, qty: po, supplier: 0 }],
                    options: vec![option],
                });
                for (i, &(r, h, alt, own)) in items.iter().enumerate() {
                    let mut routings = vec![(0.0, r, h)];
                    if let Some(premium) = alt {
                        routings.push((premium, 1 - r, h));
                    }
                    let it = item(&mut p, &format!("F{i}"), own, &routings);
                    p.bom.push(BomEdge { parent: it, child: Part::Component(0), qty_per: 1.0 });
                }
                let n = p.items.len();
                for (k, &(qty, margin)) in lines.iter().enumerate() {
                    demand(&mut p, k % n, (k / n) % 2, qty, margin);
                }
                for i in 0..n {
                    for t in 0..2 {
                        demand(&mut p, i, t, 1.0, 5.0);
                    }
                }
                let mut s = p.clone();
                for (res, &(x, y)) in s.resources.iter_mut().zip(&hours) {
                    res.months[1].regular_hours *= x;
                    res.months[0].overtime_ceiling_hours *= y;
                }
                s.components[0].opening_stock *= stock_x;
                s.components[0].open_pos[0].qty *= po_x;
                for line in s.demand.iter_mut().filter(|l| l.item == 0) {
                    line.qty *= promo;
                }
                (p, s)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        /// With the base's shares, the scenario's plan passes the independent checker against
        /// the whole scenario problem and is never cheaper than its optimum; and a scenario
        /// with no change is the base plan, byte for byte (a change of nothing moves nothing).
        #[test]
        fn a_scenario_cut_with_the_base_shares_is_feasible(case in base_and_scenario()) {
            let (base, scenario) = case;
            let none = BTreeSet::new();
            let (plan, _) = solve_with_memo(&base, &none, usize::MAX, ONE_EACH, true).unwrap();
            let shared = Arc::new(base.clone());
            let (same, _) = with_base(Some(shared.clone()), || solve_with_memo(&base, &none, usize::MAX, ONE_EACH, false)).unwrap();
            prop_assert_eq!(format!("{same:?}"), format!("{plan:?}"));
            prop_assert_eq!(&same, &plan);
            let (s, _) = with_base(Some(shared), || solve_with_memo(&scenario, &none, usize::MAX, ONE_EACH, true)).unwrap();
            let (v, what) = largest_violation(&scenario, &s);
            prop_assert!(v < 1e-6, "violation {} ({})", v, what);
            let best = solve_least_cost(&scenario).unwrap().cost.total();
            prop_assert!(s.cost.total() >= best - 1e-6 * best.abs().max(1.0), "{} < {}", s.cost.total(), best);
        }
    }
}
