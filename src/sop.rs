//! The S&OP vocabulary every layer shares: the five meetings (each run by an [`Agent`]), the
//! [`Artifact`] each one produces, the roles that own and sign them, and the [`Directory`] of
//! who holds which role. The ground floor: it imports nothing of snop but the data contract.

use std::collections::BTreeMap;
use std::fmt;

use crate::contract::Table;

/// The agents, one per S&OP sub-meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Agent {
    DemandReview,
    SupplyReview,
    Reconciliation,
    Executive,
    CommitBack,
}

impl Agent {
    pub const ALL: [Agent; 5] =
        [Agent::DemandReview, Agent::SupplyReview, Agent::Reconciliation, Agent::Executive, Agent::CommitBack];

    pub fn name(self) -> &'static str {
        match self {
            Agent::DemandReview => "demand-review",
            Agent::SupplyReview => "supply-review",
            Agent::Reconciliation => "reconciliation",
            Agent::Executive => "executive",
            Agent::CommitBack => "commit-back",
        }
    }

    pub fn from_name(name: &str) -> Option<Agent> {
        Agent::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The tables the agent's analysis cannot do without.
    pub fn required_tables(self) -> &'static [Table] {
        match self {
            Agent::DemandReview => &[Table::Items, Table::Customers, Table::SalesHistory],
            Agent::SupplyReview => &[
                Table::Items,
                Table::Customers,
                Table::Resources,
                Table::Routings,
                Table::Bom,
                Table::Components,
                Table::Inventory,
                Table::Capacity,
            ],
            Agent::Reconciliation => &[Table::Items],
            // The executive re-plans with the supply review's own analysis, on the same tables.
            Agent::Executive => Agent::SupplyReview.required_tables(),
            Agent::CommitBack => &[Table::Items, Table::Customers, Table::OpenOrders],
        }
    }
}

impl fmt::Display for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The five artifacts, one per meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Artifact {
    DemandConsensus,
    SupplyPlan,
    ReconciliationPack,
    SignedPlan,
    CommitmentLog,
}

impl Artifact {
    pub const ALL: [Artifact; 5] = [
        Artifact::DemandConsensus,
        Artifact::SupplyPlan,
        Artifact::ReconciliationPack,
        Artifact::SignedPlan,
        Artifact::CommitmentLog,
    ];

    /// The key stored in the `drafts` table.
    pub fn key(self) -> &'static str {
        match self {
            Artifact::DemandConsensus => "demand_consensus",
            Artifact::SupplyPlan => "supply_plan",
            Artifact::ReconciliationPack => "reconciliation_pack",
            Artifact::SignedPlan => "signed_plan",
            Artifact::CommitmentLog => "commitment_log",
        }
    }

    pub fn from_key(key: &str) -> Option<Artifact> {
        Artifact::ALL.into_iter().find(|a| a.key() == key)
    }

    /// As a person says it.
    pub fn title(self) -> &'static str {
        match self {
            Artifact::DemandConsensus => "demand consensus",
            Artifact::SupplyPlan => "supply plan",
            Artifact::ReconciliationPack => "reconciliation pack",
            Artifact::SignedPlan => "signed plan",
            Artifact::CommitmentLog => "customer commitment log",
        }
    }

    pub fn agent(self) -> Agent {
        match self {
            Artifact::DemandConsensus => Agent::DemandReview,
            Artifact::SupplyPlan => Agent::SupplyReview,
            Artifact::ReconciliationPack => Agent::Reconciliation,
            Artifact::SignedPlan => Agent::Executive,
            Artifact::CommitmentLog => Agent::CommitBack,
        }
    }

    pub fn of_agent(agent: Agent) -> Artifact {
        Artifact::ALL.into_iter().find(|a| a.agent() == agent).expect("one artifact per agent")
    }

    /// The meeting the artifact is made for.
    pub fn meeting(self) -> &'static str {
        match self {
            Artifact::DemandConsensus => "demand review",
            Artifact::SupplyPlan => "supply review",
            Artifact::ReconciliationPack => "pre-S&OP reconciliation",
            Artifact::SignedPlan => "executive S&OP",
            Artifact::CommitmentLog => "commercial commit-back",
        }
    }

    /// The next meeting up, whose decisions this artifact's agenda prepares.
    pub fn next(self) -> Option<Artifact> {
        let i = Artifact::ALL.iter().position(|a| *a == self).expect("listed");
        Artifact::ALL.get(i + 1).copied()
    }

    /// The roles that own the draft: they edit, approve and reject it.
    pub fn owner_roles(self) -> &'static [&'static str] {
        self.signer_roles()
    }

    /// The roles that sign it.
    pub fn signer_roles(self) -> &'static [&'static str] {
        match self {
            Artifact::DemandConsensus => &["demand_lead"],
            Artifact::SupplyPlan => &["supply_lead"],
            Artifact::ReconciliationPack => &["demand_lead", "supply_lead"],
            Artifact::SignedPlan => &["coo", "ceo"],
            Artifact::CommitmentLog => &["sales_lead"],
        }
    }

    /// Whether every signer role must sign (the reconciliation pack), or any one of them.
    pub fn needs_every_signer(self) -> bool {
        self == Artifact::ReconciliationPack
    }
}

impl fmt::Display for Artifact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.title())
    }
}

/// The roles that sign artifacts or own decisions.
pub const ROLES: [&str; 6] = ["demand_lead", "supply_lead", "finance_lead", "sales_lead", "coo", "ceo"];

/// Who holds which role, and people's names: what the rules need to say who may.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Role to person ids.
    pub roles: BTreeMap<String, Vec<String>>,
    /// Person id to full name.
    pub names: BTreeMap<String, String>,
    /// Person id to their ed25519 public key (`ed25519:<hex>`), for those who registered one.
    pub public_keys: BTreeMap<String, String>,
    /// `[signoff] require_keys`: nobody signs without their key.
    pub require_keys: bool,
}

impl Directory {
    /// The roles a person holds.
    pub fn roles_of(&self, person: &str) -> Vec<&str> {
        self.roles.iter().filter(|(_, ids)| ids.iter().any(|i| i == person)).map(|(r, _)| r.as_str()).collect()
    }

    pub fn name(&self, person: &str) -> String {
        self.names.get(person).cloned().unwrap_or_else(|| person.to_string())
    }

    /// "the demand lead (Dana Whitfield)", "the COO (Olivia Chen) or the CEO (Marcus Hale)".
    /// Joined by " or " (any one of the roles will do), a role nobody holds is left out while
    /// another is held; joined otherwise (each is needed), a vacant role is said to be vacant.
    pub fn describe(&self, roles: &[&str], joiner: &str) -> String {
        let holders = |r: &str| -> Vec<String> {
            self.roles.get(r).map(|ids| ids.iter().map(|i| self.name(i)).collect()).unwrap_or_default()
        };
        let any_one = joiner.trim() == "or";
        let held: Vec<&str> = roles.iter().copied().filter(|r| !holders(r).is_empty()).collect();
        let shown: &[&str] = if any_one && !held.is_empty() { &held } else { roles };
        let parts: Vec<String> = shown
            .iter()
            .map(|r| match holders(r) {
                h if h.is_empty() => format!("the {} (nobody holds it in `snop.toml`)", role_title(r)),
                h => format!("the {} ({})", role_title(r), h.join(", ")),
            })
            .collect();
        parts.join(joiner)
    }

    /// Who owns and signs an artifact: "the demand lead (..) and the supply lead (..)" when each
    /// must sign, "the COO (..) or the CEO (..)" when any one will do.
    pub fn signers(&self, a: Artifact) -> String {
        self.describe(a.signer_roles(), if a.needs_every_signer() { " and " } else { " or " })
    }
}

/// A role as a person says it.
pub fn role_title(role: &str) -> String {
    match role {
        "coo" => "COO".into(),
        "ceo" => "CEO".into(),
        other => other.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(roles: &[(&str, &[&str])]) -> Directory {
        Directory {
            roles: roles.iter().map(|(r, ids)| (r.to_string(), ids.iter().map(|i| i.to_string()).collect())).collect(),
            names: [("olivia", "Olivia Chen"), ("dana", "Dana Whitfield")]
                .into_iter()
                .map(|(i, n)| (i.to_string(), n.to_string()))
                .collect(),
            ..Directory::default()
        }
    }

    #[test]
    fn a_vacant_role_is_left_out_only_where_another_will_do() {
        let d = directory(&[("coo", &["olivia"]), ("demand_lead", &["dana"])]);
        // The signed plan: the COO or the CEO; nobody is CEO, the COO will do.
        assert_eq!(d.signers(Artifact::SignedPlan), "the COO (Olivia Chen)");
        // The pack needs both leads: the vacant supply lead is a blocker and is said.
        assert_eq!(
            d.signers(Artifact::ReconciliationPack),
            "the demand lead (Dana Whitfield) and the supply lead (nobody holds it in `snop.toml`)"
        );
        // Nobody holds either role: both are said.
        let empty = directory(&[]);
        assert_eq!(
            empty.signers(Artifact::SignedPlan),
            "the COO (nobody holds it in `snop.toml`) or the CEO (nobody holds it in `snop.toml`)"
        );
        let both = directory(&[("coo", &["olivia"]), ("ceo", &["dana"])]);
        assert_eq!(both.signers(Artifact::SignedPlan), "the COO (Olivia Chen) or the CEO (Dana Whitfield)");
    }
}
