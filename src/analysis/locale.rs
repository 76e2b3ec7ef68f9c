//! The company's locale (`[company] locale` in `snop.toml`): how numbers people read are
//! written: the thousands separator, the decimal mark and the percent sign. A small table, no
//! locale database: `en-US` (the default, and what [`super::format_number`] writes), `en-GB`,
//! `de-DE` (1.234.567,5), `de-AT`, `de-CH` (1’234’567.5, CLDR's apostrophe U+2019), `fr-FR` and
//! `fr-CH` (1 234 567,5 with a narrow no-break space U+202F), `it-IT`, `nl-NL`, `es-MX`,
//! `pt-BR`, `sv-SE` (a no-break space U+00A0). Negative numbers keep the hyphen-minus.
//!
//! Pure: the locale is an input (the workspace's configuration), never read from the
//! environment, so a run is deterministic. Workbook cells stay numbers (Excel formats them with
//! the reader's own settings); only text is written in the locale.

use serde::{Deserialize, Serialize};

/// A locale of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Locale {
    #[default]
    #[serde(rename = "en-US")]
    EnUs,
    #[serde(rename = "en-GB")]
    EnGb,
    #[serde(rename = "de-DE")]
    DeDe,
    #[serde(rename = "de-AT")]
    DeAt,
    #[serde(rename = "de-CH")]
    DeCh,
    #[serde(rename = "fr-FR")]
    FrFr,
    #[serde(rename = "fr-CH")]
    FrCh,
    #[serde(rename = "it-IT")]
    ItIt,
    #[serde(rename = "nl-NL")]
    NlNl,
    #[serde(rename = "es-MX")]
    EsMx,
    #[serde(rename = "pt-BR")]
    PtBr,
    #[serde(rename = "sv-SE")]
    SvSe,
}

/// The narrow no-break space (French grouping and before `%`).
const NNBSP: char = '\u{202F}';
/// The no-break space.
const NBSP: char = '\u{A0}';

/// (locale, tag, thousands separator, decimal mark, what goes before `%`).
const TABLE: [(Locale, &str, char, char, &str); 12] = [
    (Locale::EnUs, "en-US", ',', '.', ""),
    (Locale::EnGb, "en-GB", ',', '.', ""),
    (Locale::DeDe, "de-DE", '.', ',', "\u{A0}"),
    (Locale::DeAt, "de-AT", NBSP, ',', "\u{A0}"),
    (Locale::DeCh, "de-CH", '\u{2019}', '.', ""),
    (Locale::FrFr, "fr-FR", NNBSP, ',', "\u{202F}"),
    (Locale::FrCh, "fr-CH", NNBSP, ',', "\u{A0}"),
    (Locale::ItIt, "it-IT", '.', ',', ""),
    (Locale::NlNl, "nl-NL", '.', ',', ""),
    (Locale::EsMx, "es-MX", ',', '.', ""),
    (Locale::PtBr, "pt-BR", '.', ',', ""),
    (Locale::SvSe, "sv-SE", NBSP, ',', "\u{A0}"),
];

impl Locale {
    fn row(self) -> &'static (Locale, &'static str, char, char, &'static str) {
        TABLE.iter().find(|r| r.0 == self).expect("every locale is in the table")
    }

    /// `de-DE`.
    pub fn tag(self) -> &'static str {
        self.row().1
    }

    /// The locale of a tag (`de-DE`; `de_DE` and any case too), if it is in the table.
    pub fn parse(tag: &str) -> Option<Locale> {
        let t = tag.replace('_', "-");
        TABLE.iter().find(|r| r.1.eq_ignore_ascii_case(&t)).map(|r| r.0)
    }

    /// Every tag of the table, for the message naming them.
    pub fn known() -> Vec<&'static str> {
        TABLE.iter().map(|r| r.1).collect()
    }

    /// What goes before `%` (a no-break space in `de-DE`, nothing in `en-US`).
    pub fn before_percent(self) -> &'static str {
        self.row().4
    }

    /// (thousands separator, decimal mark).
    pub fn separators(self) -> (char, char) {
        (self.row().2, self.row().3)
    }

    /// Text written in `en-US` (`,` thousands, `.` decimals) in this locale: every `,` and `.`
    /// that sits between digits is swapped for the locale's marks, and a `%` after a digit gets
    /// the locale's space before it. For numbers this module wrote, and texts made of them.
    pub fn localize(self, en: &str) -> String {
        if self == Locale::EnUs {
            return en.to_string();
        }
        let (group, decimal) = self.separators();
        let chars: Vec<char> = en.chars().collect();
        let mut out = String::with_capacity(en.len() + 8);
        for (i, &c) in chars.iter().enumerate() {
            let between =
                i > 0 && chars[i - 1].is_ascii_digit() && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
            match c {
                ',' if between => out.push(group),
                '.' if between => out.push(decimal),
                '%' if i > 0 && chars[i - 1].is_ascii_digit() => {
                    out.push_str(self.row().4);
                    out.push('%');
                }
                _ => out.push(c),
            }
        }
        out
    }

    /// A number as a planner reads it ([`super::format_number`]'s rule) in this locale:
    /// `1.234.567,5` in `de-DE`.
    pub fn number(self, x: f64) -> String {
        self.localize(&super::format_number(x))
    }

    /// An amount: whole above 1,000 (`1.234.568` in `de-DE`).
    pub fn money(self, x: f64) -> String {
        if x.abs() >= 1_000.0 { self.number(x.round()) } else { self.number(x) }
    }

    /// A percentage with one decimal: `97.5%`, `97,5 %` in `de-DE` (a no-break space).
    pub fn percent(self, x: f64) -> String {
        let (_, decimal) = self.separators();
        format!("{}{}%", format!("{x:.1}").replace('.', &decimal.to_string()), self.row().4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-written per locale: grouping, decimals, negatives, fractions under one, zero, large.
    #[test]
    fn numbers_per_locale() {
        let cases: [(f64, [&str; 5]); 7] = [
            // en-US, de-DE, fr-FR, de-CH, sv-SE
            (
                1_234_567.5,
                ["1,234,567.5", "1.234.567,5", "1\u{202F}234\u{202F}567,5", "1’234’567.5", "1\u{A0}234\u{A0}567,5"],
            ),
            (-1234.56, ["-1,234.6", "-1.234,6", "-1\u{202F}234,6", "-1’234.6", "-1\u{A0}234,6"]),
            (0.0, ["0", "0", "0", "0", "0"]),
            (0.4435752, ["0.444", "0,444", "0,444", "0.444", "0,444"]),
            (-0.05, ["-0.05", "-0,05", "-0,05", "-0.05", "-0,05"]),
            (999.0, ["999", "999", "999", "999", "999"]),
            (
                12_000_000_000.0,
                [
                    "12,000,000,000",
                    "12.000.000.000",
                    "12\u{202F}000\u{202F}000\u{202F}000",
                    "12’000’000’000",
                    "12\u{A0}000\u{A0}000\u{A0}000",
                ],
            ),
        ];
        for (x, want) in cases {
            let got: Vec<String> = [Locale::EnUs, Locale::DeDe, Locale::FrFr, Locale::DeCh, Locale::SvSe]
                .iter()
                .map(|l| l.number(x))
                .collect();
            assert_eq!(got, want, "{x}");
        }
        // en-US is format_number itself, byte for byte.
        for x in [1_234_567.04, -1234.56, 0.0001, 12.25, 5e9] {
            assert_eq!(Locale::EnUs.number(x), super::super::format_number(x));
        }
        assert_eq!(Locale::DeDe.money(1_234_567.5), "1.234.568");
        assert_eq!(Locale::DeDe.money(-999.5), "-999,5");
        assert_eq!(Locale::EnUs.percent(97.54), "97.5%");
        assert_eq!(Locale::DeDe.percent(97.54), "97,5\u{A0}%");
        assert_eq!(Locale::FrFr.percent(-3.0), "-3,0\u{202F}%");
        assert_eq!(Locale::DeCh.percent(0.0), "0.0%");
    }

    #[test]
    fn tags_parse_and_texts_localize() {
        assert_eq!(Locale::parse("de-DE"), Some(Locale::DeDe));
        assert_eq!(Locale::parse("fr_fr"), Some(Locale::FrFr));
        assert_eq!(Locale::parse("xx-YY"), None);
        for l in Locale::known() {
            assert_eq!(Locale::parse(l).unwrap().tag(), l);
        }
        // Only marks between digits change: a sentence's own commas and full stops stay.
        assert_eq!(
            Locale::DeDe.localize("closes 1,234.5 of 2,000 units, for 3.2. Done."),
            "closes 1.234,5 of 2.000 units, for 3,2. Done."
        );
        assert_eq!(Locale::EnGb.localize("1,234.5"), "1,234.5");
        assert_eq!(Locale::DeDe.localize("service 91.0% to 97.5%"), "service 91,0\u{A0}% to 97,5\u{A0}%");
        // The narrative's plain-data marks (the mock's and the fallback's numbers) write what
        // `localize` writes, in every locale.
        let text = "closes 1,234.5 of 2,000 units, for 3.2. Done: 97.5% (-0.05)";
        for tag in Locale::known() {
            let l = Locale::parse(tag).unwrap();
            let (group, decimal) = l.separators();
            let marks = crate::narrative::NumberMarks { group, decimal, before_percent: l.before_percent() };
            assert_eq!(marks.write(text), l.localize(text), "{tag}");
        }
    }
}
