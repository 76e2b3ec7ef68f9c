//! How the text of a value becomes its value, shared by the validator (the text path) and the
//! typed CSV read (for a value the reader could not parse, judged again from its text).

use polars::prelude::*;

/// The value as text: trimmed, and empty as null.
pub fn cleaned(name: &str) -> Expr {
    let t = col(name).str().strip_chars(lit(NULL));
    when(t.clone().str().len_bytes().eq(lit(0u32))).then(lit(NULL).cast(DataType::String)).otherwise(t)
}

/// A number from its text (trimmed): `decimal_comma` reads `1.234,5`; not finite is null.
pub fn parse_number(text: Expr, dtype: DataType, decimal_comma: bool) -> Expr {
    let text = if decimal_comma {
        // `1.234,5`: dots may only group thousands; then the comma is the decimal point.
        let grouped = text.clone().str().contains(lit(r"^-?\d{1,3}(\.\d{3})+(,\d*)?$"), true);
        let has_dot = text.clone().str().contains_literal(lit("."));
        when(has_dot.and(grouped.not()))
            .then(lit(NULL).cast(DataType::String))
            .otherwise(text.str().replace_all(lit("."), lit(""), true))
            .str()
            .replace(lit(","), lit("."), true)
    } else {
        text
    };
    let parsed = text.cast(dtype.clone());
    if dtype == DataType::Float64 {
        when(parsed.clone().is_finite()).then(parsed).otherwise(lit(NULL).cast(DataType::Float64))
    } else {
        parsed
    }
}

/// `ca` cut into chunks of `lengths` (those of the frame it joins), when they add up to it. A
/// column whose chunks differ from the frame's has polars copy every column of the frame into
/// one chunk (`align_chunks`) at a later step; sliced, it costs nothing.
pub fn in_chunks<T: PolarsDataType>(ca: ChunkedArray<T>, lengths: &[usize]) -> ChunkedArray<T> {
    if lengths.len() > 1 && lengths.iter().sum::<usize>() == ca.len() {
        ca.match_chunks(lengths.iter().copied())
    } else {
        ca
    }
}
