//! The data contract: the canonical tables every source is mapped onto, with their columns,
//! types, keys and references. This is the one place that says what a valid input looks like;
//! ingest enforces it and analysis relies on it.

use std::fmt;

/// The type of a canonical column, as it is stored after validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text (trimmed; empty means missing).
    Text,
    /// A whole number.
    Int,
    /// A decimal number.
    Number,
    /// A calendar date, stored as a polars `Date`.
    Date,
    /// A month key `YYYY-MM`, stored as text.
    Month,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Text => "text",
            Kind::Int => "a whole number",
            Kind::Number => "a number",
            Kind::Date => "a date",
            Kind::Month => "a month `YYYY-MM`",
        })
    }
}

/// A range check on a numeric column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    /// Any value.
    Any,
    /// `>= 0`.
    NonNegative,
    /// `>= 1`.
    AtLeastOne,
    /// `> 0` (a BOM's quantity per parent: a zero would make the component vanish).
    Positive,
    /// Between 0 and 1 inclusive (probabilities).
    Fraction,
}

/// Which months a month or date column may fall in, relative to the cycle being run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Horizon {
    /// No check.
    Any,
    /// History: before the cycle month, not in or after it. Rows older than the window
    /// (`history_months` before the cycle) are skipped and counted, not quarantined.
    History,
    /// The plan: from the cycle month through the end of the planning horizon.
    Plan,
    /// Open positions: anything up to the end of the planning horizon (late is allowed).
    UpToPlanEnd,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub range: Range,
    pub horizon: Horizon,
    /// Allowed values for a text column (empty: any).
    pub allowed: &'static [&'static str],
}

/// The default plausibility limit of numeric columns: no quantity, price, hour count or cost
/// in a mid-market manufacturer's extract is larger (a source's `limits` overrides it).
pub const PLAUSIBLE_MAX: f64 = 1e9;
/// The default plausibility limit of revenue columns (`net_revenue`, `revenue`).
pub const PLAUSIBLE_MAX_MONEY: f64 = 1e12;
/// The default plausibility limit of `lead_time_days`: ten years.
pub const PLAUSIBLE_MAX_DAYS: f64 = 3650.0;

impl Column {
    /// The largest absolute value believed by default, for numeric columns: a larger one (say
    /// `1e22`, a unit typed into a quantity) is quarantined rather than planned with.
    pub fn plausible_max(&self) -> Option<f64> {
        match (self.kind, self.name) {
            (Kind::Int | Kind::Number, "net_revenue" | "revenue") => Some(PLAUSIBLE_MAX_MONEY),
            (Kind::Int | Kind::Number, "lead_time_days" | "expedited_lead_time_days") => Some(PLAUSIBLE_MAX_DAYS),
            (Kind::Int | Kind::Number, _) => Some(PLAUSIBLE_MAX),
            _ => None,
        }
    }
}

/// Where a column's values must be found.
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    pub column: &'static str,
    /// The tables and columns that may hold the value (any one of them).
    pub targets: &'static [(Table, &'static str)],
}

/// A rule that spans columns of one row.
#[derive(Debug, Clone, Copy)]
pub enum RowRule {
    /// Exactly one of these columns has a value.
    ExactlyOne(&'static [&'static str]),
    /// At least one of these columns has a value.
    AtLeastOne(&'static [&'static str]),
}

/// The canonical tables of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Items,
    Customers,
    Resources,
    Routings,
    Bom,
    Components,
    ComponentSuppliers,
    Inventory,
    OpenPurchaseOrders,
    Capacity,
    SalesHistory,
    OpenOrders,
    SupplierDeliveries,
    Pipeline,
    Launches,
    SalesAdjustments,
    MarketingAdjustments,
    Budget,
    CommitmentUpdates,
}

pub struct TableSpec {
    pub columns: &'static [Column],
    /// Columns that identify a row; a second row with the same key is a duplicate.
    pub key: &'static [&'static str],
    pub references: &'static [Reference],
    pub rules: &'static [RowRule],
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind, required: true, range: Range::Any, horizon: Horizon::Any, allowed: &[] }
}
const fn opt(name: &'static str, kind: Kind) -> Column {
    Column { name, kind, required: false, range: Range::Any, horizon: Horizon::Any, allowed: &[] }
}
const fn qty(name: &'static str) -> Column {
    Column { range: Range::NonNegative, ..col(name, Kind::Number) }
}
const fn when(name: &'static str, kind: Kind, horizon: Horizon) -> Column {
    Column { horizon, ..col(name, kind) }
}
const fn refs(column: &'static str, targets: &'static [(Table, &'static str)]) -> Reference {
    Reference { column, targets }
}

const ITEM: &[(Table, &str)] = &[(Table::Items, "sku")];
const CUSTOMER: &[(Table, &str)] = &[(Table::Customers, "customer")];
const RESOURCE: &[(Table, &str)] = &[(Table::Resources, "resource")];
const COMPONENT: &[(Table, &str)] = &[(Table::Components, "component")];
const ITEM_OR_COMPONENT: &[(Table, &str)] = &[(Table::Items, "sku"), (Table::Components, "component")];
const FAMILY: &[(Table, &str)] = &[(Table::Items, "family")];

const ADJUSTMENT_COLUMNS: &[Column] = &[
    opt("sku", Kind::Text),
    opt("customer", Kind::Text),
    opt("family", Kind::Text),
    when("month", Kind::Month, Horizon::Plan),
    opt("delta", Kind::Number),
    Column { range: Range::NonNegative, ..opt("override", Kind::Number) },
    col("reason", Kind::Text),
    col("owner", Kind::Text),
];
const ADJUSTMENT_REFS: &[Reference] = &[refs("sku", ITEM), refs("customer", CUSTOMER), refs("family", FAMILY)];
const ADJUSTMENT_RULES: &[RowRule] =
    &[RowRule::AtLeastOne(&["sku", "family"]), RowRule::ExactlyOne(&["delta", "override"])];

impl Table {
    pub const ALL: [Table; 19] = [
        Table::Items,
        Table::Customers,
        Table::Resources,
        Table::Routings,
        Table::Bom,
        Table::Components,
        Table::ComponentSuppliers,
        Table::Inventory,
        Table::OpenPurchaseOrders,
        Table::Capacity,
        Table::SalesHistory,
        Table::OpenOrders,
        Table::SupplierDeliveries,
        Table::Pipeline,
        Table::Launches,
        Table::SalesAdjustments,
        Table::MarketingAdjustments,
        Table::Budget,
        Table::CommitmentUpdates,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Items => "items",
            Table::Customers => "customers",
            Table::Resources => "resources",
            Table::Routings => "routings",
            Table::Bom => "bom",
            Table::Components => "components",
            Table::ComponentSuppliers => "component_suppliers",
            Table::Inventory => "inventory",
            Table::OpenPurchaseOrders => "open_purchase_orders",
            Table::Capacity => "capacity",
            Table::SalesHistory => "sales_history",
            Table::OpenOrders => "open_orders",
            Table::SupplierDeliveries => "supplier_deliveries",
            Table::Pipeline => "pipeline",
            Table::Launches => "launches",
            Table::SalesAdjustments => "sales_adjustments",
            Table::MarketingAdjustments => "marketing_adjustments",
            Table::Budget => "budget",
            Table::CommitmentUpdates => "commitment_updates",
        }
    }

    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn spec(self) -> &'static TableSpec {
        use Horizon::*;
        use Kind::*;
        match self {
            Table::Items => {
                const S: TableSpec = TableSpec {
                    columns: &[
                        col("sku", Text),
                        col("family", Text),
                        col("uom", Text),
                        Column { range: Range::NonNegative, ..col("unit_price", Number) },
                        Column { range: Range::NonNegative, ..col("unit_cost", Number) },
                        col("make_site", Text),
                        Column { allowed: &["active", "new", "discontinued"], ..col("lifecycle", Text) },
                        opt("end_month", Month),
                    ],
                    key: &["sku"],
                    references: &[],
                    rules: &[],
                };
                &S
            }
            Table::Customers => {
                const S: TableSpec = TableSpec {
                    columns: &[
                        col("customer", Text),
                        col("channel", Text),
                        col("region", Text),
                        col("account_manager", Text),
                        Column { range: Range::AtLeastOne, ..col("priority", Int) },
                    ],
                    key: &["customer"],
                    references: &[],
                    rules: &[],
                };
                &S
            }
            Table::Resources => {
                const S: TableSpec = TableSpec {
                    columns: &[
                        col("resource", Text),
                        col("site", Text),
                        Column { allowed: &["machine", "line", "labour"], ..col("kind", Text) },
                    ],
                    key: &["resource"],
                    references: &[],
                    rules: &[],
                };
                &S
            }
            // `sku` is a finished item or a made component (a sub-assembly with a BOM of its
            // own). `routing` says which way of making it a row belongs to: `primary`, or the
            // name of an alternate routing; the rows of one routing are successive operations
            // (each loaded by every unit made that way), two routings of a SKU are alternatives.
            // Empty or absent, the supply review's default: a row at the make site is `primary`,
            // a row elsewhere belongs to the alternate named after its resource's site, and a SKU
            // with no row at its make site has all its rows `primary` ([`ROUTING_PRIMARY`]).
            Table::Routings => {
                const S: TableSpec = TableSpec {
                    columns: &[col("sku", Text), col("resource", Text), qty("hours_per_unit"), opt("routing", Text)],
                    key: &["sku", "routing", "resource"],
                    references: &[refs("sku", ITEM_OR_COMPONENT), refs("resource", RESOURCE)],
                    rules: &[],
                };
                &S
            }
            Table::Bom => {
                const S: TableSpec = TableSpec {
                    columns: &[
                        col("parent_sku", Text),
                        col("component", Text),
                        Column { range: Range::Positive, ..qty("qty_per") },
                    ],
                    key: &["parent_sku", "component"],
                    references: &[refs("parent_sku", ITEM_OR_COMPONENT), refs("component", ITEM_OR_COMPONENT)],
                    rules: &[],
                };
                &S
            }
            Table::Components => {
                const S: TableSpec = TableSpec {
                    columns: &[
                        col("component", Text),
                        col("supplier", Text),
                        Column { range: Range::NonNegative, ..col("lead_time_days", Int) },
                        Column { range: Range::NonNegative, ..col("unit_cost", Number) },
                    ],
                    key: &["component"],
                    references: &[],
                    rules: &[],
                };
                &S
            }
            // The suppliers a component can be bought from, with their terms: several rows per
            // component. Without this table (or for a component it does not list) the one
            // supplier of `components` is the only source, as before. `min_order_qty` defaults
            // to 0; `can_expedite` to `yes`; `expedite_premium_percent` to `[supply]
            // expedite_premium_percent`; `expedited_lead_time_days` to the lead time x `[supply]
            // expedited_lead_time_percent`.
            Table::ComponentSuppliers => {
                const S: TableSpec = TableSpec {
                    columns: &[
                        col("component", Text),
                        col("supplier", Text),
                        Column { range: Range::NonNegative, ..col("unit_cost", Number) },
                        Column { range: Range::NonNegative, ..col("lead_time_days", Int) },
                        Column { range: Range::NonNegative, ..opt("min_order_qty", Number) },
                        Column { allowed: &["yes", "no"], ..opt("can_expedite", Text) },
                        Column { range: Range::NonNegative, ..opt("expedite_premium_percent", Number) },
                        Column { range: Range::NonNegative, ..opt("expedited_lead_time_days", Int) },
                    ],
                    key: &["component", "supplier"],
                    references: &[refs("component", COMPONENT)],
                    rules: &[],
                };
                &S
            }
            Table::Inventory => {
                const S: TableSpec = TableSpec {
                    columns: &[col("item", Text), col("site", Text), qty("on_hand"), qty("safety_stock")],
                    key: &["item", "site"],
                    references: &[refs("item", ITEM_OR_COMPONENT)],
                    rules: &[],
                };
                &S
            }
            Table::OpenPurchaseOrders => {
                const S: TableSpec = TableSpec {
                    columns: &[
                        col("component", Text),
                        col("supplier", Text),
                        when("due_date", Date, UpToPlanEnd),
                        qty("qty"),
                    ],
                    key: &[],
                    references: &[refs("component", COMPONENT)],
                    rules: &[],
                };
                &S
            }
            // Capacity, history, the order book and the people's inputs.
            _ => self.plan_inputs_spec(),
        }
    }

    /// [`Table::spec`] of capacity, the history, the order book and the people's inputs.
    fn plan_inputs_spec(self) -> &'static TableSpec {
        use Horizon::*;
        use Kind::*;
        match self {
            Table::Capacity => {
                const S: TableSpec = TableSpec {
                    columns: &[
                        col("resource", Text),
                        when("month", Month, Plan),
                        qty("available_hours"),
                        qty("max_overtime_hours"),
                        qty("overtime_cost_per_hour"),
                    ],
                    key: &["resource", "month"],
                    references: &[refs("resource", RESOURCE)],
                    rules: &[],
                };
                &S
            }
            Table::SalesHistory => {
                const S: TableSpec = TableSpec {
                    columns: &[
                        col("order_id", Text),
                        when("order_date", Date, History),
                        opt("ship_date", Date),
                        col("sku", Text),
                        col("customer", Text),
                        qty("qty"),
                        Column { range: Range::NonNegative, ..col("net_revenue", Number) },
                    ],
                    key: &["order_id", "sku"],
                    references: &[refs("sku", ITEM), refs("customer", CUSTOMER)],
                    rules: &[],
                };
                &S
            }
            Table::OpenOrders => {
                const S: TableSpec = TableSpec {
                    columns: &[
                        col("order_id", Text),
                        col("sku", Text),
                        col("customer", Text),
                        when("requested_month", Month, UpToPlanEnd),
                        qty("qty"),
                    ],
                    key: &["order_id", "sku"],
                    references: &[refs("sku", ITEM), refs("customer", CUSTOMER)],
                    rules: &[],
                };
                &S
            }
            Table::SupplierDeliveries => {
                const S: TableSpec = TableSpec {
                    columns: &[
                        col("supplier", Text),
                        col("component", Text),
                        col("promised_date", Date),
                        opt("delivered_date", Date),
                        qty("qty_promised"),
                        Column { range: Range::NonNegative, ..opt("qty_delivered", Number) },
                    ],
                    key: &[],
                    references: &[refs("component", COMPONENT)],
                    rules: &[],
                };
                &S
            }
            Table::Pipeline => {
                const S: TableSpec = TableSpec {
                    columns: &[
                        col("opportunity", Text),
                        col("customer", Text),
                        col("sku", Text),
                        when("month", Month, Plan),
                        qty("qty"),
                        Column { range: Range::Fraction, ..col("probability", Number) },
                    ],
                    key: &["opportunity", "sku", "month"],
                    references: &[refs("sku", ITEM), refs("customer", CUSTOMER)],
                    rules: &[],
                };
                &S
            }
            Table::Launches => {
                const S: TableSpec = TableSpec {
                    columns: &[col("sku", Text), when("month", Month, Plan), qty("qty")],
                    key: &["sku", "month"],
                    references: &[refs("sku", ITEM)],
                    rules: &[],
                };
                &S
            }
            Table::SalesAdjustments | Table::MarketingAdjustments => {
                const S: TableSpec = TableSpec {
                    columns: ADJUSTMENT_COLUMNS,
                    key: &["sku", "customer", "family", "month"],
                    references: ADJUSTMENT_REFS,
                    rules: ADJUSTMENT_RULES,
                };
                &S
            }
            Table::Budget => {
                const S: TableSpec = TableSpec {
                    columns: &[
                        col("family", Text),
                        when("month", Month, UpToPlanEnd),
                        Column { range: Range::NonNegative, ..col("revenue", Number) },
                    ],
                    key: &["family", "month"],
                    references: &[refs("family", FAMILY)],
                    rules: &[],
                };
                &S
            }
            // The customer commitment log as the account managers send it back: a line of the
            // log (checked against the log after ingest), its status, and the committed quantity
            // if it changed (with a note saying why).
            Table::CommitmentUpdates => {
                const S: TableSpec = TableSpec {
                    columns: &[
                        col("line_id", Text),
                        Column { allowed: &COMMITMENT_STATUSES, ..col("status", Text) },
                        Column { range: Range::NonNegative, ..opt("committed", Number) },
                        opt("note", Text),
                        col("owner", Text),
                    ],
                    key: &[],
                    references: &[],
                    rules: &[],
                };
                &S
            }
            // The masters and positions are `spec`'s own arms, which never come here.
            _ => unreachable!("`{self}` is specified in `Table::spec`"),
        }
    }

    /// Whether the kept rows carry where they came from (`source_file`, `source_sheet`,
    /// `source_row`): tables checked after ingest against a stored artifact, whose faults must
    /// still name file, sheet and row.
    pub fn keeps_origin(self) -> bool {
        matches!(self, Table::CommitmentUpdates)
    }

    /// Whether ingest carries the file and row of each kept row through validation: the tables
    /// that keep their origin, and the BOM, whose loops are found in ingest naming their rows
    /// (and which then drops it).
    pub fn origin_in_ingest(self) -> bool {
        self.keeps_origin() || self == Table::Bom
    }

    /// A master table: one that other tables' references point into (`items`, `customers`,
    /// `resources`, `components`). Empty, it would turn every row referring to it into a fault.
    pub fn is_master(self) -> bool {
        Table::ALL.iter().any(|t| t != &self && t.depends_on().contains(&self))
    }

    /// Tables whose values this table's references point into.
    pub fn depends_on(self) -> Vec<Table> {
        let mut out: Vec<Table> = self
            .spec()
            .references
            .iter()
            .flat_map(|r| r.targets.iter().map(|(t, _)| *t))
            .filter(|t| *t != self)
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TableSpec {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The statuses of a line of the customer commitment log, in the order a line moves through
/// them.
pub const COMMITMENT_STATUSES: [&str; 4] = ["to communicate", "communicated", "accepted", "re-negotiated"];

/// The `routings.routing` of a SKU's main way of making it (see [`Table::Routings`]).
pub const ROUTING_PRIMARY: &str = "primary";

/// The planning horizon in months, from the cycle month on (the guide's 18 months out).
pub const PLAN_MONTHS: u32 = 18;

/// A month key `YYYY-MM`, as an index of months since year 0 for arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(pub i32);

impl Month {
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let y: i32 = y.parse().ok()?;
        let m: i32 = m.parse().ok()?;
        (1..=12).contains(&m).then_some(Month(y * 12 + m - 1))
    }
    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }
    /// 1 to 12.
    pub fn month(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }
    pub fn plus(self, months: i32) -> Month {
        Month(self.0 + months)
    }
    pub fn first_day(self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(self.year(), self.month(), 1).expect("valid month")
    }

    /// A polars date expression as the month index a [`Month`] holds (`year * 12 + month - 1`).
    pub fn of_date(date: polars::prelude::Expr) -> polars::prelude::Expr {
        use polars::prelude::{DataType, lit};
        date.clone().dt().year() * lit(12) + date.dt().month().cast(DataType::Int32) - lit(1)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

impl std::str::FromStr for Month {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Month::parse(s).ok_or_else(|| format!("`{s}` is not a month: expected `YYYY-MM`"))
    }
}

/// A row that was set aside, with what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Quarantined {
    pub source: String,
    pub file: String,
    pub sheet: Option<String>,
    pub row: u64,
    pub column: String,
    /// The value as found (empty when the cell was empty).
    pub value: String,
    pub reason: String,
    /// In a workbook, the cell (`B14`) a person types into Excel's name box.
    pub cell: Option<String>,
}

impl std::fmt::Display for Quarantined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "column `{}` in `{}`", self.column, self.file)?;
        if let Some(sheet) = &self.sheet {
            write!(f, " sheet `{sheet}`")?;
        }
        write!(f, " row {}", self.row)?;
        if let Some(cell) = &self.cell {
            write!(f, " (cell `{cell}`)")?;
        }
        f.write_str(" ")?;
        if self.value.is_empty() {
            write!(f, "is empty: {}", self.reason)
        } else {
            write!(f, "is `{}`: {}", self.value, self.reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_points_at_a_real_column() {
        for t in Table::ALL {
            let spec = t.spec();
            for r in spec.references {
                assert!(spec.column(r.column).is_some(), "{t}.{}", r.column);
                for (target, c) in r.targets {
                    assert!(target.spec().column(c).is_some(), "{t} -> {target}.{c}");
                }
            }
            for k in spec.key {
                assert!(spec.column(k).is_some(), "{t} key {k}");
            }
        }
    }

    #[test]
    fn table_names_round_trip() {
        for t in Table::ALL {
            assert_eq!(Table::from_name(t.name()), Some(t));
        }
        assert_eq!(Table::from_name("orders"), None);
    }

    #[test]
    fn month_arithmetic() {
        let m = Month::parse("2026-11").unwrap();
        assert_eq!(m.plus(2).to_string(), "2027-01");
        assert_eq!(m.plus(-11).to_string(), "2025-12");
        assert_eq!(Month::parse("2026-13"), None);
        assert_eq!(Month::parse("2026-1"), None);
        assert_eq!(Month::parse("26-01"), None);
    }
}
