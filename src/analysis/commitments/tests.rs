use super::*;

fn m(s: &str) -> Month {
    Month::parse(s).unwrap()
}

fn plan(customer: &str, sku: &str, month: &str, requested: f64, planned: f64, constraint: Option<&str>) -> PlanRow {
    PlanRow {
        sku: sku.into(),
        customer: customer.into(),
        month: m(month),
        requested_units: requested,
        planned_units: planned,
        constraint: constraint.map(str::to_string),
    }
}

fn order(id: &str, customer: &str, sku: &str, month: &str, qty: f64) -> OrderLine {
    OrderLine { order_id: id.into(), sku: sku.into(), customer: customer.into(), month: m(month), qty }
}

fn owners() -> BTreeMap<String, String> {
    [("A", "ann"), ("B", "bob"), ("C", "cat"), ("D", "dan")].into_iter().map(|(c, o)| (c.into(), o.into())).collect()
}

/// By hand: A/X asks 100 in January and gets 60 (capacity), and gets 30 more than asked in
/// February: one line, 40 short, 30 of it moved to February. A holds 70 on order in January, so
/// nothing to book there; February's 80 planned are all to book. B/Y gets what it asked (10, no
/// orders): no line, 10 to book.
#[test]
fn a_shortfall_and_a_moved_date_make_one_line_and_the_rest_is_to_book() {
    let rows = vec![
        plan("A", "X", "2027-02", 50.0, 80.0, None),
        plan("A", "X", "2027-01", 100.0, 60.0, Some("capacity: LEE-LINE-CENT")),
        plan("B", "Y", "2027-01", 10.0, 10.0, None),
        // Unassigned launch volume: no line, nothing to book.
        plan("*", "N", "2027-01", 40.0, 25.0, Some("capacity")),
    ];
    let orders = vec![order("O1", "A", "X", "2027-01", 70.0)];
    let log = commitment_log(m("2026-12"), &rows, &orders, &owners(), "2026-12-17", &CommitBackParams::default());
    assert_eq!(log.lines.len(), 1);
    let l = &log.lines[0];
    assert_eq!(l.line_id, "2026-12-0001");
    assert_eq!((l.customer.as_str(), l.sku.as_str(), l.month.as_str()), ("A", "X", "2027-01"));
    assert_eq!((l.requested, l.committed, l.moved_units, l.open_order_units), (100.0, 60.0, 30.0, 70.0));
    assert_eq!(l.moved_to.as_deref(), Some("2027-02"));
    // 70 on order, 60 planned: 10 of a booked order are not covered.
    assert_eq!(l.orders_not_covered, 10.0);
    assert_eq!(l.constraint, "capacity: LEE-LINE-CENT");
    assert_eq!(
        (l.owner.as_str(), l.status.as_str(), l.communicate_by.as_str()),
        ("ann", "to communicate", "2026-12-17")
    );
    let books: Vec<(&str, &str, f64)> =
        log.to_book.iter().map(|t| (t.customer.as_str(), t.month.as_str(), t.to_book)).collect();
    assert_eq!(books, vec![("A", "2027-02", 80.0), ("B", "2027-01", 10.0)]);
}

/// By hand, with `min_units` 1 and a firm horizon of 2 months (December and January):
/// - A/X December: asked 10, given 9.5: 0.5 short, no orders: noise, left out (0.5 units).
/// - A/X January: asked 20, given 0: a line; February gives all it asks (5 of 5), so the plan
///   serves A/X in full again from February: "moved to" 2027-02, nothing moved.
/// - B/Y December: asked 10, given 9.6 but 12 on order: 0.4 short yet 2.4 of a booked order not
///   covered, so a line, and it comes first.
/// - C/Z January: asked 3, given 1: 2 short, a line; no later month: moved to nowhere.
///
/// To book: A/X December 9.5 (no orders); February's 5 is beyond the horizon (left out, 5 units);
/// C/Z January 1; B/Y none (9.6 given against 12 on order).
#[test]
fn noise_is_counted_not_listed_broken_orders_come_first_and_booking_stops_at_the_horizon() {
    let rows = vec![
        plan("A", "X", "2026-12", 10.0, 9.5, None),
        plan("A", "X", "2027-01", 20.0, 0.0, Some("capacity")),
        plan("A", "X", "2027-02", 5.0, 5.0, None),
        plan("B", "Y", "2026-12", 10.0, 9.6, Some("material")),
        plan("C", "Z", "2027-01", 3.0, 1.0, Some("capacity")),
    ];
    let orders = vec![order("O1", "B", "Y", "2026-12", 12.0)];
    let params = CommitBackParams { min_units: 1.0, firm_horizon_months: 2, split_by_account_manager: false };
    let log = commitment_log(m("2026-12"), &rows, &orders, &owners(), "2026-12-17", &params);
    let got: Vec<(&str, &str, &str, &str, Option<&str>)> = log
        .lines
        .iter()
        .map(|l| (l.line_id.as_str(), l.customer.as_str(), l.sku.as_str(), l.month.as_str(), l.moved_to.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("2026-12-0001", "B", "Y", "2026-12", None),
            ("2026-12-0002", "A", "X", "2027-01", Some("2027-02")),
            ("2026-12-0003", "C", "Z", "2027-01", None),
        ]
    );
    assert!((log.lines[0].orders_not_covered - 2.4).abs() < 1e-9);
    assert_eq!(log.lines[1].moved_units, 0.0);
    assert_eq!((log.left_out.lines_below_min_units, log.left_out.units_below_min_units), (1, 0.5));
    let books: Vec<(&str, &str, f64)> =
        log.to_book.iter().map(|t| (t.customer.as_str(), t.month.as_str(), t.to_book)).collect();
    assert_eq!(books, vec![("A", "2026-12", 9.5), ("C", "2027-01", 1.0)]);
    assert_eq!((log.left_out.to_book_beyond_horizon, log.left_out.units_beyond_horizon), (1, 5.0));
    assert_eq!(log.book_through, "2027-01");
    // Per customer: A one line 20 short and 9.5 to book; B one line breaking orders; C 2 short.
    let per: Vec<(&str, u32, u32, f64, f64)> = log
        .by_customer
        .iter()
        .map(|c| (c.customer.as_str(), c.lines, c.lines_breaking_orders, c.short_units, c.to_book_units))
        .collect();
    assert_eq!(per.len(), 3);
    assert_eq!(per[0], ("A", 1, 0, 20.0, 9.5));
    assert_eq!((per[1].0, per[1].1, per[1].2), ("B", 1, 1));
    assert!((per[1].3 - 0.4).abs() < 1e-9);
    assert_eq!(per[2], ("C", 1, 0, 2.0, 1.0));
    // With no threshold the half unit is a line of its own, and nothing else changes.
    let all = CommitBackParams { min_units: 0.0, ..params };
    let log = commitment_log(m("2026-12"), &rows, &orders, &owners(), "2026-12-17", &all);
    assert_eq!(log.lines.len(), 4);
    assert_eq!(log.left_out.lines_below_min_units, 0);
}

fn update(line_id: &str, status: &str, committed: Option<f64>, note: Option<&str>, row: u64) -> Update {
    Update {
        line_id: line_id.into(),
        status: status.into(),
        committed,
        note: note.map(str::to_string),
        owner: "ann".into(),
        file: "returns/ann.xlsx".into(),
        sheet: Some("Log".into()),
        row,
    }
}

#[test]
fn returned_rows_update_the_log_and_bad_ones_are_named_by_row() {
    let rows = vec![plan("A", "X", "2027-01", 100.0, 60.0, None), plan("A", "Z", "2027-01", 20.0, 0.0, None)];
    let mut log = commitment_log(m("2026-12"), &rows, &[], &owners(), "2026-12-17", &CommitBackParams::default());
    let bad = apply_updates(
        &mut log,
        &[
            update("2026-12-0001", "accepted", Some(60.0), None, 2),
            update("2026-12-0009", "accepted", None, None, 3),
            update("2026-12-0002", "re-negotiated", Some(5.0), None, 4),
            update("2026-12-0002", "re-negotiated", Some(5.0), Some("5 in January, rest in March"), 5),
        ],
    );
    let named: Vec<(u64, &str)> = bad.iter().map(|q| (q.row, q.column.as_str())).collect();
    assert_eq!(named, vec![(3, "line_id"), (4, "committed")]);
    assert!(bad[1].to_string().contains("changed from 0 without a note"), "{}", bad[1]);
    assert_eq!(log.lines[0].status, "accepted");
    assert_eq!(log.lines[1].status, "re-negotiated");
    assert_eq!(log.lines[1].committed, 5.0);
    assert_eq!(log.lines[1].note.as_deref(), Some("5 in January, rest in March"));
}

fn line(id: &str, customer: &str, month: &str, committed: f64, status: &str) -> CommitmentLine {
    CommitmentLine {
        line_id: id.into(),
        customer: customer.into(),
        sku: "X".into(),
        month: month.into(),
        requested: 100.0,
        committed,
        moved_units: 0.0,
        moved_to: None,
        open_order_units: 0.0,
        orders_not_covered: 0.0,
        constraint: "capacity".into(),
        owner: owners()[customer].clone(),
        status: status.into(),
        note: None,
        communicate_by: "2026-12-17".into(),
    }
}

/// By hand, scoring December's log in January: A was promised 60 and 60 shipped (kept); B was
/// promised 40 and 25 shipped (missed by 15); C re-negotiated; A's February line is not due.
/// Orders: A/X January is planned at 50; O1 (30) fits, O2 (30) is 10 beyond; D has no plan and
/// orders 5 (O3).
#[test]
fn last_cycles_commitments_and_orders_are_scored() {
    let log = CommitmentLog {
        cycle: "2026-12".into(),
        communicate_by: "2026-12-17".into(),
        lines: vec![
            line("L1", "A", "2026-12", 60.0, "accepted"),
            line("L2", "B", "2026-12", 40.0, "communicated"),
            line("L3", "C", "2026-12", 30.0, "re-negotiated"),
            line("L4", "A", "2027-02", 10.0, "accepted"),
        ],
        to_book: vec![],
        by_customer: vec![],
        left_out: LeftOut::default(),
        min_units: 1.0,
        book_through: "2027-02".into(),
    };
    let last_plan = vec![plan("A", "X", "2026-12", 100.0, 60.0, None), plan("A", "X", "2027-01", 50.0, 50.0, None)];
    let shipments = vec![
        order("S1", "A", "X", "2026-12", 60.0),
        order("S2", "B", "X", "2026-12", 20.0),
        order("S3", "B", "X", "2026-12", 5.0),
    ];
    let open = vec![
        order("O1", "A", "X", "2027-01", 30.0),
        order("O2", "A", "X", "2027-01", 30.0),
        order("O3", "D", "X", "2027-01", 5.0),
    ];
    let f = loop_facts(m("2027-01"), &log, true, &last_plan, &shipments, &open, &owners());
    let outcomes: Vec<(&str, Outcome, f64)> =
        f.commitments.iter().map(|c| (c.line_id.as_str(), c.outcome, c.missed_units)).collect();
    assert_eq!(
        outcomes,
        vec![
            ("L1", Outcome::Kept, 0.0),
            ("L2", Outcome::Missed, 15.0),
            ("L3", Outcome::Renegotiated, 0.0),
            ("L4", Outcome::NotYetDue, 0.0)
        ]
    );
    assert_eq!((f.kept, f.missed, f.renegotiated, f.not_yet_due, f.missed_units), (1, 1, 1, 1, 15.0));
    let bob = f.by_owner.iter().find(|t| t.name == "bob").unwrap();
    assert_eq!((bob.missed, bob.missed_units), (1, 15.0));
    let ann = f.by_customer.iter().find(|t| t.name == "A").unwrap();
    assert_eq!((ann.kept, ann.not_yet_due), (1, 1));

    // Shipments of B in December had no plan (the plan names A only): S2, S3 are outside too.
    let outside: Vec<(&str, Outside, f64, &str)> = f
        .orders_outside_plan
        .iter()
        .map(|o| (o.order_id.as_str(), o.outside, o.units_outside, o.account_manager.as_str()))
        .collect();
    assert_eq!(
        outside,
        vec![
            ("O2", Outside::BeyondPlan, 10.0, "ann"),
            ("O3", Outside::NoPlan, 5.0, "dan"),
            ("S2", Outside::NoPlan, 20.0, "bob"),
            ("S3", Outside::NoPlan, 5.0, "bob"),
        ]
    );
    assert_eq!(
        f.orders,
        OrderSummary {
            order_lines: 6,
            lines_inside_plan: 2,
            lines_beyond_plan: 1,
            lines_without_plan: 3,
            units_ordered: 150.0,
            units_outside_plan: 40.0
        }
    );
}
