//! The workspace files a new workspace starts with (`snop init`, and `snop demo`'s): `snop.toml`
//! (the company, its calendar, roles and people), the agents' pipelines and the prompts.

use std::path::Path;

use anyhow::Context as _;

use super::masters::ACCOUNT_MANAGERS;

/// `snop.toml` of a new workspace.
pub fn workspace_toml(company: &str) -> String {
    format!(
        r#"# snop workspace: who the company is, when the cycle runs, who signs what.

[company]
name = "{company}"
currency = "EUR"

[calendar]
timezone = "Europe/London"
working_days = ["Mon", "Tue", "Wed", "Thu", "Fri"]
meeting_hours = "09:00-17:00"
# When `snop nightly` runs from the scheduler (local time).
nightly_at = "02:30"
holidays = [
    "2026-12-25 Christmas Day",
    "2026-12-28 Boxing Day (substitute)",
    "2027-01-01 New Year's Day",
    "2027-04-02 Good Friday",
    "2027-04-05 Easter Monday",
    "2027-05-03 Early May bank holiday",
    "2027-05-31 Spring bank holiday",
    "2027-08-30 Summer bank holiday",
    "2027-12-27 Christmas Day (substitute)",
    "2027-12-28 Boxing Day (substitute)",
]

# One rule per meeting, in the words planners use. The executive S&OP is the fixed point: the
# same weekday of the same week every month; the rest of the cycle is laid around it.
[calendar.meetings]
demand-review = "7 working days before the executive S&OP, 3 working days"
supply-review = "next working day, 2 working days"
reconciliation = "next working day, 2 working days"
executive = "third Thursday"
commit-back = "next working day, 2 working days"

[store]
# The embedded store: one SQLite file in the workspace.
url = "sqlite://snop.db"

[llm]
# `mock` is the built-in mock LLM; any OpenAI-compatible base URL ending in /v1 works.
base_url = "mock"
model = "snop-mock"
api_key_env = "SNOP_LLM_API_KEY"

[narrative]
# Customer names are replaced by CUSTOMER_01, ... in prompts, and restored in the drafts.
mask_fields = ["customer"]

# Who holds each role. Artifacts are signed by roles: demand consensus by the demand lead,
# supply plan by the supply lead, reconciliation pack by both, signed plan by the COO or CEO,
# customer commitment log by the sales lead.
[roles]
demand_lead = ["dana.whitfield"]
supply_lead = ["sam.okafor"]
finance_lead = ["fiona.reyes"]
sales_lead = ["leo.grant"]
coo = ["olivia.chen"]

# Gaps whose recommended fixes cost up to this much (EUR) are closed by the demand and supply
# leads; the rest go up grouped as decisions, at most `max_executive_decisions` (by margin).
[reconciliation]
leads_may_approve_up_to = 25000
max_executive_decisions = 10

[people."dana.whitfield"]
name = "Dana Whitfield"
email = "dana.whitfield@example.com"

[people."sam.okafor"]
name = "Sam Okafor"
email = "sam.okafor@example.com"

[people."fiona.reyes"]
name = "Fiona Reyes"
email = "fiona.reyes@example.com"

[people."leo.grant"]
name = "Leo Grant"
email = "leo.grant@example.com"

[people."olivia.chen"]
name = "Olivia Chen"
email = "olivia.chen@example.com"

# The account managers hold no role: each updates its own customers' lines of the commitment log.
"#
    ) + &ACCOUNT_MANAGERS
        .iter()
        .map(|(id, name)| format!("\n[people.\"{id}\"]\nname = \"{name}\"\nemail = \"{id}@example.com\"\n"))
        .collect::<String>()
        + &format!(
            r#"
# When each meeting sits on each of its days (inside `calendar.meeting_hours`) and who is
# invited beyond its owner and signer roles and the roles the guide seats there: one invite per
# meeting day.
[calendar.times]
demand-review = {{ start = "09:30", minutes = 90 }}
supply-review = {{ start = "09:30", minutes = 90 }}
reconciliation = {{ start = "10:00", minutes = 120 }}
executive = {{ start = "10:00", minutes = 60 }}
commit-back = {{ start = "09:30", minutes = 60, attendees = [{account_managers}] }}
"#,
            account_managers =
                ACCOUNT_MANAGERS.iter().map(|(id, _)| format!("\"{id}\"")).collect::<Vec<_>>().join(", ")
        )
}

/// The default pipelines, embedded from `pipelines/` at the top of the repository.
pub const PIPELINES: [(&str, &str); 5] = [
    ("demand-review.toml", include_str!("../../pipelines/demand-review.toml")),
    ("supply-review.toml", include_str!("../../pipelines/supply-review.toml")),
    ("reconciliation.toml", include_str!("../../pipelines/reconciliation.toml")),
    ("executive.toml", include_str!("../../pipelines/executive.toml")),
    ("commit-back.toml", include_str!("../../pipelines/commit-back.toml")),
];

/// The default prompts, embedded from `prompts/` at the top of the repository.
pub const PROMPTS: [(&str, &str); 16] = [
    ("README.md", include_str!("../../prompts/README.md")),
    ("demand-review/summary.system.tera", include_str!("../../prompts/demand-review/summary.system.tera")),
    ("demand-review/summary.user.tera", include_str!("../../prompts/demand-review/summary.user.tera")),
    ("demand-review/sample-facts.json", include_str!("../../prompts/demand-review/sample-facts.json")),
    ("supply-review/summary.system.tera", include_str!("../../prompts/supply-review/summary.system.tera")),
    ("supply-review/summary.user.tera", include_str!("../../prompts/supply-review/summary.user.tera")),
    ("supply-review/sample-facts.json", include_str!("../../prompts/supply-review/sample-facts.json")),
    ("reconciliation/summary.system.tera", include_str!("../../prompts/reconciliation/summary.system.tera")),
    ("reconciliation/summary.user.tera", include_str!("../../prompts/reconciliation/summary.user.tera")),
    ("reconciliation/sample-facts.json", include_str!("../../prompts/reconciliation/sample-facts.json")),
    ("executive/summary.system.tera", include_str!("../../prompts/executive/summary.system.tera")),
    ("executive/summary.user.tera", include_str!("../../prompts/executive/summary.user.tera")),
    ("executive/sample-facts.json", include_str!("../../prompts/executive/sample-facts.json")),
    ("commit-back/summary.system.tera", include_str!("../../prompts/commit-back/summary.system.tera")),
    ("commit-back/summary.user.tera", include_str!("../../prompts/commit-back/summary.user.tera")),
    ("commit-back/sample-facts.json", include_str!("../../prompts/commit-back/sample-facts.json")),
];

/// Creates a workspace: `snop.toml`, the agents' pipelines and the prompts. Refuses to overwrite.
pub fn init(dir: &Path, company: &str) -> anyhow::Result<()> {
    if dir.join(crate::config::WORKSPACE_FILE).exists() {
        return Err(
            crate::UserError(format!("`{}` is already a snop workspace: nothing was changed", dir.display())).into()
        );
    }
    fs_err::create_dir_all(dir.join("pipelines"))?;
    fs_err::create_dir_all(dir.join("data"))?;
    fs_err::write(dir.join(crate::config::WORKSPACE_FILE), workspace_toml(company))
        .with_context(|| format!("writing `{}`", dir.display()))?;
    for (name, text) in PIPELINES {
        fs_err::write(dir.join("pipelines").join(name), text)?;
    }
    for (name, text) in PROMPTS {
        let path = dir.join("prompts").join(name);
        fs_err::create_dir_all(path.parent().expect("a folder"))?;
        fs_err::write(path, text)?;
    }
    Ok(())
}

/// The demo's three example scenarios for the plan of `cycle` (`scenarios/<name>.toml`): an
/// extra shift, a supplier lost for a quarter, a promotion. Their months follow the cycle.
pub fn scenario_files(cycle: crate::contract::Month) -> Vec<(&'static str, String)> {
    let m = |k: i32| cycle.plus(k).to_string();
    vec![
        (
            "saturday-shift",
            format!(
                r#"# A Saturday shift for six months: 8 h on the Leeds centrifugal line (one crew), and 8 people
# x 8 h of labour at Monterrey. The hours of each month are its Saturdays (holidays excepted)
# x 8 h x the crews, from the calendar.
description = "A Saturday shift at Leeds (centrifugal line) and Monterrey (labour), {} to {}"

[[capacity]]
resource = "LEE-LINE-CENT"
from = "{}"
to = "{}"
shift = {{ days = ["sat"], hours_per_day = 8, crews = 1 }}

[[capacity]]
resource = "MON-LABOUR"
from = "{}"
to = "{}"
shift = {{ days = ["sat"], hours_per_day = 8, crews = 8 }}
"#,
                m(0),
                m(5),
                m(0),
                m(5),
                m(0),
                m(5)
            ),
        ),
        (
            "steelco-lost",
            format!(
                r#"# SUP-STEELCO delivers nothing for a quarter (a fire at its mill): its open orders due then are
# lost, and none of its new orders arrives in the quarter (before and after it, as usual).
description = "SUP-STEELCO lost for a quarter, {} to {}"

[[supplier]]
supplier = "SUP-STEELCO"
unavailable_from = "{}"
unavailable_to = "{}"
"#,
                m(0),
                m(2),
                m(0),
                m(2)
            ),
        ),
        (
            "valves-promotion",
            format!(
                r#"# The ball-valves promotion: 25 % more demand for three months, from next month.
description = "The ball-valves promotion: +25 % demand, {} to {}"

[[demand]]
family = "ball-valves"
from = "{}"
to = "{}"
percent = 25
"#,
                m(1),
                m(3),
                m(1),
                m(3)
            ),
        ),
    ]
}

/// Writes [`scenario_files`] into the workspace's `scenarios/` folder.
pub fn write_scenarios(dir: &Path, cycle: crate::contract::Month) -> anyhow::Result<Vec<String>> {
    let folder = dir.join(crate::scenario::spec::SCENARIO_DIR);
    fs_err::create_dir_all(&folder)?;
    let mut names = Vec::new();
    for (name, text) in scenario_files(cycle) {
        fs_err::write(folder.join(format!("{name}.toml")), text)?;
        names.push(name.to_string());
    }
    Ok(names)
}

/// The scenario the demo's reconciliation pack carries.
pub const PACK_SCENARIO: &str = "saturday-shift";

/// Writes the example scenarios for `cycle` and sets `[reconciliation] pack_scenario` in the
/// workspace's `snop.toml` to [`PACK_SCENARIO`] (what `snop demo` does after `init`).
pub fn enable_pack_scenario(dir: &Path, cycle: crate::contract::Month) -> anyhow::Result<()> {
    write_scenarios(dir, cycle)?;
    let path = dir.join(crate::config::WORKSPACE_FILE);
    let text = fs_err::read_to_string(&path)?;
    let line = "max_executive_decisions = 10\n";
    anyhow::ensure!(text.contains(line), "`snop.toml` has no `{}`", line.trim());
    let with = format!(
        "{line}# The pack carries this what-if's comparison with the plan as is (its runs must be current).\npack_scenario = \"{PACK_SCENARIO}\"\n"
    );
    fs_err::write(&path, text.replacen(line, &with, 1))?;
    Ok(())
}
