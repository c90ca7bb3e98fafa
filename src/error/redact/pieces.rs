//! Where a text holds a piece of the token: any run of [`PIECE`] or more of the token's characters in a row,
//! each written as it is or through an escape a server may have put it in (percent-encoding in either hex case,
//! also twice over, and JSON string escapes: `\u0065`, `\u0045`, `\/`, `\\`, ...).
//!
//! Two passes, each reporting byte ranges of the text, which [`super`] masks:
//! - **Raw**: every window of [`PIECE`] bytes that is a piece of the token. A window of 8 bytes always holds,
//!   whole, one of the 4-byte words that start at every 5th byte, and that word is then a 4-gram of the token.
//!   So only those words are looked up, in a small Bloom filter of the token's 4-grams; the five windows around a
//!   word that passes are looked up in a Bloom filter of the token's 8-grams, and a window that passes both is
//!   confirmed in the token itself. A 74 KB listing page costs about 14,800 lookups in a table that stays in the
//!   L1 cache, which is what keeps `cargo bench --bench overhead`'s `list 100k` within its figure.
//! - **Decoded**: around each `%` and `\`, the run of bytes that could belong to an escaped token is decoded
//!   once (each escape to the one character it stands for), and every window of [`PIECE`] decoded characters is
//!   looked up the same way; a window found covers the bytes of its escapes.
//!
//! Nothing else is looked at, and nothing is decoded for keeps: a text that holds no piece comes back as it was.

use std::ops::Range;

use zeroize::Zeroize;

/// The shortest run of the token's characters that is removed: 8.
///
/// A run of 8 base64 characters carries 48 bits of the token, and a run of 8 is the shortest a test counts as a
/// leak. Shorter runs turn up by chance in other text: a page of requests holds words and ids that share 4 or 5
/// characters with any 1.7 KB token, and masking them would change a requester's text. A run of 8 random token
/// characters turns up by chance about once in 64^8 / 1,700 (1.6 * 10^11) positions, so a body that does not
/// quote the token is never touched. Every JWT starts with the same 8 characters of its header (`eyJ0eXAi`),
/// so another bearer token in a body may be masked in part too; that is a credential as well.
pub(crate) const PIECE: usize = 8;

/// The raw pass looks at the 4-byte word starting at every `STRIDE`th byte: `STRIDE + QUAD - 1 <= PIECE`, so
/// every window of `PIECE` bytes holds one such word whole.
const STRIDE: usize = 5;
const QUAD: usize = 4;
/// A window holding the word at `at` starts between `at - BACK` and `at`.
const BACK: usize = STRIDE - 1;
/// The raw pass looks at `GROUP` words per loop turn, from one array of `GROUP_BYTES` bytes.
const GROUP: usize = 4;
const GROUP_BYTES: usize = GROUP * STRIDE;
/// Each Bloom filter has `2^BITS` bits (16 KiB): for a 1.7 KB token, about one lookup in 80 passes by chance.
const BITS: u32 = 17;
/// The 64-bit words of a filter. A filter is an array of this length, not a slice, so that a slot (below
/// `2^BITS` by construction) needs no bounds check: that check was a third of the raw pass's time.
const WORDS: usize = 1 << (BITS - 6);

/// What a redactor learned of its token to find its pieces: two Bloom filters (of its 4-grams and its 8-grams)
/// and the bytes it holds. Built once per token (the pipeline keeps them with it in the token cache, see
/// `pipeline/hooks.rs`), or once per answer for a token no longer cached; zeroed when dropped.
pub(crate) struct Pieces {
    quads: Box<Filter>,
    grams: Box<Filter>,
    /// The bytes a run of escapes and token characters may hold: the token's, `%`, `\`, `u` and hex digits.
    in_run: [bool; 256],
}

/// The filters are derived from the token: wiped with it.
impl Drop for Pieces {
    fn drop(&mut self) {
        self.quads.zeroize();
        self.grams.zeroize();
        self.in_run.zeroize();
    }
}

impl Pieces {
    /// The filters for `token` (at least [`PIECE`] bytes long).
    pub(crate) fn new(token: &[u8]) -> Self {
        let mut quads = Box::new([0u64; WORDS]);
        let mut grams = Box::new([0u64; WORDS]);
        for quad in token.windows(QUAD).filter_map(<[u8]>::first_chunk::<QUAD>) {
            insert(&mut quads, quad_slot(word(*quad)));
        }
        for gram in token.windows(PIECE) {
            insert(&mut grams, gram_slot(gram));
        }
        let mut in_run = [false; 256];
        for &byte in token.iter().chain(b"%\\u").chain(b"0123456789abcdefABCDEF") {
            in_run[usize::from(byte)] = true;
        }
        Self { quads, grams, in_run }
    }

    /// Pushes onto `found` the byte range of every window of `text` that writes [`PIECE`] characters of
    /// `token`, plain or escaped. Ranges may overlap and come in no particular order.
    pub(crate) fn find(&self, token: &[u8], text: &[u8], found: &mut Vec<Range<usize>>) {
        self.find_raw(token, text, found);
        let mut searched_to = 0;
        for escape in memchr::memchr2_iter(b'%', b'\\', text) {
            if escape < searched_to {
                continue;
            }
            let (before, after) = text.split_at(escape);
            let start = before.iter().rposition(|b| !self.in_run[usize::from(*b)]).map_or(0, |i| i.saturating_add(1));
            let end = after
                .iter()
                .position(|b| !self.in_run[usize::from(*b)])
                .map_or(text.len(), |i| i.saturating_add(escape));
            searched_to = end;
            self.find_decoded(token, text, start..end, found);
        }
    }

    /// The raw pass: the word at every [`STRIDE`]th byte, looked up in the 4-gram filter; the windows around a
    /// word that passes, in the 8-gram filter and the token.
    ///
    /// The words are taken [`GROUP`] at a time from one array, their lookups joined with `|`, so the usual group
    /// (no word of the token) costs one branch and no bounds check; with the filters as arrays (see [`WORDS`]),
    /// this took the search of a listing from 6.0 to 2.5 instructions a byte, and the whole 100k listing from
    /// 1.26 to 1.12 times the baseline's instructions (callgrind, `BENCH_PROFILE=sdk-list`; BENCHMARKS.md).
    fn find_raw(&self, token: &[u8], text: &[u8], found: &mut Vec<Range<usize>>) {
        let mut groups = text.chunks_exact(GROUP_BYTES);
        for (index, group) in groups.by_ref().enumerate() {
            let Ok(group) = <&[u8; GROUP_BYTES]>::try_from(group) else { continue };
            let words: [u32; GROUP] = std::array::from_fn(|k| {
                let at = k.wrapping_mul(STRIDE);
                word([group[at], group[at.wrapping_add(1)], group[at.wrapping_add(2)], group[at.wrapping_add(3)]])
            });
            if words.iter().fold(false, |any, word| any | contains(&self.quads, quad_slot(*word))) {
                let base = index.wrapping_mul(GROUP_BYTES);
                for k in 0..GROUP {
                    self.around(token, text, base.wrapping_add(k.wrapping_mul(STRIDE)), found);
                }
            }
        }
        let base = text.len().saturating_sub(groups.remainder().len());
        for at in (base..text.len().saturating_sub(QUAD - 1)).step_by(STRIDE) {
            self.around(token, text, at, found);
        }
    }

    /// The windows of `text` that hold the word at `at` whole, when that word is in the 4-gram filter.
    fn around(&self, token: &[u8], text: &[u8], at: usize, found: &mut Vec<Range<usize>>) {
        let Some(quad) = text.get(at..).and_then(<[u8]>::first_chunk::<QUAD>) else { return };
        if !contains(&self.quads, quad_slot(word(*quad))) {
            return;
        }
        for start in at.saturating_sub(BACK)..=at {
            let end = start.saturating_add(PIECE);
            if let Some(window) = text.get(start..end)
                && self.is_piece(token, window)
            {
                found.push(start..end);
            }
        }
    }

    /// The decoded pass over one run of `text`.
    fn find_decoded(&self, token: &[u8], text: &[u8], run: Range<usize>, found: &mut Vec<Range<usize>>) {
        // Each decoded character, and where its bytes start; the run's end closes the last one.
        let mut decoded: Vec<(u8, usize)> = Vec::new();
        let mut at = run.start;
        while let Some(rest) = text.get(at..run.end).filter(|rest| !rest.is_empty()) {
            let (byte, len) = unescape(rest);
            decoded.push((byte, at));
            at = at.saturating_add(len);
        }
        let mut window = [0u8; PIECE];
        for (first, chars) in decoded.windows(PIECE).enumerate() {
            for (slot, (byte, _)) in window.iter_mut().zip(chars) {
                *slot = *byte;
            }
            if self.is_piece(token, &window) {
                let start = chars.first().map_or(run.start, |c| c.1);
                let end = decoded.get(first.saturating_add(PIECE)).map_or(run.end, |c| c.1);
                found.push(start..end);
            }
        }
    }

    /// Whether `window` ([`PIECE`] bytes) is in `token`: the 8-gram filter, then the token itself.
    fn is_piece(&self, token: &[u8], window: &[u8]) -> bool {
        contains(&self.grams, gram_slot(window)) && memchr::memmem::find(token, window).is_some()
    }
}

/// The character the escape at the start of `text` stands for, and how many bytes it takes: `%XX` (either case;
/// `%25XX`, percent-encoded twice, too), `\uXXXX` (either case; `\u0025XX` too) and JSON's two-character escapes.
/// Anything else is one byte standing for itself. A `\u` escape of a character outside ASCII stands for NUL,
/// which no token holds (a header value cannot).
fn unescape(text: &[u8]) -> (u8, usize) {
    match text {
        [b'%', rest @ ..] => match hex(rest, 2) {
            Some(0x25) => hex(rest.get(2..).unwrap_or_default(), 2).map_or((b'%', 3), |b| (byte(b), 5)),
            Some(b) => (byte(b), 3),
            None => (b'%', 1),
        },
        [b'\\', b'u', rest @ ..] => match hex(rest, 4) {
            Some(0x25) => hex(rest.get(4..).unwrap_or_default(), 2).map_or((b'%', 6), |b| (byte(b), 8)),
            Some(c) if c < 0x80 => (byte(c), 6),
            Some(_) => (0, 6),
            None => (b'\\', 1),
        },
        [b'\\', escaped, ..] => match escaped {
            b'"' | b'\\' | b'/' => (*escaped, 2),
            b'b' => (0x08, 2),
            b'f' => (0x0c, 2),
            b'n' => (b'\n', 2),
            b'r' => (b'\r', 2),
            b't' => (b'\t', 2),
            _ => (b'\\', 1),
        },
        [first, ..] => (*first, 1),
        [] => (0, 1),
    }
}

/// The value of the first `digits` bytes of `text` as hex digits, either case.
fn hex(text: &[u8], digits: usize) -> Option<u32> {
    text.get(..digits)?.iter().try_fold(0u32, |value, b| Some(value.wrapping_shl(4) | char::from(*b).to_digit(16)?))
}

fn byte(value: u32) -> u8 {
    u8::try_from(value).unwrap_or_default()
}

/// The 4 bytes of a word as one number, the first byte highest.
fn word(quad: [u8; QUAD]) -> u32 {
    u32::from_be_bytes(quad)
}

fn quad_slot(word: u32) -> u32 {
    word.wrapping_mul(0x9E37_79B9).wrapping_shr(32u32.saturating_sub(BITS))
}

fn gram_slot(gram: &[u8]) -> u32 {
    let word = gram.iter().fold(0u64, |word, b| word.wrapping_shl(8) | u64::from(*b));
    u32::try_from(word.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_shr(64u32.saturating_sub(BITS))).unwrap_or_default()
}

/// A Bloom filter's bits.
type Filter = [u64; WORDS];

fn insert(bits: &mut Filter, slot: u32) {
    if let Some(word) = bits.get_mut(slot.wrapping_shr(6) as usize) {
        *word |= 1u64.wrapping_shl(slot & 63);
    }
}

fn contains(bits: &Filter, slot: u32) -> bool {
    bits.get(slot.wrapping_shr(6) as usize).is_some_and(|word| word & 1u64.wrapping_shl(slot & 63) != 0)
}
