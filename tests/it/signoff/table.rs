//! The transition table exhaustively (every artifact x state x action x role, against a
//! specification written out independently of `verdict`), and refusals that say who may.

use snop::draft::{Action, Effect, Situation, State, Verdict, verdict};
use snop::sop::Artifact;

use super::{CYCLE, directory};

/// The person holding a role in [`directory`] (`None`: the person without a role).
fn holder(role: Option<&str>) -> &'static str {
    match role {
        Some("demand_lead") => "dana.whitfield",
        Some("supply_lead") => "sam.okafor",
        Some("finance_lead") => "fiona.reyes",
        Some("sales_lead") => "leo.grant",
        Some("coo") => "olivia.chen",
        Some("ceo") => "carl.berg",
        _ => "nora.plain",
    }
}

/// The specification, written out independently of `verdict`: who owns and signs what, and
/// what each action does in each state. `Err` holds a phrase the refusal must contain.
fn expected(artifact: Artifact, state: State, action: Action, role: Option<&str>) -> Result<Effect, String> {
    let (owners, signers): (&[&str], &[&str]) = match artifact {
        Artifact::DemandConsensus => (&["demand_lead"], &["demand_lead"]),
        Artifact::SupplyPlan => (&["supply_lead"], &["supply_lead"]),
        Artifact::ReconciliationPack => (&["demand_lead", "supply_lead"], &["demand_lead", "supply_lead"]),
        Artifact::SignedPlan => (&["coo", "ceo"], &["coo", "ceo"]),
        Artifact::CommitmentLog => (&["sales_lead"], &["sales_lead"]),
    };
    let held = |roles: &[&str]| role.is_some_and(|r| roles.contains(&r));
    let verb = match action {
        Action::Edit => "edit",
        Action::Approve => "approve",
        Action::Reject => "reject",
        Action::Sign => "sign",
        Action::Comment => return Ok(Effect::Commented),
    };
    let allowed = if action == Action::Sign { held(signers) } else { held(owners) };
    if !allowed {
        return Err(format!("may {verb} the {}", artifact.title()));
    }
    use State::*;
    match (state, action) {
        (Superseded, _) => Err("is superseded".into()),
        (Draft | Approved | Rejected, Action::Edit) => Ok(Effect::Becomes(Draft)),
        (Signed, Action::Edit) => Ok(Effect::NewVersion),
        (Draft, Action::Approve) => Ok(Effect::Becomes(Approved)),
        (Approved, Action::Approve) => Err("already approved".into()),
        (Rejected, Action::Approve) => Err("was rejected".into()),
        (Signed, Action::Approve | Action::Reject) => Err("is signed and never changes".into()),
        (Draft | Approved, Action::Reject) => Ok(Effect::Becomes(Rejected)),
        (Rejected, Action::Reject) => Err("already rejected".into()),
        (Draft | Rejected, Action::Sign) => Err("not approved".into()),
        (Signed, Action::Sign) => Err("already signed".into()),
        (Approved, Action::Sign) => {
            Ok(Effect::Signed { role: role.unwrap().to_string(), completes: artifact != Artifact::ReconciliationPack })
        }
        (_, Action::Comment) => unreachable!(),
    }
}

#[test]
fn the_transition_table_every_artifact_state_action_and_role() {
    let dir = directory();
    let roles: Vec<Option<&str>> = snop::sop::ROLES.iter().map(|r| Some(*r)).chain([None]).collect();
    let mut checked = 0;
    for artifact in Artifact::ALL {
        for state in State::ALL {
            for action in Action::ALL {
                for role in &roles {
                    let s = Situation {
                        artifact,
                        cycle: CYCLE,
                        version: 1,
                        state,
                        newer_version: (state == State::Superseded).then_some(2),
                        signed_roles: Vec::new(),
                    };
                    let got = verdict(&dir, holder(*role), action, &s);
                    let case = format!("{artifact} / {state} / {action:?} / {role:?}");
                    match (expected(artifact, state, action, *role), got) {
                        (Ok(effect), Ok(Verdict { effect: got, .. })) => assert_eq!(got, effect, "{case}"),
                        (Err(phrase), Err(message)) => {
                            assert!(message.contains(&phrase), "{case}: `{message}` should say `{phrase}`")
                        }
                        (want, got) => panic!("{case}: expected {want:?}, got {got:?}"),
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 5 * 5 * 5 * 7);
}

#[test]
fn refusals_say_who_may() {
    let dir = directory();
    let s = |artifact, state| Situation {
        artifact,
        cycle: CYCLE,
        version: 1,
        state,
        newer_version: None,
        signed_roles: vec![],
    };
    let err = verdict(&dir, "leo.grant", Action::Sign, &s(Artifact::DemandConsensus, State::Approved)).unwrap_err();
    assert!(err.starts_with("only the demand lead (Dana Whitfield) may sign the demand consensus"), "{err}");
    let err =
        verdict(&dir, "fiona.reyes", Action::Sign, &s(Artifact::ReconciliationPack, State::Approved)).unwrap_err();
    assert!(
        err.starts_with(
            "only the demand lead (Dana Whitfield) and the supply lead (Sam Okafor), both of them, may sign"
        ),
        "{err}"
    );
    let err = verdict(&dir, "dana.whitfield", Action::Sign, &s(Artifact::SignedPlan, State::Approved)).unwrap_err();
    assert!(err.starts_with("only the COO (Olivia Chen) or the CEO (Carl Berg) may sign the signed plan"), "{err}");
    let err = verdict(&dir, "mallory", Action::Comment, &s(Artifact::SupplyPlan, State::Draft)).unwrap_err();
    assert!(err.contains("`mallory` is not a person in `snop.toml`"), "{err}");
    // The reconciliation pack: the second signer completes it; nobody signs twice.
    let mut half = s(Artifact::ReconciliationPack, State::Approved);
    half.signed_roles = vec!["demand_lead".into()];
    let d = verdict(&dir, "sam.okafor", Action::Sign, &half).unwrap();
    assert_eq!(d.effect, Effect::Signed { role: "supply_lead".into(), completes: true });
    let err = verdict(&dir, "dana.whitfield", Action::Sign, &half).unwrap_err();
    assert!(err.contains("already signed by Dana Whitfield"), "{err}");
    // A signed version with a newer version is edited through the newer one.
    let mut old = s(Artifact::DemandConsensus, State::Signed);
    old.newer_version = Some(3);
    let err = verdict(&dir, "dana.whitfield", Action::Edit, &old).unwrap_err();
    assert!(err.contains("already has a newer version 3"), "{err}");
}
