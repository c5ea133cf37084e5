#!/usr/bin/env python3
"""Metric names used by the alerts and the dashboard, checked against what newsflow exposes.

  python3 deploy/metric_names.py --list                 names used, one per line
  python3 deploy/metric_names.py --check-static         against the documented list below
  python3 deploy/metric_names.py --check-url URL        against a live /metrics (Prometheus text)
  python3 deploy/metric_names.py --check-file FILE      against a saved /metrics scrape

Sources: every `expr` in deploy/prometheus/alerts.yml, every target `expr` and templating
query in deploy/grafana/newsflow.json. `up` (Prometheus' own) is always allowed. A live check
compares sample names exactly (a histogram exposes NAME_bucket, NAME_sum and NAME_count).
Exit 1 when a used name is not exposed.
"""
import json
import os
import re
import sys
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALERTS = os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "newsflow.json")

# What the service documents (README "Metrics"); the live check is the authority.
COUNTERS_GAUGES = [
    "newsflow_consumed_total", "newsflow_consumed_bytes_total", "newsflow_produced_total",
    "newsflow_dead_lettered_total", "newsflow_produce_retries_total", "newsflow_commits_total",
    "newsflow_duplicates_total", "newsflow_in_flight", "newsflow_consumer_lag",
    "newsflow_entities_total", "newsflow_ready", "newsflow_build_info",
    "newsflow_watchlist_hits_total", "newsflow_watchlist_entries",
    "newsflow_watchlist_reload_errors_total", "newsflow_alerts_total",
    "newsflow_transactions_total", "newsflow_transaction_retries_total",
    "newsflow_kafka_request_retries_total", "newsflow_kafka_request_errors_total",
    "newsflow_kafka_request_timeouts_total", "newsflow_kafka_broker_rtt_seconds",
    "newsflow_assigned_partitions", "newsflow_topic_partitions",
    "newsflow_input_offset_gaps_total", "newsflow_rebalances_total",
    "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds",
    "process_start_time_seconds", "process_virtual_memory_bytes", "process_max_fds",
]
HISTOGRAMS = ["newsflow_stage_duration_seconds", "newsflow_end_to_end_latency_seconds"]
FROM_PROMETHEUS = {"up"}

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
            "unless", "offset", "atan2", "inf", "nan", "le"}


def documented():
    names = set(COUNTERS_GAUGES)
    for h in HISTOGRAMS:
        names |= {h + "_bucket", h + "_sum", h + "_count"}
    return names


def names_in(expr):
    found = set(re.findall(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)", expr))
    e = re.sub(r"label_values\([^)]*\)", " ", expr)
    e = re.sub(r'"(?:[^"\\]|\\.)*"', " ", e)              # strings
    e = re.sub(r"\{[^}]*\}", " ", e)                       # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)                      # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\$\{?[a-zA-Z_]\w*\}?", " ", e)            # Grafana variables
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", e):
        name, call = m.group(1), m.group(2)
        if call or name.lower() in KEYWORDS:
            continue
        found.add(name)
    return found


def used():
    """{metric name: [where it is used]}"""
    out = {}
    with open(ALERTS) as f:
        rules = yaml.safe_load(f)
    for g in rules["groups"]:
        for r in g["rules"]:
            for n in names_in(r["expr"]):
                out.setdefault(n, []).append(f"alert {r.get('alert') or r.get('record')}")
    with open(DASHBOARD) as f:
        dash = json.load(f)

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                for n in names_in(t.get("expr", "")):
                    out.setdefault(n, []).append(f"panel {p.get('title')!r}")
            walk(p.get("panels", []))

    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        if v.get("type") == "query":
            for n in names_in(q):
                out.setdefault(n, []).append(f"variable ${v['name']}")
    return out


def exposed_from_text(text):
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, 1)[0])
    return names


def main(argv):
    mode = argv[1] if len(argv) > 1 else "--list"
    u = used()
    if mode == "--list":
        print("\n".join(sorted(u)))
        return 0
    if mode == "--check-static":
        exposed, what = documented(), "the documented metrics"
    elif mode == "--check-url":
        with urllib.request.urlopen(argv[2], timeout=10) as r:
            exposed, what = exposed_from_text(r.read().decode()), argv[2]
    elif mode == "--check-file":
        with open(argv[2]) as f:
            exposed, what = exposed_from_text(f.read()), argv[2]
    else:
        print(__doc__)
        return 2
    missing = {n: w for n, w in u.items() if n not in exposed and n not in FROM_PROMETHEUS}
    for n, where in sorted(missing.items()):
        print(f"not exposed by newsflow ({what}): {n} used by {', '.join(sorted(set(where)))}")
    print(f"{len(u)} metric names used by the alerts and the dashboard, "
          f"{len(missing)} missing from {what}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
