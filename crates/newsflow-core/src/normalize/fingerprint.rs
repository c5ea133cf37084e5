//! Content fingerprints: an exact BLAKE3 hash of the normalized text and a 64-bit SimHash
//! over word 3-shingles for near-duplicate detection (Hamming distance ≤ 3 ≈ same story).

use serde::Serialize;

/// Fingerprints of one article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fingerprint {
    /// `blake3:` + hex of BLAKE3 over `title \n\n body` (normalized).
    pub content_hash: String,
    /// 64-bit SimHash of the body's word 3-shingles, 16 hex digits.
    pub simhash: String,
    /// The first 64 bits of the content hash (for in-memory duplicate lookup).
    #[serde(skip)]
    pub exact64: u64,
}

impl Fingerprint {
    /// Computes both fingerprints.
    pub fn of(title: &str, body: &str) -> Fingerprint {
        // One contiguous input: BLAKE3 hashes whole chunks in parallel (SIMD) only when they
        // arrive together, so separate updates for title and body would be about twice as
        // slow; the copy costs far less.
        let mut input = Vec::with_capacity(title.len() + 2 + body.len());
        input.extend_from_slice(title.as_bytes());
        input.extend_from_slice(b"\n\n");
        input.extend_from_slice(body.as_bytes());
        let digest = blake3::hash(&input);
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest.as_bytes()[..8]);
        Fingerprint {
            content_hash: format!("blake3:{}", digest.to_hex()),
            simhash: format!("{:016x}", simhash(body)),
            exact64: u64::from_be_bytes(first),
        }
    }

    /// The SimHash as an integer.
    pub fn simhash_bits(&self) -> u64 {
        u64::from_str_radix(&self.simhash, 16).unwrap_or(0)
    }
}

/// FNV-1a offset basis: the hash of an empty word (one hash per word; shingles combine word
/// hashes).
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// One FNV-1a step: the hash so far extended by byte `b`.
#[inline]
fn fnv_step(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
}

/// SplitMix64 finaliser: spreads the combined word hashes over all 64 bits.
#[inline]
fn mix(mut h: u64) -> u64 {
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// `SPREAD[b]` has bit `i` of `b` in byte `i`: adding it to a u64 increments eight byte
/// counters at once (a bit-sliced counter, 8 adds per hash instead of 64).
const SPREAD: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut i = 0;
        while i < 8 {
            if b >> i & 1 == 1 {
                t[b] |= 1 << (8 * i);
            }
            i += 1;
        }
        b += 1;
    }
    t
};

/// Per-bit counts of set bits over many 64-bit hashes.
struct BitCounts {
    /// Byte lanes: `lanes[j]` byte `i` counts bit `8 * j + i` (flushed before overflow).
    lanes: [u64; 8],
    pending: u32,
    counts: [u32; 64],
    n: u32,
}

impl BitCounts {
    fn new() -> BitCounts {
        BitCounts {
            lanes: [0; 8],
            pending: 0,
            counts: [0; 64],
            n: 0,
        }
    }

    #[inline]
    fn add(&mut self, h: u64) {
        for (j, lane) in self.lanes.iter_mut().enumerate() {
            *lane += SPREAD[(h >> (8 * j)) as usize & 0xff];
        }
        self.pending += 1;
        self.n += 1;
        if self.pending == 255 {
            self.flush();
        }
    }

    fn flush(&mut self) {
        for (j, lane) in self.lanes.iter_mut().enumerate() {
            for i in 0..8 {
                self.counts[8 * j + i] += ((*lane >> (8 * i)) & 0xff) as u32;
            }
            *lane = 0;
        }
        self.pending = 0;
    }

    /// Bits set in more than half of the hashes.
    fn majority(mut self) -> u64 {
        self.flush();
        let n = self.n;
        self.counts.iter().enumerate().fold(
            0u64,
            |v, (bit, &c)| if 2 * c > n { v | 1 << bit } else { v },
        )
    }
}

/// Per-byte hashing codes of `bytes`: the byte in the low 8 bits, [`WORD_START`] if a word
/// starts at it and [`WORD_END`] if a word ends with it. Words are maximal runs of word
/// characters: ASCII letters and digits and every non-ASCII character except those encoded
/// E2 80 xx or E2 81 xx, U+2000–U+207F (the general-punctuation block: dashes, quotes, …,
/// and the first superscripts). Each byte is classified from itself and its neighbours
/// without branches, so the compiler vectorizes these loops.
fn hash_codes(bytes: &[u8]) -> Vec<u16> {
    let n = bytes.len();
    // `punct[i + 2]`: a general-punctuation character starts at byte `i` (shifted by two so
    // that its second and third bytes find it at `punct[i + 1]` and `punct[i]`).
    let mut punct = vec![0u8; n + 2];
    for (p, (&b0, &b1)) in punct[2..]
        .iter_mut()
        .zip(bytes.iter().zip(bytes.get(1..).unwrap_or_default()))
    {
        *p = u8::from((b0 == 0xE2) & (b1 & 0xFE == 0x80));
    }
    // `word[i + 1]`: byte `i` belongs to a word (0 before the first and after the last byte).
    let mut word = vec![0u8; n + 2];
    for ((w, &b), p) in word[1..].iter_mut().zip(bytes).zip(punct.windows(3)) {
        let alpha = (b | 0x20).wrapping_sub(b'a') < 26;
        let digit = b.wrapping_sub(b'0') < 10;
        let ascii = b < 0x80;
        let in_punct = (p[0] | p[1] | p[2]) != 0;
        *w = u8::from(ascii & (alpha | digit)) | u8::from(!ascii & !in_punct);
    }
    let mut codes = vec![0u16; n];
    for ((c, &b), w) in codes.iter_mut().zip(bytes).zip(word.windows(3)) {
        let (prev, this, next) = (w[0] != 0, w[1] != 0, w[2] != 0);
        *c = u16::from(b)
            | (u16::from(this & !prev) * WORD_START)
            | (u16::from(this & !next) * WORD_END);
    }
    codes
}

/// Hashing code flag: a word starts at this byte.
const WORD_START: u16 = 0x100;
/// Hashing code flag: a word ends with this byte.
const WORD_END: u16 = 0x200;

/// Number of interleaved hashing lanes: FNV-1a is one serial multiply chain per word, so
/// hashing several stretches of text in lockstep keeps the multiplier busy.
const LANES: usize = 4;

/// One FNV-1a step of a lane over the byte with hashing code `code` (see [`hash_codes`]):
/// extends the lane's hash (restarted at a word start) and, when the word ends here, keeps it
/// as the lane's next word hash at `out[*n]` (written every step, kept only at word ends).
#[inline(always)]
fn lane_step(code: u16, h: &mut u64, out: &mut [u64], n: &mut usize) {
    let start = if code & WORD_START != 0 {
        FNV_OFFSET
    } else {
        *h
    };
    *h = fnv_step(start, code as u8);
    out[*n] = *h;
    *n += usize::from(code & WORD_END != 0);
}

/// FNV-1a hashes of the words of `bytes` (see [`hash_codes`]), in text order.
fn word_hashes(bytes: &[u8]) -> Vec<u64> {
    let len = bytes.len();
    let codes = hash_codes(bytes);
    // Cut the text into lanes just after word ends, so that no word straddles two lanes.
    let mut cuts = [len; LANES + 1];
    cuts[0] = 0;
    for k in 1..LANES {
        let mut c = (len * k / LANES).max(cuts[k - 1]);
        while c < len && c > 0 && codes[c - 1] & WORD_END == 0 {
            c += 1;
        }
        cuts[k] = c;
    }
    // Each lane writes its word hashes into its own region of `out`: a lane of `l` bytes has
    // at most `l / 2 + 1` words, and one more slot takes the write after its last word.
    let mut base = [0usize; LANES];
    let mut total = 0;
    for k in 0..LANES {
        base[k] = total;
        total += (cuts[k + 1] - cuts[k]) / 2 + 2;
    }
    let mut out = vec![0u64; total];
    let mut h = [FNV_OFFSET; LANES];
    let mut n = base;
    let common = (0..LANES).map(|k| cuts[k + 1] - cuts[k]).min().unwrap_or(0);
    let lanes: [&[u16]; LANES] = std::array::from_fn(|k| &codes[cuts[k]..cuts[k + 1]]);
    for step in 0..common {
        for ((lane, h), n) in lanes.iter().zip(&mut h).zip(&mut n) {
            lane_step(lane[step], h, &mut out, n);
        }
    }
    for ((lane, h), n) in lanes.iter().zip(&mut h).zip(&mut n) {
        for &code in &lane[common..] {
            lane_step(code, h, &mut out, n);
        }
    }
    // Compact the lanes' regions into one ordered list.
    let mut end = 0;
    for k in 0..LANES {
        out.copy_within(base[k]..n[k], end);
        end += n[k] - base[k];
    }
    out.truncate(end);
    out
}

/// SimHash over word 3-shingles (a shingle's hash combines its three word hashes, see
/// [`word_hashes`]; texts of fewer than three words use the word hashes themselves).
pub fn simhash(text: &str) -> u64 {
    let hashes = word_hashes(text.as_bytes());
    let mut counts = BitCounts::new();
    if hashes.len() >= 3 {
        for w in hashes.windows(3) {
            counts.add(mix(w[0] ^ w[1].rotate_left(21) ^ w[2].rotate_left(42)));
        }
    } else {
        for h in &hashes {
            counts.add(mix(*h));
        }
    }
    counts.majority()
}

/// Number of differing bits between two SimHashes.
#[cfg(test)]
fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_duplicates_are_close_and_different_texts_far() {
        let a = "שרי החוץ נפגשו היום בירושלים כדי לדון בהסכם החדש בין המדינות, כך נמסר מלשכת ראש הממשלה. \
                 לדברי גורמים מדיניים, השיחות התקיימו באווירה טובה ויימשכו גם בשבוע הבא בבירה.";
        let b = a.replace("בשבוע הבא", "בחודש הבא");
        let c = "The central bank raised interest rates by a quarter point on Tuesday, citing inflation \
                 that has stayed above target for most of the year, and signalled more to come.";
        let (ha, hb, hc) = (simhash(a), simhash(&b), simhash(c));
        assert!(
            hamming(ha, hb) < hamming(ha, hc),
            "{} vs {}",
            hamming(ha, hb),
            hamming(ha, hc)
        );
        assert!(hamming(ha, hb) <= 12);
        assert!(hamming(ha, hc) >= 16);
    }

    #[test]
    fn bit_counts_match_a_naive_count_past_the_flush_point() {
        let mut c = BitCounts::new();
        let mut naive = [0u32; 64];
        let mut x = 0x1234_5678u64;
        for _ in 0..1000 {
            x = mix(x);
            c.add(x);
            for (b, n) in naive.iter_mut().enumerate() {
                *n += (x >> b & 1) as u32;
            }
        }
        let want = naive
            .iter()
            .enumerate()
            .fold(0u64, |v, (b, &k)| if 2 * k > 1000 { v | 1 << b } else { v });
        assert_eq!(c.majority(), want);
    }

    /// The definition of [`simhash`], one byte at a time: a byte is a word byte if it is an
    /// ASCII letter or digit, or belongs to a non-ASCII character outside U+2000–U+207F.
    fn reference_simhash(text: &str) -> u64 {
        let mut words = Vec::new();
        let mut current: Option<u64> = None;
        for c in text.chars() {
            let word = if c.is_ascii() {
                c.is_ascii_alphanumeric()
            } else {
                !('\u{2000}'..='\u{207F}').contains(&c)
            };
            if word {
                let mut buf = [0u8; 4];
                let mut h = current.unwrap_or(FNV_OFFSET);
                for &b in c.encode_utf8(&mut buf).as_bytes() {
                    h = fnv_step(h, b);
                }
                current = Some(h);
            } else if let Some(h) = current.take() {
                words.push(h);
            }
        }
        words.extend(current);
        let mut counts = BitCounts::new();
        if words.len() >= 3 {
            for w in words.windows(3) {
                counts.add(mix(w[0] ^ w[1].rotate_left(21) ^ w[2].rotate_left(42)));
            }
        } else {
            words.iter().for_each(|h| counts.add(mix(*h)));
        }
        counts.majority()
    }

    #[test]
    fn lane_hashing_matches_the_reference_definition() {
        let pieces = [
            "שלום",
            "ab",
            "Z9",
            " ",
            "  ",
            ".",
            "\u{2014}",
            "\u{201D}",
            "\u{2060}",
            "\u{2070}",
            "é",
            "😀",
            "\n\n",
            "x",
            "1,000",
            "ארה\"ב",
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..400 {
            let mut text = String::new();
            for _ in 0..len % 97 {
                x = mix(x);
                text.push_str(pieces[(x % pieces.len() as u64) as usize]);
            }
            assert_eq!(simhash(&text), reference_simhash(&text), "{text:?}");
        }
        for text in ["", "a", "a b", "\u{2014}", "שלום עולם", "one two three"] {
            assert_eq!(simhash(text), reference_simhash(text), "{text:?}");
        }
    }

    #[test]
    fn exact_hash_is_stable_and_sensitive() {
        let f = Fingerprint::of("t", "body");
        assert_eq!(f, Fingerprint::of("t", "body"));
        assert_ne!(f.content_hash, Fingerprint::of("t", "body.").content_hash);
        assert!(f.content_hash.starts_with("blake3:") && f.content_hash.len() == 7 + 64);
        assert_eq!(f.simhash.len(), 16);
        assert_eq!(Fingerprint::of("x", "y").simhash_bits(), simhash("y"));
    }
}
