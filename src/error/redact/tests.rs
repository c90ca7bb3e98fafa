use super::*;

const SECRET: &[u8] = b"secret-token-123";

fn clean(text: &[u8], secret: Option<&[u8]>) -> Vec<u8> {
    Vec::from(redact(Bytes::copy_from_slice(text), secret, &Prepared::new()))
}

fn shown(text: &[u8]) -> String {
    String::from_utf8_lossy(&clean(text, Some(SECRET))).into_owned()
}

#[test]
fn echoed_tokens_are_redacted() {
    assert_eq!(
        shown(b"auth was Bearer abc.def-ghi and raw secret-token-123 end"),
        "auth was Bearer <redacted> and raw <redacted> end"
    );
    let untouched = Bytes::from_static(b"nothing here");
    assert_eq!(redact(untouched.clone(), None, &Prepared::new()), untouched);
}

#[test]
fn percent_encoded_tokens_are_redacted_and_nothing_else_is_decoded() {
    assert_eq!(shown(b"/next/%73ecret-token-123/page?x=%41"), "/next/<redacted>/page?x=%41");
    assert_eq!(
        shown(b"100%25 of /next/%73ecret-token-123"),
        "100%25 of /next/<redacted>",
        "the page's other escapes stay"
    );
    assert_eq!(shown(b"/a%20b"), "/a%20b");
    let lower: String = SECRET.iter().map(|b| format!("%{b:02x}")).collect();
    let upper: String = SECRET.iter().map(|b| format!("%{b:02X}")).collect();
    let twice: String = SECRET.iter().map(|b| format!("%25{b:02X}")).collect();
    for encoded in [lower, upper, twice] {
        assert_eq!(shown(format!("a {encoded} b").as_bytes()), "a <redacted> b", "{encoded}");
    }
}

#[test]
fn json_escaped_tokens_are_redacted() {
    let escaped: String = SECRET.iter().map(|b| format!("\\u{b:04x}")).collect();
    assert_eq!(shown(format!("{{\"echo\":\"{escaped}\"}}").as_bytes()), "{\"echo\":\"<redacted>\"}");
    assert_eq!(shown(br#"{"echo":"\u0073ecret-token-123"}"#), r#"{"echo":"<redacted>"}"#);
    assert_eq!(
        shown(br#"{"echo":"\u0053ECRET-token-123"}"#),
        r#"{"echo":"\u0053ECRET<redacted>"}"#,
        "case matters in a token"
    );
    let slashed = clean(br#"{"echo":"ab\/cd\/ef\/gh"}"#, Some(b"xx/ab/cd/ef/gh/yy"));
    assert_eq!(slashed, br#"{"echo":"<redacted>"}"#);
}

#[test]
fn a_piece_of_8_characters_is_redacted_and_one_of_7_is_not() {
    assert_eq!(shown(b"cut short: secret-to"), "cut short: <redacted>");
    assert_eq!(shown(b"the tail: token-123."), "the tail: <redacted>.");
    assert_eq!(shown(b"a piece: et-toke."), "a piece: et-toke.");
    assert_eq!(shown(b"encoded: %65t-t%6Fken."), "encoded: <redacted>.");
    assert_eq!(shown(b"encoded: %65t-t%6Fke."), "encoded: %65t-t%6Fke.");
}

#[test]
fn two_echoes_side_by_side_and_overlapping_runs_are_masked_once_each() {
    assert_eq!(shown(b"secret-token-123secret-token-123"), "<redacted>");
    assert_eq!(shown(b"secret-token-123 secret-token-123"), "<redacted> <redacted>");
    assert_eq!(shown(b"Bearer secret-token-123, ok"), "Bearer <redacted>, ok");
}

#[test]
fn bodies_are_redacted_before_they_are_cut() {
    let mut body = vec![b'x'; super::super::BODY_KEPT - 8];
    body.extend_from_slice(SECRET);
    let kept = super::super::kept(Redactor::reusing(Some(SECRET), Prepared::new()).body(Bytes::from(body)));
    assert_eq!(kept.len(), super::super::BODY_KEPT);
    assert!(kept.ends_with(b"<redacted>"[..8].as_ref()), "{:?}", &kept[super::super::BODY_KEPT - 10..]);
}

#[test]
fn what_holds_nothing_to_remove_is_the_same_buffer() {
    for body in [
        &b"{\"status\":\"Pending\",\"reason\":\"a b c\"}"[..],
        b"\"nextLink\":\"https://h/x?%24skipToken=abc\"",
        b"bearer",
        b" bearer",
        b"100%25 \\u0065 \\/ %zz \\",
        b"secret-",
    ] {
        let body = Bytes::copy_from_slice(body);
        let back = redact(body.clone(), Some(SECRET), &Prepared::new());
        assert_eq!(back.as_ptr(), body.as_ptr(), "{}", String::from_utf8_lossy(&body));
    }
    assert_eq!(shown(b"auth: BeArEr abc"), "auth: BeArEr <redacted>");
}

#[test]
fn a_token_shorter_than_a_piece_is_not_looked_for() {
    assert_eq!(clean(b"abc abc", Some(b"abc")), b"abc abc");
}

#[test]
fn header_values_are_redacted_only_when_they_hold_something() {
    let redactor = Redactor::reusing(Some(SECRET), Prepared::new());
    assert!(redactor.header(&HeaderValue::from_static("4f0c-req-id")).is_none());
    let echoed = redactor.header(&HeaderValue::from_static("Bearer secret-token-123")).unwrap();
    assert_eq!(echoed, "Bearer <redacted>");
    let piece = redactor.header(&HeaderValue::from_static("r-%73ecret-to")).unwrap();
    assert_eq!(piece, "r-<redacted>");
}

#[test]
fn urls_lose_their_query_and_their_token() {
    let redactor = Redactor::reusing(Some(SECRET), Prepared::new());
    let url = Url::parse("https://u:p@h.example/next/secret-token-123/x?skip=secret-token-123#f").unwrap();
    assert_eq!(redactor.url(&url).as_str(), "https://h.example/next/%3Credacted%3E/x");
}

#[test]
fn a_piece_is_found_at_every_offset_of_texts_of_every_length_around_the_raw_pass_groups() {
    // The raw pass takes its words 4 at a time from 20-byte groups and the rest of the text one by one
    // (`pieces.rs`): a piece at each offset of texts of each length up to three groups meets every case.
    for len in PIECE..=64 {
        for start in 0..=len - PIECE {
            for piece in [&SECRET[..PIECE], &SECRET[SECRET.len() - PIECE..]] {
                let mut text = vec![b'x'; len];
                text[start..start + PIECE].copy_from_slice(piece);
                let expected = format!("{}<redacted>{}", "x".repeat(start), "x".repeat(len - start - PIECE));
                assert_eq!(shown(&text), expected, "length {len}, offset {start}");
            }
        }
    }
}
