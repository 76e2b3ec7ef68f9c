//! The compact facts a narrative is drafted from.

use super::{DemandFacts, LayerTotals};

/// The facts a narrative is drafted from: the totals, the families, the five largest customers,
/// accuracy and value added, the owners and the variance. A few kilobytes, whatever the size of
/// the company: the model needs the story, the workbook has the detail.
pub fn narrative_facts(f: &DemandFacts) -> serde_json::Value {
    let mut customers: Vec<&(String, LayerTotals)> = f.by_customer.iter().collect();
    customers.sort_by(|a, b| b.1.final_revenue.total_cmp(&a.1.final_revenue).then(a.0.cmp(&b.0)));
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let totals = |t: &LayerTotals| {
        serde_json::json!({
            "statistical_units": round(t.statistical_units),
            "sales_adjustment_units": round(t.sales_adjustment_units),
            "marketing_adjustment_units": round(t.marketing_adjustment_units),
            "final_units": round(t.final_units),
            "final_revenue": round(t.final_revenue),
            "budget_revenue": t.budget_revenue.map(round),
        })
    };
    serde_json::json!({
        "cycle": f.cycle,
        "first_month": f.months.first(),
        "last_month": f.months.last(),
        "series_count": f.series_count,
        "totals": totals(&f.totals),
        "families": f.by_family.iter().map(|(fam, t)| {
            let mut v = totals(t);
            v["family"] = serde_json::Value::String(fam.clone());
            v
        }).collect::<Vec<_>>(),
        "top_customers": customers.iter().take(5).map(|(c, t)| serde_json::json!({
            "customer": c,
            "final_units": round(t.final_units),
            "final_revenue": round(t.final_revenue),
        })).collect::<Vec<_>>(),
        "accuracy": f.accuracy,
        "value_added": f.value_added,
        "value_added_by_owner": f.value_added_by_owner,
        "owners": f.owners,
        "variance": f.variance.as_ref().map(|v| serde_json::json!({
            "month": v.month,
            "against": v.against,
            "plan_units": round(v.plan_units),
            "actual_units": round(v.actual_units),
            "plan_revenue": round(v.plan_revenue),
            "actual_revenue": round(v.actual_revenue),
            "volume_effect": round(v.volume_effect),
            "mix_effect": round(v.mix_effect),
            "price_effect": round(v.price_effect),
            "top_movers": v.top_movers.iter().take(3).collect::<Vec<_>>(),
        })),
        "variance_unavailable": f.variance_unavailable,
        "changes_since_last_consensus": f.changes_since_last_consensus.as_ref().map(|c| serde_json::json!({
            "against_cycle": c.against_cycle,
            "last_units": round(c.last_units),
            "this_units": round(c.this_units),
            "change_units": round(c.change_units),
            "largest_family_changes": c.by_family.iter().take(3).map(|f| serde_json::json!({
                "family": f.family, "change_units": round(f.change_units),
            })).collect::<Vec<_>>(),
        })),
        "launches_planned": f.launches_planned.len(),
        "discontinued_cut": f.discontinued_cut.len(),
    })
}
