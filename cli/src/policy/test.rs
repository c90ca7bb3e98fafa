//! `lockbox policy test`: a policy run against sample requests with the action each should get, as `opa test`
//! does for Rego, so that a policy change goes through CI before it decides real requests.
//!
//! The cases file (TOML):
//!
//! ```toml
//! [[case]]
//! name = "a storage read on Tuesday morning"
//! at = "2026-12-01T10:00:00+01:00"       # when the policy is asked (working hours depend on it)
//! expect = "approve"                     # approve, deny or leave
//! rule = "storage reads in working hours" # optional: the rule that must decide it ("default" for none)
//! [case.request]                         # the request; every key optional
//! subscription = "6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21"
//! resource_type = "Storage Account"
//! resource_ids = ["/subscriptions/…/providers/Microsoft.Storage/storageAccounts/logs"]
//! access_level = "Read"
//! duration_hours = 8
//! support_case = "120112345678"
//! justification = "Read diagnostic logs"
//! ```

use std::path::{Path, PathBuf};

use azure_customer_lockbox::models::LockboxRequestResponse;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::rules::{Action, Policy};
use crate::{
    backend::Located,
    failure::{EXIT_PARTIAL, Failure, usage},
    output::{self, Shown},
};

// The arguments of `policy test` (its help is the variant's in `policy.rs`).
#[derive(clap::Args)]
pub struct Args {
    /// The policy file (TOML).
    #[arg(long)]
    pub file: PathBuf,
    /// The cases file (TOML): `[[case]]` with `name`, `at`, `expect`, optional `rule`, and `[case.request]`.
    #[arg(long)]
    pub cases: PathBuf,
    /// Also fail unless every rule decides some case and every condition of every rule fails in some case.
    #[arg(long)]
    pub require_coverage: bool,
}

/// 0 when every case passes (and, if required, the cases cover the policy), else 1; asks no service.
pub fn run(args: &Args) -> Result<u8, Failure> {
    let policy = Policy::load(&args.file).map_err(usage)?;
    let passed = cases(&policy, &args.cases, args.require_coverage).map_err(usage)?;
    Ok(if passed { 0 } else { EXIT_PARTIAL })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    at: DateTime<chrono::FixedOffset>,
    expect: Action,
    rule: Option<String>,
    #[serde(default)]
    request: Request,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    subscription: Option<String>,
    resource_type: Option<String>,
    #[serde(default)]
    resource_ids: Vec<String>,
    access_level: Option<String>,
    duration_hours: Option<u32>,
    support_case: Option<String>,
    justification: Option<String>,
}

impl Request {
    /// The request as the service would show it, `Pending`.
    fn located(&self) -> Result<Located, String> {
        let subscription = self.subscription.clone().unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".into());
        let value = json!({
            "id": format!("/subscriptions/{subscription}/providers/Microsoft.CustomerLockbox/requests/case"),
            "name": "case",
            "type": "Microsoft.CustomerLockbox/requests",
            "properties": {
                "requestId": "case",
                "status": "Pending",
                "resourceType": self.resource_type,
                "resourceIds": self.resource_ids.join(","),
                "accessLevel": self.access_level,
                "duration": self.duration_hours.map(|h| h.to_string()),
                "supportRequest": self.support_case,
                "justification": self.justification,
                "subscriptionId": subscription,
            }
        });
        let request: LockboxRequestResponse = serde_json::from_value(value).map_err(|e| e.to_string())?;
        Ok(Located { subscription, request })
    }
}

/// Runs the cases of `cases` against `policy`; prints one line per case and a summary. Returns whether every
/// case got the action (and rule) it expects, and, with `require_coverage`, every rule decided at least one case
/// and every condition of every rule failed in at least one case where that rule was asked.
fn cases(policy: &Policy, cases: &Path, require_coverage: bool) -> Result<bool, String> {
    let text = std::fs::read_to_string(cases).map_err(|e| format!("cannot read {}: {e}", cases.display()))?;
    let cases: Cases = toml::from_str(&text).map_err(|e| format!("{}: {}", cases.display(), e.message()))?;
    let mut failed = 0usize;
    let mut decided: Vec<&str> = Vec::new();
    let mut seen_failing: Vec<(&str, &str)> = Vec::new();
    for case in &cases.case {
        let located = case.request.located().map_err(|e| format!("case {:?}: {e}", case.name))?;
        let now: DateTime<Utc> = case.at.with_timezone(&Utc);
        let verdict = policy.evaluate(&located, now);
        decided.push(verdict.rule);
        // Why each rule tried before the deciding one did not match: its failing conditions.
        let mut why = Vec::new();
        for rule in policy.rules() {
            let failing = rule.failing(&located, now);
            if failing.is_empty() {
                break;
            }
            seen_failing.extend(failing.iter().map(|c| (rule.name.as_str(), *c)));
            why.push(format!("{}: {}", rule.name, failing.join(", ")));
        }
        let rule_ok = case.rule.as_deref().is_none_or(|want| want == verdict.rule);
        let ok = verdict.action == case.expect && rule_ok;
        if !ok {
            failed = failed.saturating_add(1);
        }
        let mark = if ok { "ok  " } else { "FAIL" };
        let got = format!("{} by {:?}", verdict.action.name(), verdict.rule);
        let expected = match &case.rule {
            Some(rule) => format!("{} by {rule:?}", case.expect.name()),
            None => case.expect.name().to_owned(),
        };
        let _ = output::line(format!("{mark} {}: expected {expected}, got {got}", Shown(&case.name)));
        if !ok {
            for line in &why {
                let _ = output::line(format!("       not matched: {}", Shown(line)));
            }
        }
    }
    let never: Vec<&str> =
        policy.rules().iter().map(|r| r.name.as_str()).filter(|name| !decided.contains(name)).collect();
    let never_failing: Vec<String> = policy
        .rules()
        .iter()
        .flat_map(|r| r.conditions().into_iter().map(move |c| (r.name.as_str(), c)))
        .filter(|pair| !seen_failing.contains(pair))
        .map(|(rule, condition)| format!("{rule}: {condition}"))
        .collect();
    let total = cases.case.len();
    let _ = output::line(format!(
        "policy test: {total} cases, {failed} failed; rules never deciding a case: {}; conditions never failing: {}",
        if never.is_empty() { "none".to_owned() } else { Shown(&never.join(", ")).to_string() },
        if never_failing.is_empty() { "none".to_owned() } else { Shown(&never_failing.join("; ")).to_string() },
    ));
    let covered = never.is_empty() && never_failing.is_empty();
    Ok(failed == 0 && (covered || !require_coverage))
}
