//! `snop scenario`: what-if scenarios (`scenarios/<name>.toml`) re-planned into the store under
//! their names, and compared side by side (printed, and written as `.xlsx` and HTML).

use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::Progress;
use crate::config::Workspace;
use crate::contract::Month;
use crate::pipeline::{self, scenario as runs};
use crate::scenario::{self, Comparison};
use crate::sop::Agent;

#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// The scenario files and, for a cycle, each one's latest run.
    List {
        #[arg(long)]
        cycle: Option<Month>,
    },
    /// Re-plan the cycle with a scenario's changes (the supply review's linear program), into
    /// the store under the scenario's name; an unchanged scenario writes nothing. `base` is the
    /// cycle's inputs with no change.
    Run {
        name: String,
        #[arg(long)]
        cycle: Month,
    },
    /// A scenario's least cost cut three ways (with the base's pieces and shares, cut afresh,
    /// exact at the connected components only) and the pieces each solved; nothing recorded.
    Cut {
        name: String,
        #[arg(long)]
        cycle: Month,
        /// Finished goods per approximate piece.
        #[arg(long, default_value_t = 100)]
        piece_items: usize,
        /// A connected component above this many items is cut approximately.
        #[arg(long, default_value_t = 5000)]
        approximate_above: usize,
    },
    /// Run (when changed) and compare scenarios side by side: printed, and written as `.xlsx`
    /// and HTML under `scenario-compare/<cycle>/`.
    Compare {
        #[arg(long)]
        cycle: Month,
        /// The scenario the others are compared against (`base`: no change).
        base: String,
        #[arg(required = true)]
        names: Vec<String>,
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn scenario_command(root: &Path, what: ScenarioCommand, progress: &Progress) -> anyhow::Result<()> {
    match what {
        ScenarioCommand::List { cycle } => {
            let names = scenario::names(root);
            let latest = match cycle {
                Some(c) => {
                    let ws = Workspace::load_without_inputs(root)?;
                    let store = pipeline::open_store(&ws).await?;
                    runs::latest(&store, c).await?
                }
                None => Default::default(),
            };
            if names.is_empty() {
                println!("no scenario files: write `scenarios/NAME.toml` (README, \"Scenarios\")");
            }
            for n in std::iter::once(scenario::BASE.to_string()).chain(names) {
                let s = scenario::load(root, &n);
                let what = match &s {
                    Ok(s) => format!("{} change(s): {}", s.changes.len(), s.description),
                    Err(e) => format!("invalid: {e}"),
                };
                let ran = latest.get(&n).map_or(String::new(), |(r, o)| {
                    format!(
                        "; run {} margin after fixes {}, service level {}%",
                        r.id,
                        crate::analysis::format_number(o.margin_after_fixes_money),
                        o.service_level_percent
                    )
                });
                println!("{n:<20} {what}{ran}");
            }
        }
        ScenarioCommand::Cut { name, cycle, piece_items, approximate_above } => {
            let ws = Workspace::load_for(root, Agent::SupplyReview)?;
            let store = pipeline::open_store(&ws).await?;
            let opts = crate::analysis::supply::lp::SplitOptions {
                connected: true,
                approximate_above_items: Some(approximate_above),
                piece_items,
            };
            let c = runs::cut_costs(&ws, &store, &name, cycle, opts, progress).await?;
            let gap = |x: f64| if c.exact != 0.0 { 100.0 * (x - c.exact) / c.exact.abs() } else { 0.0 };
            println!("{name} at {cycle}: {} pieces; least cost (the plan's first stage)", c.pieces);
            println!("  base, cut so:               {:>16.2}", c.base);
            println!(
                "  with the base's shares:     {:>16.2}  {:+.2}% of exact, {} pieces solved",
                c.kept.0,
                gap(c.kept.0),
                c.kept.1
            );
            println!(
                "  cut afresh:                 {:>16.2}  {:+.2}% of exact, {} pieces solved",
                c.fresh.0,
                gap(c.fresh.0),
                c.fresh.1
            );
            println!("  exact (components only):    {:>16.2}", c.exact);
        }
        ScenarioCommand::Run { name, cycle } => {
            let ws = Workspace::load_for(root, Agent::SupplyReview)?;
            let store = pipeline::open_store(&ws).await?;
            let r = runs::run(&ws, &store, &name, cycle, progress).await?;
            if r.recorded {
                println!(
                    "run {} of scenario `{name}` for {cycle}: re-planned in {:.2} s; in `{}`",
                    r.run.id, r.plan_seconds, r.run.folder
                );
            } else {
                println!(
                    "scenario `{name}` and the inputs are unchanged since run {} ({}): nothing new was written",
                    r.run.id, r.run.started_at
                );
            }
            print_outcome(&r.outcome);
        }
        ScenarioCommand::Compare { cycle, base, names, json } => {
            let ws = Workspace::load_for(root, Agent::SupplyReview)?;
            let store = pipeline::open_store(&ws).await?;
            let (_, c) = runs::run_and_compare(&ws, &store, cycle, &base, &names, progress).await?;
            let (xlsx, html) = write_comparison(&ws, &c)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                print_comparison(&c);
                println!("\nthe comparison: `{}` and `{}`", xlsx.display(), html.display());
            }
        }
    }
    Ok(())
}

fn print_outcome(o: &scenario::Outcome) {
    let n = crate::analysis::format_number;
    for c in &o.changes {
        println!("  {c}");
    }
    println!(
        "  revenue {}, margin {}, spend on fixes {}, margin after fixes {}; service level {}% ({} of {} units; {} unmet); {} gap(s)",
        n(o.revenue_money),
        n(o.margin_money),
        n(o.spend_money),
        n(o.margin_after_fixes_money),
        o.service_level_percent,
        n(o.served_units),
        n(o.demand_units),
        n(o.unmet_units),
        o.gaps.len()
    );
}

/// The comparison's headline figures as a table, then the differences in words.
pub(super) fn print_comparison(c: &Comparison) {
    let n = crate::analysis::format_number;
    print!("{:<34}", format!("scenarios of {}", c.cycle));
    for o in &c.outcomes {
        print!(" {:>16}", o.name);
    }
    println!();
    for r in &c.figures {
        print!("{:<34}", r.label);
        for v in &r.values {
            print!(" {:>16}", n(*v));
        }
        println!();
    }
    for e in &c.explained {
        println!();
        for (i, line) in e.lines.iter().enumerate() {
            println!("{}{line}", if i == 0 { "" } else { "  - " });
        }
    }
}

/// Writes the comparison's workbook and page under `scenario-compare/<cycle>/`.
pub(super) fn write_comparison(ws: &Workspace, c: &Comparison) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = ws.root.join("scenario-compare").join(&c.cycle);
    fs_err::create_dir_all(&dir)?;
    let names: Vec<&str> = c.outcomes.iter().map(|o| o.name.as_str()).collect();
    let stem = match names.split_first() {
        Some((base, rest)) => format!("{base}-vs-{}", rest.join("-")),
        None => "empty".into(),
    };
    let xlsx = dir.join(format!("{stem}.xlsx"));
    let html = dir.join(format!("{stem}.html"));
    fs_err::write(&xlsx, crate::artifacts::scenario::compare_xlsx(c, &ws.company)?)?;
    fs_err::write(&html, crate::artifacts::scenario::compare_html(c, &ws.company)?)?;
    Ok((xlsx, html))
}
