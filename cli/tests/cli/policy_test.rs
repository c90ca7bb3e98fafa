//! `lockbox policy test`: the README's sample policy against its cases.

use std::path::Path;

use super::common::*;

/// `lockbox policy test` runs the README's sample policy (kept as `cli/examples/policy.toml`, equal to the
/// README's block) against the cases kept beside it: every case passes, every rule decides one, every condition
/// fails in one. A case expecting the wrong action fails (exit 1) and says which condition did not hold.
#[test]
fn policy_test_runs_the_readme_policy_against_its_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../README.md")).unwrap();
    let section = &readme[readme.find("### Policy mode").unwrap()..];
    let block = &section[section.find("```toml\n").unwrap() + 8..];
    let block = &block[..block.find("```").unwrap()];
    let policy = root.join("examples/policy.toml");
    assert_eq!(std::fs::read_to_string(&policy).unwrap(), block, "the README's policy and examples/policy.toml");
    let cases = root.join("examples/policy-cases.toml");
    let out = run(&[
        "policy",
        "test",
        "--file",
        policy.to_str().unwrap(),
        "--cases",
        cases.to_str().unwrap(),
        "--require-coverage",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("13 cases, 0 failed; rules never deciding a case: none; conditions never failing: none"),
        "{stdout}"
    );

    let dir = tempdir("policy-test");
    let wrong = dir.join("wrong.toml");
    let text_of_cases = std::fs::read_to_string(&cases).unwrap();
    std::fs::write(
        &wrong,
        text_of_cases.replacen("expect = \"leave\"\nrule = \"default\"", "expect = \"approve\"\nrule = \"default\"", 1),
    )
    .unwrap();
    let out = run(&["policy", "test", "--file", policy.to_str().unwrap(), "--cases", wrong.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL another subscription")
            && stdout.contains("not matched: storage reads in working hours: subscriptions"),
        "{stdout}"
    );
}
