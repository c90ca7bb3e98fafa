use chrono::TimeZone;

use super::*;

const SUB: &str = "6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21";

fn located(status: &str, duration: serde_json::Value) -> Located {
    let request = serde_json::from_value(json!({
        "id": format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/r1"),
        "name": "r1",
        "properties": {
            "requestId": "r1",
            "status": status,
            "duration": duration,
            "expirationDateTime": "2030-01-05T00:00:00Z",
            "createdDateTime": "2030-01-01T00:00:00Z",
            "justification": "j".repeat(300),
        }
    }))
    .unwrap();
    Located { subscription: SUB.into(), request }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 2, 0, 0, 0).unwrap()
}

fn field<'a>(block: &'a str, name: &str) -> Option<&'a str> {
    block.lines().find(|l| l.starts_with(&format!("{name:<17} "))).map(|l| l[18..].trim_end())
}

#[test]
fn a_decided_request_shows_no_time_left_and_a_pending_one_does() {
    let decided = details(&located("Approved", json!("8")), now());
    assert_eq!(field(&decided, "Time left"), None, "{decided}");
    assert_eq!(field(&decided, "Expires"), Some("2030-01-05T00:00:00+00:00"), "{decided}");
    let pending = details(&located("Pending", json!("8")), now());
    assert_eq!(field(&pending, "Time left"), Some("3d 0h"), "{pending}");
}

#[test]
fn a_duration_in_hours_says_h_and_a_text_duration_is_shown_as_written() {
    let hours = details(&located("Pending", json!("8")), now());
    assert_eq!(field(&hours, "Duration"), Some("8 h"), "{hours}");
    let number = details(&located("Pending", json!(8)), now());
    assert_eq!(field(&number, "Duration"), Some("8 h"), "{number}");
    let text = details(&located("Pending", json!("Support request lifetime")), now());
    assert_eq!(field(&text, "Duration"), Some("Support request lifetime"), "{text}");
    let request = located("Approved", json!("Support request lifetime"));
    let wide = RequestRow(&request, now()).wide_cells();
    assert_eq!(wide[7], "Support request lifetime");
}

#[test]
fn wide_cells_keep_the_justification_whole() {
    let request = located("Pending", json!("8"));
    let wide = RequestRow(&request, now()).wide_cells();
    assert_eq!(wide.last().unwrap(), &"j".repeat(300));
    let shown =
        crate::output::table::render(RequestRow::WIDE, &[wide], &|_, _| None, crate::output::table::Fit::Whole, false);
    assert!(shown.lines().nth(1).unwrap().ends_with(&"j".repeat(300)), "{shown}");
}
