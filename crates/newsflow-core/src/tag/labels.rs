//! BIOSE labels for the 13 entity types and the transition constraints between them,
//! shared by both tiers' decoders and by training.

use super::EntityType;

/// Number of entity types the model knows (all of [`EntityType::ALL`]).
pub const N_TYPES: usize = 13;
/// Number of labels: `O` plus B, I, E, S for every type.
pub const N_LABELS: usize = 1 + 4 * N_TYPES;
/// Label of `O`.
pub const O: u8 = 0;

/// Position part of a BIOSE label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pos {
    /// Outside.
    O,
    /// Begin.
    B,
    /// Inside.
    I,
    /// End.
    E,
    /// Single.
    S,
}

/// The label for a position and type.
pub fn label(pos: Pos, kind: EntityType) -> u8 {
    let t = kind as u8;
    match pos {
        Pos::O => O,
        Pos::B => 1 + 4 * t,
        Pos::I => 2 + 4 * t,
        Pos::E => 3 + 4 * t,
        Pos::S => 4 + 4 * t,
    }
}

/// Position and type of a label.
pub fn split_label(l: u8) -> (Pos, Option<EntityType>) {
    if l == O {
        return (Pos::O, None);
    }
    let t = usize::from((l - 1) / 4);
    let pos = match (l - 1) % 4 {
        0 => Pos::B,
        1 => Pos::I,
        2 => Pos::E,
        _ => Pos::S,
    };
    (pos, Some(EntityType::ALL[t]))
}

/// Parses a BIOSE tag such as `B-PER` or `O` into a position and a type name.
pub fn parse_tag(tag: &str) -> Option<(Pos, &str)> {
    if tag == "O" {
        return Some((Pos::O, ""));
    }
    let (p, t) = tag.split_once('-')?;
    let pos = match p {
        "B" => Pos::B,
        "I" => Pos::I,
        "E" => Pos::E,
        "S" => Pos::S,
        _ => return None,
    };
    Some((pos, t))
}

/// The BIOSE tag string of a label.
pub fn tag_string(l: u8) -> String {
    match split_label(l) {
        (Pos::O, _) | (_, None) => "O".to_string(),
        (p, Some(t)) => {
            let c = match p {
                Pos::B => 'B',
                Pos::I => 'I',
                Pos::E => 'E',
                _ => 'S',
            };
            format!("{c}-{}", t.as_str())
        }
    }
}

/// Whether label `cur` may follow `prev` (`None` = sentence start).
pub fn allowed(prev: Option<u8>, cur: u8) -> bool {
    let open = |l: u8| matches!(split_label(l).0, Pos::B | Pos::I);
    match prev {
        Some(p) if open(p) => {
            let (cp, ct) = split_label(cur);
            matches!(cp, Pos::I | Pos::E) && ct == split_label(p).1
        }
        _ => matches!(split_label(cur).0, Pos::O | Pos::B | Pos::S),
    }
}

/// Whether a sequence may end with `l`.
pub fn can_end(l: u8) -> bool {
    matches!(split_label(l).0, Pos::O | Pos::E | Pos::S)
}

/// The BIOSE constraints in the form the decoder uses, precomputed once.
#[derive(Debug, Clone)]
pub struct Constraints {
    /// Labels after which a new entity (or O) may start: O, E-*, S-*.
    pub(crate) closed: Vec<u8>,
    /// For every label: `None` if it follows closed labels (O, B-*, S-*), else the two
    /// labels it may follow (B-t, I-t).
    pub(crate) inside_prev: Vec<Option<[u8; 2]>>,
}

impl Default for Constraints {
    fn default() -> Self {
        let closed: Vec<u8> = (0..N_LABELS as u8).filter(|&l| can_end(l)).collect();
        let inside_prev = (0..N_LABELS as u8)
            .map(|cur| match split_label(cur) {
                (Pos::I | Pos::E, Some(t)) => Some([label(Pos::B, t), label(Pos::I, t)]),
                _ => None,
            })
            .collect();
        let c = Constraints {
            closed,
            inside_prev,
        };
        debug_assert!((0..N_LABELS as u8).all(|cur| (0..N_LABELS as u8).all(|p| {
            let via = match c.inside_prev[usize::from(cur)] {
                Some(ps) => ps.contains(&p),
                None => c.closed.contains(&p),
            };
            via == allowed(Some(p), cur)
        })));
        c
    }
}

/// The entities of a decoded (valid) label path: `(first, last, type)` token ranges, in
/// order. A B runs to the next E; S and a lone label make one-token spans.
pub fn path_spans(labels: &[u8]) -> impl Iterator<Item = (usize, usize, EntityType)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < labels.len() {
            let (pos, kind) = split_label(labels[i]);
            let Some(kind) = kind else {
                i += 1;
                continue;
            };
            let start = i;
            let mut end = i + 1;
            if pos == Pos::B {
                while end < labels.len() && split_label(labels[end - 1]).0 != Pos::E {
                    end += 1;
                }
            }
            i = end;
            return Some((start, end, kind));
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_spans_follow_b_to_e_and_s() {
        let (b, i, e, s) = (
            label(Pos::B, EntityType::ORG),
            label(Pos::I, EntityType::ORG),
            label(Pos::E, EntityType::ORG),
            label(Pos::S, EntityType::PER),
        );
        let got: Vec<_> = path_spans(&[O, b, i, e, s, O, s]).collect();
        assert_eq!(
            got,
            vec![
                (1, 4, EntityType::ORG),
                (4, 5, EntityType::PER),
                (6, 7, EntityType::PER)
            ]
        );
    }

    #[test]
    fn labels_round_trip() {
        for t in EntityType::ALL {
            for p in [Pos::B, Pos::I, Pos::E, Pos::S] {
                let l = label(p, t);
                assert_eq!(split_label(l), (p, Some(t)));
                let s = tag_string(l);
                let (pp, tt) = parse_tag(&s).unwrap();
                assert_eq!((pp, tt), (p, t.as_str()));
            }
        }
        assert_eq!(tag_string(O), "O");
        assert_eq!(N_LABELS, 53);
    }

    #[test]
    fn constraints_follow_biose() {
        let b = label(Pos::B, EntityType::PER);
        let e = label(Pos::E, EntityType::PER);
        let e_org = label(Pos::E, EntityType::ORG);
        assert!(allowed(None, b));
        assert!(!allowed(None, e));
        assert!(allowed(Some(b), e));
        assert!(!allowed(Some(b), e_org));
        assert!(!allowed(Some(b), O));
        assert!(allowed(Some(e), O));
        assert!(!can_end(b));
    }
}
