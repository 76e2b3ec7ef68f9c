//! Typed columns (Parquet) turned into the text the validator reads, by the contract's kind: a
//! date or timestamp is written in the column's date format, a whole decimal or float in an
//! integer column as an integer, a decimal as a number. A stored type that cannot hold the kind
//! (text where a number belongs, a number where a date belongs) is refused with the column named,
//! rather than parsed on a guess.

use polars::prelude::*;

use crate::config::ColumnMap;
use crate::contract::Kind;

/// Why a typed column cannot be read as its contract kind: the type it is stored as.
#[derive(Debug, PartialEq)]
pub struct WrongType {
    pub stored: String,
}

/// Floats beyond this are not written as integers (an `f64` holds every integer up to 2^53).
const EXACT_INTEGER: f64 = 9.0e15;

/// The expression that turns the typed column `name` into the text of its contract column.
pub fn as_text(name: &str, dtype: &DataType, m: &ColumnMap, decimal_comma: bool) -> Result<Expr, WrongType> {
    let c = col(name);
    let wrong = || WrongType { stored: stored_name(dtype) };
    let text = |e: Expr| e.cast(DataType::String);
    let numeric = dtype.is_primitive_numeric() || dtype.is_decimal();
    let temporal = matches!(dtype, DataType::Date | DataType::Datetime(_, _));
    let with_comma = |e: Expr| if decimal_comma { e.str().replace(lit("."), lit(","), true) } else { e };
    Ok(match m.column.kind {
        Kind::Text if dtype.is_string() || numeric || temporal || dtype.is_bool() => text(c),
        Kind::Int if dtype.is_integer() => text(c),
        Kind::Int if numeric => {
            // A whole value stored as a float or decimal (`12.0`) is written `12`; a fraction is
            // kept as it is, so the validator names it as not a whole number.
            let x = c.cast(DataType::Float64);
            let whole = x.clone().eq(x.clone().floor()).and(x.clone().abs().lt(lit(EXACT_INTEGER)));
            with_comma(when(whole).then(text(x.clone().cast(DataType::Int64))).otherwise(text(x)))
        }
        Kind::Number if dtype.is_integer() => text(c),
        Kind::Number if numeric => with_comma(text(c.cast(DataType::Float64))),
        Kind::Date if temporal => c.dt().strftime(m.date_formats[0].as_str()),
        Kind::Date if dtype.is_string() || dtype.is_integer() => text(c),
        Kind::Month if temporal => c.dt().strftime("%Y-%m"),
        Kind::Month if dtype.is_string() => c,
        _ => return Err(wrong()),
    })
}

/// The stored type in a planner's words, with polars' name.
fn stored_name(dtype: &DataType) -> String {
    match dtype {
        DataType::String => "text (`str`)".into(),
        DataType::Boolean => "true/false (`bool`)".into(),
        DataType::Date => "a date (`date`)".into(),
        DataType::Datetime(_, _) => format!("a timestamp (`{dtype}`)"),
        d if d.is_float() || d.is_decimal() => format!("a number (`{d}`)"),
        d if d.is_integer() => format!("a whole number (`{d}`)"),
        d => format!("`{d}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Table;

    fn map(table: Table, name: &str, formats: &[&str]) -> ColumnMap {
        ColumnMap {
            column: *table.spec().column(name).unwrap(),
            source: name.to_string(),
            date_formats: formats.iter().map(|f| f.to_string()).collect(),
            max: None,
            values: Vec::new(),
        }
    }

    fn texts(s: Series, m: &ColumnMap, decimal_comma: bool) -> Vec<Option<String>> {
        let dtype = s.dtype().clone();
        let df = DataFrame::new_infer_height(vec![s.into_column()]).unwrap();
        let e = as_text("x", &dtype, m, decimal_comma).unwrap();
        let out = df.lazy().select([e.alias("x")]).collect().unwrap();
        out.column("x").unwrap().str().unwrap().iter().map(|v| v.map(str::to_string)).collect()
    }

    #[test]
    fn timestamps_and_dates_are_written_in_the_columns_date_format() {
        let m = map(Table::SalesHistory, "order_date", &["%d.%m.%Y"]);
        let ts = Series::new("x".into(), [1_704_067_200_000i64, 1_704_153_600_000])
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .unwrap();
        assert_eq!(texts(ts, &m, false), [Some("01.01.2024".into()), Some("02.01.2024".into())]);
        let month = map(Table::Budget, "month", &["%Y-%m-%d"]);
        let d = Series::new("x".into(), [19_723i32]).cast(&DataType::Date).unwrap();
        assert_eq!(texts(d, &month, false), [Some("2024-01".into())]);
    }

    #[test]
    fn decimals_and_floats_become_numbers_and_whole_ones_integers() {
        let qty = map(Table::SalesHistory, "qty", &["%Y-%m-%d"]);
        let dec = Series::new("x".into(), [12.5f64, -0.05]).cast(&DataType::Decimal(10, 2)).unwrap();
        assert_eq!(texts(dec.clone(), &qty, false), [Some("12.5".into()), Some("-0.05".into())]);
        assert_eq!(texts(dec, &qty, true), [Some("12,5".into()), Some("-0,05".into())]);
        let days = map(Table::Components, "lead_time_days", &["%Y-%m-%d"]);
        let f = Series::new("x".into(), [Some(12.0f64), Some(2.5), None]);
        assert_eq!(texts(f, &days, false), [Some("12".into()), Some("2.5".into()), None]);
    }

    #[test]
    fn a_type_that_cannot_hold_the_kind_is_refused() {
        let qty = map(Table::SalesHistory, "qty", &["%Y-%m-%d"]);
        let err = as_text("x", &DataType::String, &qty, false).unwrap_err();
        assert_eq!(err.stored, "text (`str`)");
        let date = map(Table::SalesHistory, "order_date", &["%Y-%m-%d"]);
        assert!(as_text("x", &DataType::Float64, &date, false).is_err());
        assert!(as_text("x", &DataType::Boolean, &qty, false).is_err());
    }
}
