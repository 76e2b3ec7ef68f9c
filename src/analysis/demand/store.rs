//! The consensus as the long tables the store keeps and the next cycle reads back.

use polars::prelude::*;

use super::super::AnalysisError;
use super::{Consensus, Layer};
use crate::contract::Month;

/// The consensus as two long tables (cells and adjustments), for the store and the next cycle.
pub fn consensus_frames(consensus: &Consensus, cycle: Month) -> Result<(DataFrame, DataFrame), AnalysisError> {
    let months = consensus.facts.months.len();
    let n = consensus.series.len() * months;
    let (mut sku, mut cust, mut fam, mut month, mut st, mut sa, mut mk, mut fi, mut me) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut a_sku, mut a_cust, mut a_month, mut a_layer, mut a_owner, mut a_reason, mut a_delta) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for s in &consensus.series {
        for m in 0..months {
            let mk_ = cycle.plus(m as i32).to_string();
            sku.push(s.sku.clone());
            cust.push(s.customer.clone());
            fam.push(s.family.clone());
            month.push(mk_.clone());
            st.push(s.statistical[m]);
            sa.push(s.sales[m]);
            mk.push(s.marketing[m]);
            fi.push(s.final_units(m));
            me.push(s.method.clone());
            for t in &s.traces[m] {
                a_sku.push(s.sku.clone());
                a_cust.push(s.customer.clone());
                a_month.push(mk_.clone());
                a_layer.push(if t.layer == Layer::Marketing { "marketing" } else { "sales" }.to_string());
                a_owner.push(t.owner.clone());
                a_reason.push(t.reason.clone());
                a_delta.push(t.delta_units);
            }
        }
    }
    let c = |name: &str, v: Vec<String>| Column::new(name.into(), v);
    let f = |name: &str, v: Vec<f64>| Column::new(name.into(), v);
    let cells = DataFrame::new_infer_height(vec![
        c("sku", sku),
        c("customer", cust),
        c("family", fam),
        c("month", month),
        f("statistical", st),
        f("sales", sa),
        f("marketing", mk),
        f("final", fi),
        c("method", me),
    ])?;
    let adjustments = DataFrame::new_infer_height(vec![
        c("sku", a_sku),
        c("customer", a_cust),
        c("month", a_month),
        c("layer", a_layer),
        c("owner", a_owner),
        c("reason", a_reason),
        f("delta", a_delta),
    ])?;
    Ok((cells, adjustments))
}

/// The statistical forecast per series and month with its prediction interval, before any
/// layer: `sku, customer, family, month, method, class, statistical, lower, upper`.
pub fn statistical_frame(consensus: &Consensus, cycle: Month) -> Result<DataFrame, AnalysisError> {
    let months = consensus.facts.months.len();
    let mut text: [Vec<String>; 6] = Default::default();
    let mut nums: [Vec<f64>; 3] = Default::default();
    for s in &consensus.series {
        for m in 0..months {
            for (v, t) in text.iter_mut().zip([
                &s.sku,
                &s.customer,
                &s.family,
                &cycle.plus(m as i32).to_string(),
                &s.method,
                &s.class,
            ]) {
                v.push(t.clone());
            }
            for (v, x) in nums.iter_mut().zip([s.statistical[m], s.lower[m], s.upper[m]]) {
                v.push(x);
            }
        }
    }
    let [sku, customer, family, month, method, class] = text;
    let [statistical, lower, upper] = nums;
    let c = |name: &str, v: Vec<String>| Column::new(name.into(), v);
    let f = |name: &str, v: Vec<f64>| Column::new(name.into(), v);
    Ok(DataFrame::new_infer_height(vec![
        c("sku", sku),
        c("customer", customer),
        c("family", family),
        c("month", month),
        c("method", method),
        c("class", class),
        f("statistical", statistical),
        f("lower", lower),
        f("upper", upper),
    ])?)
}
