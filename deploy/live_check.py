#!/usr/bin/env python3
"""Run the alerts and the dashboard's queries in a real Prometheus against a live newsflow.

  python3 deploy/live_check.py NEWSFLOW_BINARY [PROMETHEUS_BINARY]

Starts `newsflow demo --serve` (embedded broker, the samples) and a Prometheus (Debian's
`prometheus` package) that scrapes it every second as job "newsflow" with
deploy/prometheus/alerts.yml loaded, both on 127.0.0.1 ephemeral ports. Then checks that:
- every metric name the alerts and the dashboard use is in the scrape (deploy/metric_names.py);
- Prometheus loaded every rule and evaluates each one without error (rule health "ok");
- every dashboard query (Grafana variables replaced: $job/$instance -> .*,
  $__rate_interval -> 1m) runs without error and returns data, and no alert fires on the
  healthy demo except the ones listed in EXPECTED_FIRING.
Stops both processes; exit 1 on any failure.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metric_names  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Firing (past "for") is impossible within the seconds this runs; rules with no "for" could:
# none of them should fire on a healthy demo.
EXPECTED_FIRING = set()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def query(prom, expr):
    url = f"http://{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        return json.loads(get(url))
    except urllib.error.HTTPError as e:
        return json.loads(e.read().decode())


def main():
    binary = sys.argv[1]
    prom_bin = sys.argv[2] if len(sys.argv) > 2 else shutil.which("prometheus")
    if not prom_bin:
        print("prometheus binary not found (apt-get install prometheus)")
        return 1
    tmp = tempfile.mkdtemp(prefix="newsflow-live-")
    nf_port, prom_port = free_port(), free_port()
    prom = f"127.0.0.1:{prom_port}"
    rules = os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")
    with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{rules}"]
scrape_configs:
  - job_name: newsflow
    static_configs:
      - targets: ["127.0.0.1:{nf_port}"]
""")
    procs = []
    failures = []
    try:
        procs.append(subprocess.Popen([binary, "demo", "--serve", "--listen", f"127.0.0.1:{nf_port}"],
                                      stdout=open(os.path.join(tmp, "demo.log"), "w"), stderr=subprocess.STDOUT))
        procs.append(subprocess.Popen([prom_bin, f"--config.file={tmp}/prometheus.yml", f"--storage.tsdb.path={tmp}/data",
                                       f"--web.listen-address={prom}", "--log.level=warn"],
                                      stdout=open(os.path.join(tmp, "prometheus.log"), "w"), stderr=subprocess.STDOUT))
        # Wait for the scrape to hold every metric the alerts/dashboard use (lag comes with
        # the first librdkafka statistics) and for a few samples for rate().
        used = metric_names.used()
        deadline = time.time() + 60
        missing = set(used)
        while time.time() < deadline:
            time.sleep(1)
            if any(p.poll() is not None for p in procs):
                break
            try:
                r = query(prom, 'count by (__name__) ({job="newsflow"})')
            except OSError:
                continue
            have = {s["metric"]["__name__"] for s in r.get("data", {}).get("result", [])} | {"up"}
            missing = set(used) - have
            if not missing:
                break
        time.sleep(6)  # a few more scrapes so that rate() over the data has >= 2 samples
        if missing:
            failures.append(f"never scraped: {sorted(missing)}")
        print(f"ok   scrape has all {len(used)} metric names the alerts and dashboard use" if not missing else f"FAIL scrape lacks {sorted(missing)}")

        groups = json.loads(get(f"http://{prom}/api/v1/rules"))["data"]["groups"]
        loaded = [r for g in groups for r in g["rules"]]
        bad = [f"{r['name']}: {r.get('lastError')}" for r in loaded if r.get("health") != "ok"]
        n_expected = sum(1 for _ in open(rules) if re.match(r"\s*- alert:", _))
        if len(loaded) != n_expected or bad:
            failures.append(f"rules: {len(loaded)}/{n_expected} loaded, unhealthy: {bad}")
        print(f"{'ok  ' if len(loaded) == n_expected and not bad else 'FAIL'} Prometheus {len(loaded)}/{n_expected} rules loaded and evaluated without error")
        firing = {a["labels"]["alertname"] for a in json.loads(get(f"http://{prom}/api/v1/alerts"))["data"]["alerts"] if a["state"] == "firing"}
        if firing - EXPECTED_FIRING:
            failures.append(f"alerts firing on a healthy demo: {sorted(firing)}")
        print(f"{'ok  ' if not firing - EXPECTED_FIRING else 'FAIL'} no alert firing on the healthy demo {sorted(firing) or ''}")

        with open(os.path.join(ROOT, "deploy", "grafana", "newsflow.json")) as f:
            dash = json.load(f)
        n = 0
        for p in dash["panels"]:
            for t in p.get("targets", []):
                expr = t["expr"]
                expr = re.sub(r"\$\{?(job|instance)\}?", ".*", expr).replace("$__rate_interval", "1m")
                r = query(prom, expr)
                n += 1
                if r.get("status") != "success":
                    failures.append(f"panel {p['title']!r}: {r.get('error')}")
                    print(f"FAIL panel {p['title']!r} [{t['refId']}]: {r.get('error')}")
                elif not r["data"]["result"]:
                    failures.append(f"panel {p['title']!r} [{t['refId']}] returns no data")
                    print(f"FAIL panel {p['title']!r} [{t['refId']}] returns no data: {expr}")
        print(f"{'ok  ' if not any(f.startswith('panel') for f in failures) else 'FAIL'} {n} dashboard queries run in Prometheus and return data")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if failures:
            for name in ("demo.log", "prometheus.log"):
                print(f"--- {name} (last lines)")
                with open(os.path.join(tmp, name)) as f:
                    print("".join(f.readlines()[-10:]))
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
