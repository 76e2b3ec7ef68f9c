//! Gap options (greedy pricing): the fixes for each gap priced linearly, and the recommendation
//! that takes the fixes cheapest per unit first until the gap is closed and accepts what no
//! fix reaches.
//!
//! - A capacity or labour gap: overtime at its hourly cost within the ceiling; build ahead into
//!   spare regular hours of earlier months at the holding cost per month; an alternate site
//!   with a routing and spare hours at its premium; accepting the shortfall at the lost margin.
//!   Build ahead and the alternate site are checked on the overloaded resource (and the
//!   alternate site's own resources) only.
//! - A material or supplier gap: expedite (material gaps only, when the current supplier
//!   expedites) at its premium, reaching only demand outside the expedited lead time; an
//!   alternate supplier only where `component_suppliers` lists one, at its unit cost above the
//!   current one's, reaching only demand outside its lead time; accepting the shortfall at the
//!   lost margin.
//!
//! This pricing is kept apart from gap detection so that an optimiser can replace it.

use std::collections::BTreeSet;

use super::capacity::Routes;
use super::masters::Masters;
use super::materials::Node;
use super::{EPS, GapKind, GapOption, OptionKind, Plan, RecommendedStep, r2, r3};

/// An option while it is being priced; `takes` are the spare hours it would use.
pub(super) struct Offer {
    pub(super) kind: OptionKind,
    pub(super) detail: String,
    pub(super) units: f64,
    pub(super) cost: f64,
    pub(super) takes: Vec<(usize, usize, f64)>,
}

impl Offer {
    pub(super) fn new(
        kind: OptionKind,
        detail: String,
        units: f64,
        cost: f64,
        takes: Vec<(usize, usize, f64)>,
    ) -> Offer {
        Offer { kind, detail, units, cost, takes }
    }

    fn per_unit(&self) -> f64 {
        if self.units > EPS { self.cost / self.units } else { f64::INFINITY }
    }

    pub(super) fn fact(&self, gap_units: f64) -> GapOption {
        let closes = self.units.min(gap_units);
        GapOption {
            kind: self.kind,
            detail: self.detail.clone(),
            closes_units: r3(closes),
            closes_percent: if gap_units > EPS { r2(100.0 * closes / gap_units) } else { 100.0 },
            fully_closes: closes >= gap_units - 1e-6,
            cost_money: r2(self.cost),
            cost_per_unit_money: if self.units > EPS { r2(self.per_unit()) } else { 0.0 },
        }
    }
}

/// The cheapest set of fixes per unit that closes `units`; what no fix reaches is accepted.
/// Returns the steps and, per fix used, the share of it used.
pub(super) fn recommend(options: &mut [Offer], units: f64) -> (Vec<RecommendedStep>, Vec<(&Offer, f64)>) {
    options.sort_by(|a, b| {
        let accept = |o: &Offer| o.kind == OptionKind::AcceptShortfall;
        accept(a).cmp(&accept(b)).then(a.per_unit().total_cmp(&b.per_unit())).then(a.kind.cmp(&b.kind))
    });
    let mut left = units;
    let mut steps = Vec::new();
    let mut used = Vec::new();
    for o in options.iter() {
        if left <= 1e-9 {
            break;
        }
        if o.kind == OptionKind::AcceptShortfall {
            steps.push(RecommendedStep { kind: o.kind, units: r3(left), cost_money: r2(left * o.per_unit()) });
            break;
        }
        let take = o.units.min(left);
        if take <= EPS {
            continue;
        }
        let fraction = take / o.units;
        steps.push(RecommendedStep { kind: o.kind, units: r3(take), cost_money: r2(o.cost * fraction) });
        used.push((o, fraction));
        left -= take;
    }
    (steps, used)
}

/// A capacity or labour overload of resource `r` in plan month `mi`, as the gap finder measured
/// it.
pub(super) struct Overload {
    pub(super) r: usize,
    pub(super) mi: usize,
    /// Load beyond regular hours.
    pub(super) over: f64,
    /// `over` in finished units (at `avg_h`).
    pub(super) units: f64,
    /// Average hours per unit, price and cost of the units loading the resource in the month.
    pub(super) avg_h: f64,
    pub(super) avg_price: f64,
    pub(super) avg_cost: f64,
}

/// The options for a capacity or labour overload: overtime, build ahead into `spare` hours of
/// earlier months (nearest first), an alternate site with spare hours in the month, and
/// accepting the shortfall. `spare` is what earlier recommendations left of each resource's
/// spare regular hours.
pub(super) fn capacity_options(plan: &Plan<'_>, spare: &[Vec<f64>], o: &Overload) -> Vec<Offer> {
    let Overload { r, mi, over, units, avg_h, avg_price, avg_cost } = *o;
    let Masters { params: p, ref months, ref items, .. } = plan.masters;
    let Routes { ref primary, ref alternates } = plan.routes;
    let (cap, skus_on, prod) = (&plan.cap, &plan.load.skus_on, &plan.net.prod);
    let mut options = Vec::new();
    // Overtime within the ceiling.
    let ot_hours = over.min(cap[r][mi].overtime);
    if ot_hours > EPS {
        options.push(Offer::new(
            OptionKind::Overtime,
            format!("{:.1} h overtime at {:.2}/h (ceiling {:.1} h)", ot_hours, cap[r][mi].rate, cap[r][mi].overtime),
            ot_hours / avg_h,
            ot_hours * cap[r][mi].rate,
            Vec::new(),
        ));
    }
    // Build ahead into spare regular hours of earlier months, nearest first.
    let mut left = over;
    let mut takes = Vec::new();
    let mut hold_cost = 0.0;
    for back in (0..mi).rev() {
        if left <= EPS {
            break;
        }
        let take = spare[r][back].min(left);
        if take > EPS {
            left -= take;
            hold_cost += take / avg_h * avg_cost * p.holding_cost_percent_per_month / 100.0 * (mi - back) as f64;
            takes.push((r, back, take));
        }
    }
    if !takes.is_empty() {
        let hours: f64 = takes.iter().map(|t| t.2).sum();
        let from: Vec<String> = takes.iter().map(|t| months[t.1].to_string()).collect();
        options.push(Offer::new(
            OptionKind::BuildAhead,
            format!("build {:.1} h ahead in {}", hours, from.join(", ")),
            hours / avg_h,
            hold_cost,
            takes,
        ));
    }
    // An alternate site with a routing and spare hours in the month.
    let mut left = over;
    let mut takes = Vec::new();
    let mut alt_cost = 0.0;
    let mut sites_used = BTreeSet::new();
    for &s in &skus_on[r][mi] {
        let Some(h_here) = primary[s].iter().find(|x| x.0 == r).map(|x| x.1) else { continue };
        let mut movable = prod[s][mi].min(left / h_here);
        for (site, steps) in &alternates[s] {
            if movable <= EPS {
                break;
            }
            let mut u = movable;
            for &(ar, h) in steps {
                if h > 0.0 {
                    let already: f64 = takes.iter().filter(|t: &&(usize, usize, f64)| t.0 == ar).map(|t| t.2).sum();
                    u = u.min((spare[ar][mi] - already).max(0.0) / h);
                }
            }
            if u > EPS {
                for &(ar, h) in steps {
                    takes.push((ar, mi, u * h));
                }
                sites_used.insert(site.clone());
                alt_cost += u * items[s].cost * p.alternate_site_premium_percent / 100.0;
                left -= u * h_here;
                movable -= u;
            }
        }
    }
    if over - left > EPS {
        options.push(Offer::new(
            OptionKind::AlternateSite,
            format!("move {:.1} h to {}", over - left, sites_used.into_iter().collect::<Vec<_>>().join(", ")),
            (over - left) / avg_h,
            alt_cost,
            takes,
        ));
    }
    options.push(Offer::new(
        OptionKind::AcceptShortfall,
        "accept the shortfall: lost margin".to_string(),
        units,
        units * (avg_price - avg_cost),
        Vec::new(),
    ));
    options
}

/// Component and finished units a fix reaches.
#[derive(Clone, Copy, Default)]
pub(super) struct Reach {
    pub(super) comp: f64,
    pub(super) fg: f64,
}

impl Reach {
    pub(super) fn add(&mut self, comp: f64, fg: f64) {
        self.comp += comp;
        self.fg += fg;
    }
    pub(super) fn minus(self, b: Reach) -> Reach {
        Reach { comp: (self.comp - b.comp).max(0.0), fg: (self.fg - b.fg).max(0.0) }
    }
}

/// The options for a material or supplier gap on component `nd`: `units` finished units are
/// short in all, at `margin` lost margin. An expedite (material gaps only, when the current
/// supplier expedites) reaches `exp`, the demand outside the expedited lead time, at the
/// supplier's premium; the alternate supplier, only where the data lists one, reaches `alt`,
/// the demand outside its lead time, at its unit cost above the current one's.
pub(super) fn material_options(
    nd: &Node,
    kind: GapKind,
    exp: Reach,
    alt: Reach,
    units: f64,
    margin: f64,
) -> Vec<Offer> {
    let mut options = Vec::new();
    if let Some((lead, premium)) = nd.expedite.filter(|_| kind == GapKind::Material && exp.fg > EPS) {
        options.push(Offer::new(
            OptionKind::Expedite,
            format!(
                "expedite {:.0} units from `{}` ({lead:.0} days instead of {})",
                exp.comp, nd.supplier, nd.lead_time_days
            ),
            exp.fg,
            exp.comp * nd.unit_cost * premium / 100.0,
            Vec::new(),
        ));
    }
    if let Some(o) = nd.alternate.as_ref().filter(|_| alt.fg > EPS) {
        options.push(Offer::new(
            OptionKind::AlternateSupplier,
            format!(
                "buy {:.0} units from `{}` at {:.2} ({} days instead of {})",
                alt.comp, o.supplier, o.unit_cost, o.lead_time_days, nd.lead_time_days
            ),
            alt.fg,
            alt.comp * (o.unit_cost - nd.unit_cost).max(0.0),
            Vec::new(),
        ));
    }
    options.push(Offer::new(
        OptionKind::AcceptShortfall,
        "accept the shortfall: lost margin".to_string(),
        units,
        margin,
        Vec::new(),
    ));
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 12-unit gap: build ahead (10 units for 50, 5 a unit) goes first, then 2 of overtime's
    /// 4 units (40 for 4, so 20 for half); nothing is left to accept.
    #[test]
    fn recommend_takes_the_cheapest_per_unit_first() {
        let mut options = vec![
            Offer::new(OptionKind::Overtime, String::new(), 4.0, 40.0, Vec::new()),
            Offer::new(OptionKind::AcceptShortfall, String::new(), 12.0, 120.0, Vec::new()),
            Offer::new(OptionKind::BuildAhead, String::new(), 10.0, 50.0, Vec::new()),
        ];
        let (steps, used) = recommend(&mut options, 12.0);
        let expected = vec![
            RecommendedStep { kind: OptionKind::BuildAhead, units: 10.0, cost_money: 50.0 },
            RecommendedStep { kind: OptionKind::Overtime, units: 2.0, cost_money: 20.0 },
        ];
        assert_eq!(steps, expected);
        let fractions: Vec<(OptionKind, f64)> = used.iter().map(|(o, f)| (o.kind, *f)).collect();
        assert_eq!(fractions, vec![(OptionKind::BuildAhead, 1.0), (OptionKind::Overtime, 0.5)]);
    }
}
