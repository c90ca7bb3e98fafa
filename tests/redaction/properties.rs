//! Property tests of the redaction step, through the whole pipeline: a server (a raw TCP listener writing a
//! chunked `400` answer, one chunk per piece the case cut the body into, so a token is split across the frames
//! the client receives) sends a body, and the body the error keeps is compared with what was sent.
//!
//! - A body that holds no run of 8 of the token's characters (it holds shorter pieces of it, plain and escaped,
//!   escapes of its own such as `100%25`, `\u0065`, `\/`, and any bytes) comes back byte for byte.
//! - A body that holds a run of 8 or more (the whole token or a piece of it) written as it is, percent-encoded
//!   (either case, each character or some, also twice over), JSON-escaped (`\u0065` in either case, `\/`), or in
//!   a mix, comes back with exactly that run replaced by `<redacted>` and every other byte as it was; and neither
//!   the error's `Display`, its `Debug`, nor the logs hold a piece of the token.

use std::sync::{Arc, Mutex};

use azure_customer_lockbox::{CustomerLockboxClient, Error, StaticTokenCredential, options::Retries};
use proptest::{prelude::*, test_runner::TestRunner};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use crate::{common::*, logs};

/// The token of these tests: a JWT's shape, with every character base64 and URLs use (`/` for `\/`).
const SECRET: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJsb2NrYm94In0.c2ln/X+y=Z_a-b~c";
/// Bytes that are not the token's characters, and not escapes: what a case puts between its pieces.
const SEPARATORS: &[&str] = &[" ", "\"", ":", ",", "&", "\n", "<", "}"];
/// Escapes a page holds for its own text; none may be touched.
const ESCAPES: &[&str] = &["%25", "100%", "%41", "%2f", "%2F", "\\u0065", "\\u00E9", "\\/", "\\\\", "\\\"", "%", "\\"];

/// How one character of the token is written.
#[derive(Clone, Copy, Debug)]
enum Form {
    Raw,
    PercentLower,
    PercentUpper,
    PercentTwice,
    JsonLower,
    JsonUpper,
    /// `\/` for `/`; any other character as it is.
    JsonShort,
}

fn written(byte: u8, form: Form) -> String {
    match form {
        Form::Raw => char::from(byte).to_string(),
        Form::PercentLower => format!("%{byte:02x}"),
        Form::PercentUpper => format!("%{byte:02X}"),
        Form::PercentTwice => format!("%25{byte:02X}"),
        Form::JsonLower => format!("\\u{byte:04x}"),
        Form::JsonUpper => format!("\\u{byte:04X}"),
        Form::JsonShort if byte == b'/' => "\\/".to_owned(),
        Form::JsonShort => char::from(byte).to_string(),
    }
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![
        Just(Form::Raw),
        Just(Form::PercentLower),
        Just(Form::PercentUpper),
        Just(Form::PercentTwice),
        Just(Form::JsonLower),
        Just(Form::JsonUpper),
        Just(Form::JsonShort),
    ]
}

/// A piece of the token `len` characters long (from anywhere in it), each character written in one of `forms`:
/// one form for the whole piece, or a form per character.
fn piece(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    (len, any::<prop::sample::Index>(), prop::collection::vec(form(), SECRET.len()), any::<bool>()).prop_map(
        |(len, at, forms, mixed)| {
            let start = at.index(SECRET.len() - len + 1);
            let piece = &SECRET.as_bytes()[start..start + len];
            piece.iter().zip(&forms).map(|(b, f)| written(*b, if mixed { *f } else { forms[0] })).collect()
        },
    )
}

/// Text with no run of 8 of the token's characters: any bytes, a page's own escapes, and pieces of the token of
/// 1 to 7 characters, each followed by a separator.
fn clean_text() -> impl Strategy<Value = Vec<u8>> {
    let segment = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..24),
        prop::sample::select(ESCAPES).prop_map(|e| e.as_bytes().to_vec()),
        piece(1..=7).prop_map(String::into_bytes),
    ];
    prop::collection::vec((segment, prop::sample::select(SEPARATORS)), 0..24).prop_map(|segments| {
        segments
            .into_iter()
            .flat_map(|(segment, separator)| [segment, separator.as_bytes().to_vec()])
            .flatten()
            .collect()
    })
}

/// `body` cut at `cuts` (positions, in any order) into the chunks the server writes.
fn chunks(body: &[u8], cuts: &[prop::sample::Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|cut| cut.index(body.len() + 1)).collect();
    at.extend([0, body.len()]);
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| body[w[0]..w[1]].to_vec()).collect()
}

/// A server that answers every request with `400` and the chunks of the next case, and a client of it.
struct Echo {
    next: Arc<Mutex<Vec<Vec<u8>>>>,
    client: CustomerLockboxClient,
    runtime: tokio::runtime::Runtime,
}

impl Echo {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let next: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let serving = next.clone();
        runtime.spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut head = Vec::new();
                let mut buffer = [0u8; 4096];
                while !head.ends_with(b"\r\n\r\n") {
                    let read = socket.read(&mut buffer).await.unwrap();
                    assert!(read > 0, "the client closed before its request's end");
                    head.extend_from_slice(&buffer[..read]);
                }
                let chunks = std::mem::take(&mut *serving.lock().unwrap());
                let start = "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
                socket.write_all(start.as_bytes()).await.unwrap();
                for chunk in chunks {
                    socket.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await.unwrap();
                    socket.write_all(&chunk).await.unwrap();
                    socket.write_all(b"\r\n").await.unwrap();
                    socket.flush().await.unwrap();
                    tokio::task::yield_now().await;
                }
                socket.write_all(b"0\r\n\r\n").await.unwrap();
            }
        });
        let client = TestClient::new(uri)
            .retry(Retries::None)
            .per_try_timeout(None)
            .credential(StaticTokenCredential::new(SECRET))
            .build();
        Self { next, client, runtime }
    }

    /// The error a `Requests_Get` ends with when the server sends `chunks`.
    fn answer(&self, chunks: Vec<Vec<u8>>) -> Error {
        *self.next.lock().unwrap() = chunks;
        self.runtime.block_on(async { self.client.requests(SUB).unwrap().get("req-1", None).await.unwrap_err() })
    }
}

/// The first run of 8 of the token's characters in `text`.
fn leaked(text: &str) -> Option<&'static str> {
    (0..=SECRET.len() - 8).map(|i| &SECRET[i..i + 8]).find(|piece| text.contains(piece))
}

/// An error's `Display` or `Debug` with each escape it writes for a body's byte (`\n`, `\"`, `\\`, `\x1b`,
/// `\u{202e}`) read as one character that is not the token's. A body may hold 7 of the token's characters after
/// a line break; shown, that is `\n` and the 7, and the `n` is no character of the body: without this, the
/// search counted it as an eighth (seen once in a few hundred cases).
fn escapes_as_spaces(shown: &str) -> String {
    let mut out = String::with_capacity(shown.len());
    let mut chars = shown.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(' ');
        match chars.next() {
            Some('x') => {
                chars.next();
                chars.next();
            }
            Some('u') if chars.peek() == Some(&'{') => {
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A line break shown as `\n` next to 7 of the token's characters is not 8 of them (the case proptest found).
#[test]
fn an_escape_shown_next_to_seven_characters_of_the_token_is_not_a_piece_of_it() {
    let shown = format!("{:?}", bytes::Bytes::from_static(b" <redacted> %65\n0.c2ln/,"));
    assert_eq!(leaked(&shown), Some("n0.c2ln/"), "the case: {shown}");
    assert_eq!(leaked(&escapes_as_spaces(&shown)), None);
    assert_eq!(leaked(&escapes_as_spaces(&format!("a {} b", &SECRET[3..11]))), Some(&SECRET[3..11]));
}

fn runner() -> TestRunner {
    TestRunner::new(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })
}

fn holds_bearer(body: &[u8]) -> bool {
    body.windows(7).any(|w| w.eq_ignore_ascii_case(b"bearer "))
}

#[test]
fn bodies_without_the_token_come_back_byte_for_byte() {
    logs::capture();
    let echo = Echo::start();
    let cases = (clean_text(), prop::collection::vec(any::<prop::sample::Index>(), 0..6));
    runner()
        .run(&cases, |(body, cuts)| {
            // `Bearer …` is masked whatever follows it: not a body this property is about.
            prop_assume!(!holds_bearer(&body));
            let error = echo.answer(chunks(&body, &cuts));
            let kept = error.service_error().map(|e| e.body.to_vec());
            prop_assert_eq!(kept.as_deref(), Some(&body[..]), "{:?}", String::from_utf8_lossy(&body));
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_token_whole_or_in_part_in_each_encoding_leaves_nothing_behind() {
    logs::capture();
    let echo = Echo::start();
    let cases = (
        clean_text(),
        piece(8..=SECRET.len()),
        prop::sample::select(SEPARATORS),
        prop::sample::select(SEPARATORS),
        clean_text(),
        prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    );
    runner()
        .run(&cases, |(before, piece, open, close, after, cuts)| {
            prop_assume!(!holds_bearer(&before) && !holds_bearer(&after));
            let body = [&before[..], open.as_bytes(), piece.as_bytes(), close.as_bytes(), &after[..]].concat();
            let expected = [&before[..], open.as_bytes(), b"<redacted>", close.as_bytes(), &after[..]].concat();
            let error = echo.answer(chunks(&body, &cuts));
            let kept = error.service_error().map(|e| e.body.to_vec());
            prop_assert_eq!(kept.as_deref(), Some(&expected[..]), "sent {:?}", String::from_utf8_lossy(&body));
            for shown in [error.to_string(), format!("{error:?}")] {
                prop_assert_eq!(leaked(&escapes_as_spaces(&shown)), None, "{}", shown);
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(leaked(&escapes_as_spaces(&logs::text())), None, "the logs hold a piece of the token");
}
