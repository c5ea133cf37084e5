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
        let mut h = blake3::Hasher::new();
        h.update(title.as_bytes());
        h.update(b"\n\n");
        h.update(body.as_bytes());
        let digest = h.finalize();
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

/// FNV-1a over bytes, finished with a SplitMix64 mix (fast, well spread, stable across builds).
fn hash_bytes(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x20;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for &b in p.as_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// SimHash over word 3-shingles (words are maximal alphanumeric runs, lowercased ASCII).
pub fn simhash(text: &str) -> u64 {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut acc = [0i32; 64];
    let mut add = |h: u64| {
        for (bit, slot) in acc.iter_mut().enumerate() {
            if h >> bit & 1 == 1 {
                *slot += 1;
            } else {
                *slot -= 1;
            }
        }
    };
    if words.len() < 3 {
        for w in &words {
            add(hash_bytes(&[w]));
        }
    } else {
        for win in words.windows(3) {
            add(hash_bytes(win));
        }
    }
    acc.iter()
        .enumerate()
        .fold(0u64, |v, (bit, &n)| if n > 0 { v | 1 << bit } else { v })
}

/// Number of differing bits between two SimHashes.
pub fn hamming(a: u64, b: u64) -> u32 {
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
    fn exact_hash_is_stable_and_sensitive() {
        let f = Fingerprint::of("t", "body");
        assert_eq!(f, Fingerprint::of("t", "body"));
        assert_ne!(f.content_hash, Fingerprint::of("t", "body.").content_hash);
        assert!(f.content_hash.starts_with("blake3:") && f.content_hash.len() == 7 + 64);
        assert_eq!(f.simhash.len(), 16);
        assert_eq!(Fingerprint::of("x", "y").simhash_bits(), simhash("y"));
    }
}
