//! The policy's conditions on the service's own spellings, and its time windows at every boundary.

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::json;

use super::{Action, Policy};
use crate::backend::Located;

const SUB: &str = "6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21";

/// A pending request of `subscription` naming `resource_ids`, read and for `duration` hours, with a case.
fn located(subscription: &str, resource_ids: &str, resource_type: &str) -> Located {
    let value = json!({
        "id": format!("/subscriptions/{subscription}/providers/Microsoft.CustomerLockbox/requests/r1"),
        "name": "r1",
        "properties": {
            "requestId": "r1",
            "status": "Pending",
            "resourceIds": resource_ids,
            "resourceType": resource_type,
            "accessLevel": "Read",
            "duration": "8",
            "supportRequest": "120112345678",
            "justification": "Read diagnostic logs",
            "subscriptionId": subscription,
        }
    });
    Located { subscription: subscription.into(), request: serde_json::from_value(value).unwrap() }
}

fn policy(text: &str) -> Policy {
    match Policy::parse(text) {
        Ok(policy) => policy,
        Err((line, message)) => panic!("line {line}: {message}"),
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::<FixedOffset>::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn verdict(policy: &Policy, located: &Located, now: &str) -> (Action, String) {
    let verdict = policy.evaluate(located, at(now));
    (verdict.action, verdict.rule.to_owned())
}

/// Issue 32, finding 1: the service writes ids as the upstream examples show them, upper case and without a
/// leading `/`; a deny rule on the resource group must still catch them before the approve rule below it.
#[test]
fn a_deny_prefix_catches_the_upstream_examples_spelling_of_a_resource_id() {
    let policy = policy(&format!(
        "[[rule]]\nname = \"prod is off limits\"\naction = \"deny\"\nreason = \"prod\"\n\
         resource_id_prefixes = [\"/subscriptions/{SUB}/resourceGroups/prod-rg/\"]\n\n\
         [[rule]]\nname = \"vm reads\"\naction = \"approve\"\naccess_levels = [\"Read\"]\n\
         resource_types = [\"Microsoft.Compute/virtualMachines\"]\n"
    ));
    let upstream = format!(
        "SUBSCRIPTIONS/{}/RESOURCEGROUPS/PROD-RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/DEMO",
        SUB.to_uppercase()
    );
    let now = "2026-12-01T10:00:00Z";
    assert_eq!(verdict(&policy, &located(SUB, &upstream, "VMSS"), now), (Action::Deny, "prod is off limits".into()));
    let elsewhere = upstream.replace("PROD-RG", "TEST-RG");
    assert_eq!(verdict(&policy, &located(SUB, &elsewhere, "VMSS"), now), (Action::Approve, "vm reads".into()));
}

/// Issue 32, finding 1: a prefix is whole segments; `contoso-rg` is not a prefix of `contoso-rg-prod`.
#[test]
fn a_prefix_matches_whole_segments_only() {
    let policy = policy(&format!(
        "[[rule]]\nname = \"contoso\"\naction = \"approve\"\n\
         resource_id_prefixes = [\"/subscriptions/{SUB}/resourceGroups/contoso-rg\"]\n"
    ));
    let now = "2026-12-01T10:00:00Z";
    let id = |group: &str| {
        format!("/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/logs")
    };
    assert_eq!(verdict(&policy, &located(SUB, &id("contoso-rg"), ""), now).0, Action::Approve);
    assert_eq!(verdict(&policy, &located(SUB, &id("contoso-rg-prod"), ""), now).0, Action::Leave);
    assert_eq!(
        verdict(&policy, &located(SUB, &format!("/subscriptions/{SUB}/resourceGroups/contoso-rg"), ""), now).0,
        Action::Approve
    );
}

/// A window rule on `days` from `start` to `end` at `offset`.
fn window(days: &str, start: &str, end: &str, offset: &str) -> Policy {
    policy(&format!(
        "[[rule]]\nname = \"window\"\naction = \"approve\"\n\
         working_hours = {{ days = [{days}], start = \"{start}\", end = \"{end}\", utc_offset = \"{offset}\" }}\n"
    ))
}

/// Issue 32, finding 2: Friday's night shift covers Saturday 02:00, not Friday 03:00 (Thursday's night).
#[test]
fn a_night_shift_belongs_to_the_day_it_starts() {
    let policy = window("\"fri\"", "22:00", "06:00", "+00:00");
    let request = located(SUB, "", "");
    // 2026-12-04 is a Friday.
    assert_eq!(verdict(&policy, &request, "2026-12-05T02:00:00Z").0, Action::Approve, "Saturday 02:00");
    assert_eq!(verdict(&policy, &request, "2026-12-04T03:00:00Z").0, Action::Leave, "Friday 03:00");
    assert_eq!(verdict(&policy, &request, "2026-12-04T23:00:00Z").0, Action::Approve, "Friday 23:00");
    assert_eq!(verdict(&policy, &request, "2026-12-05T23:00:00Z").0, Action::Leave, "Saturday 23:00");
}

/// Each boundary of a day window and of a night window, a minute either side, at offsets with minutes.
#[test]
fn windows_hold_from_start_up_to_end_at_every_boundary_and_offset() {
    let request = located(SUB, "", "");
    #[rustfmt::skip]
    let table: [(&str, &str, &str, &str, &str, bool); 22] = [
        // A day window, Friday 08:00-18:00 at +05:45 (2026-12-04 is a Friday).
        ("\"fri\"", "08:00", "18:00", "+05:45", "2026-12-04T07:59:00+05:45", false),
        ("\"fri\"", "08:00", "18:00", "+05:45", "2026-12-04T08:00:00+05:45", true),
        ("\"fri\"", "08:00", "18:00", "+05:45", "2026-12-04T08:01:00+05:45", true),
        ("\"fri\"", "08:00", "18:00", "+05:45", "2026-12-04T17:59:00+05:45", true),
        ("\"fri\"", "08:00", "18:00", "+05:45", "2026-12-04T18:00:00+05:45", false),
        ("\"fri\"", "08:00", "18:00", "+05:45", "2026-12-04T18:01:00+05:45", false),
        // The same instant written in UTC: 08:00 at +05:45 is 02:15Z.
        ("\"fri\"", "08:00", "18:00", "+05:45", "2026-12-04T02:14:00Z", false),
        ("\"fri\"", "08:00", "18:00", "+05:45", "2026-12-04T02:15:00Z", true),
        // A night window, Friday 22:00-06:00 at -03:30: each boundary, before and after midnight.
        ("\"fri\"", "22:00", "06:00", "-03:30", "2026-12-04T21:59:00-03:30", false),
        ("\"fri\"", "22:00", "06:00", "-03:30", "2026-12-04T22:00:00-03:30", true),
        ("\"fri\"", "22:00", "06:00", "-03:30", "2026-12-04T22:01:00-03:30", true),
        ("\"fri\"", "22:00", "06:00", "-03:30", "2026-12-04T23:59:00-03:30", true),
        ("\"fri\"", "22:00", "06:00", "-03:30", "2026-12-05T00:00:00-03:30", true),
        ("\"fri\"", "22:00", "06:00", "-03:30", "2026-12-05T00:01:00-03:30", true),
        ("\"fri\"", "22:00", "06:00", "-03:30", "2026-12-05T05:59:00-03:30", true),
        ("\"fri\"", "22:00", "06:00", "-03:30", "2026-12-05T06:00:00-03:30", false),
        ("\"fri\"", "22:00", "06:00", "-03:30", "2026-12-05T06:01:00-03:30", false),
        // Thursday's night, which the Friday rule does not cover, on both sides of midnight.
        ("\"fri\"", "22:00", "06:00", "-03:30", "2026-12-03T23:59:00-03:30", false),
        ("\"fri\"", "22:00", "06:00", "-03:30", "2026-12-04T00:01:00-03:30", false),
        // A window to the end of the day, and Sunday's night into Monday (the week wraps).
        ("\"fri\"", "20:00", "24:00", "+00:00", "2026-12-04T23:59:00Z", true),
        ("\"sun\"", "22:00", "06:00", "+00:00", "2026-12-07T05:59:00Z", true),
        ("\"mon\"", "22:00", "06:00", "+00:00", "2026-12-07T05:59:00Z", false),
    ];
    for (days, start, end, offset, now, inside) in table {
        let policy = window(days, start, end, offset);
        let expected = if inside { Action::Approve } else { Action::Leave };
        assert_eq!(verdict(&policy, &request, now).0, expected, "[{days}] {start}-{end} {offset} at {now}");
    }
}

/// `policy explain` says which day's window a time was checked against.
#[test]
fn explain_names_the_day_whose_window_was_checked() {
    let policy = window("\"thu\"", "22:00", "06:00", "+00:00");
    let request = located(SUB, "", "");
    let (_, lines) = policy.explain(&request, at("2026-12-05T02:00:00Z"));
    assert!(lines[0].contains("request on sat at 02:00, in the 22:00-06:00 window of fri"), "{lines:?}");
    let (_, lines) = policy.explain(&request, at("2026-12-04T02:00:00Z"));
    assert!(lines[0].contains("matched") && lines[0].contains("the 22:00-06:00 window of thu"), "{lines:?}");
}

/// `text` spelled another way the service may use: each letter's case taken from `seed`'s bits, and, with
/// `slashes`, a leading `/` dropped or added and a trailing one added, by the next bits.
fn respell(text: &str, seed: u64, slashes: bool) -> String {
    let mut out: String = text
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if seed.rotate_right(u32::try_from(i % 64).unwrap_or(0)) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    if slashes {
        if seed & (1 << 62) != 0 {
            out = out.trim_start_matches('/').to_owned();
        } else if !out.starts_with('/') {
            out.insert(0, '/');
        }
        if seed & (1 << 63) != 0 {
            out.push('/');
        }
    }
    out
}

const SUBS: [&str; 2] = [SUB, "0b1f6471-1bf0-4dda-aec3-cb9272f09590"];
const GROUPS: [&str; 3] = ["contoso-rg", "contoso-rg-prod", "prod-rg"];
const TYPES: [&str; 3] =
    ["Microsoft.Storage/storageAccounts", "Microsoft.Compute/virtualMachines", "Microsoft.KeyVault/vaults"];
const NAMED: [&str; 2] = ["Storage Account", "Key Vault"];
const LEVELS: [&str; 2] = ["Read", "Write"];

/// A rule on one text condition (`kind`), its value picked by `value` and spelled by `seed`.
fn rule(index: usize, kind: u8, value: usize, deny: bool, seed: u64) -> String {
    let condition = match kind % 5 {
        0 => format!("subscriptions = [\"{}\"]", respell(SUBS[value % 2], seed, false)),
        1 => format!("resource_types = [\"{}\"]", respell(TYPES[value % 3], seed, true)),
        2 => format!("resource_types = [\"{}\"]", respell(NAMED[value % 2], seed, false)),
        3 => format!(
            "resource_id_prefixes = [\"{}\"]",
            respell(&format!("/subscriptions/{}/resourceGroups/{}", SUBS[value % 2], GROUPS[value % 3]), seed, true)
        ),
        _ => format!("access_levels = [\"{}\"]", respell(LEVELS[value % 2], seed, false)),
    };
    let action = if deny { "action = \"deny\"\nreason = \"no\"" } else { "action = \"approve\"" };
    format!("[[rule]]\nname = \"r{index}\"\n{action}\n{condition}\n\n")
}

/// The request `(subscription, group, type, named type, level)`, each spelled by `seed`.
fn request_spelled(pick: (usize, usize, usize, usize, usize), seed: u64) -> Located {
    let (sub, group, kind, named, level) = pick;
    let id = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/{}/x",
        SUBS[sub % 2],
        GROUPS[group % 3],
        TYPES[kind % 3]
    );
    let mut located = located(
        &respell(SUBS[sub % 2], seed, false),
        &respell(&id, seed.rotate_left(7), true),
        &respell(NAMED[named % 2], seed.rotate_left(13), false),
    );
    if let Some(p) = located.request.properties.as_mut() {
        p.access_level = Some(respell(LEVELS[level % 2], seed.rotate_left(21), false));
    }
    located
}

proptest::proptest! {
    /// For every text condition (subscriptions, ARM and named resource types, resource id prefixes, access
    /// levels), every equivalent spelling of the rule's values and of the request's (letter case, a leading or
    /// trailing `/`) gives the same decision by the same rule. The other conditions hold no text whose
    /// spelling could vary (numbers, booleans, times, a pattern the author wrote).
    #[test]
    fn equivalent_spellings_give_the_same_decision(
        rules in proptest::collection::vec((0u8..5, 0usize..6, proptest::bool::ANY), 1..5),
        pick in (0usize..2, 0usize..3, 0usize..3, 0usize..2, 0usize..2),
        seeds in (proptest::num::u64::ANY, proptest::num::u64::ANY, proptest::num::u64::ANY, proptest::num::u64::ANY),
    ) {
        let text = |seed: u64| -> String {
            rules.iter().enumerate().map(|(i, (kind, value, deny))| rule(i, *kind, *value, *deny, seed.rotate_left(u32::try_from(i).unwrap_or(0)))).collect()
        };
        let (one, other) = (policy(&text(seeds.0)), policy(&text(seeds.1)));
        let (this, that) = (request_spelled(pick, seeds.2), request_spelled(pick, seeds.3));
        let now = at("2026-12-01T10:00:00Z");
        let decide = |policy: &Policy, located: &Located| {
            let verdict = policy.evaluate(located, now);
            (verdict.action, verdict.rule.to_owned())
        };
        let first = decide(&one, &this);
        proptest::prop_assert_eq!(&first, &decide(&one, &that));
        proptest::prop_assert_eq!(&first, &decide(&other, &this));
        proptest::prop_assert_eq!(&first, &decide(&other, &that));
    }
}
