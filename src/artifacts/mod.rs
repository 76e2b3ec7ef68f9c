//! Artifacts: facts and narrative rendered into what people read and open (HTML, Markdown,
//! XLSX, slides). No I/O here: renderers return bytes and the store writes them.

pub mod commitment_log;
pub mod demand_consensus;
pub mod pack;
pub mod review;
pub mod scenario;
pub mod signed_plan;
pub mod supply_plan;
pub mod tables;
pub(crate) mod xlsx;

use std::borrow::Cow;

/// A text value as a CSV cell that a spreadsheet will not run: a value starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return would be read as a formula when the file is opened in
/// Excel (`=HYPERLINK(...)`), so it gets a leading `'`, which Excel shows as text. A plain number
/// (`-5`, `+1.5`, `-1,5`, `1e-3`) is left as it is: it is read as a number, never run, and a
/// quote would turn it into text. Only text cells pass through here; numeric columns are written
/// as numbers.
pub fn csv_text(s: &str) -> Cow<'_, str> {
    let formula_like = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula_like && !is_plain_number(s) { Cow::Owned(format!("'{s}")) } else { Cow::Borrowed(s) }
}

/// A sign, digits with at most one decimal point or comma, and an exponent: nothing a
/// spreadsheet evaluates.
fn is_plain_number(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(body[i + 1..].strip_prefix(['+', '-']).unwrap_or(&body[i + 1..]))),
        None => (body, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once(['.', ',']) {
        Some((a, b)) => (digits(a) || a.is_empty()) && (digits(b) || b.is_empty()) && !(a.is_empty() && b.is_empty()),
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(digits)
}

#[cfg(test)]
mod tests {
    use super::csv_text;

    #[test]
    fn formulas_are_escaped_and_numbers_are_not() {
        for (raw, shown) in [
            ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
            ("+CMD|' /C calc'!A0", "'+CMD|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("-", "'-"),
            ("-5", "-5"),
            ("+1.5", "+1.5"),
            ("-1,5", "-1,5"),
            ("-1e-3", "-1e-3"),
            ("P-1", "P-1"),
            ("", ""),
        ] {
            assert_eq!(csv_text(raw), shown, "{raw}");
        }
    }
}
