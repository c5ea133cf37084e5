#!/usr/bin/env python3
"""Structural checks of the deploy/ files that no off-the-shelf tool does; run by deploy/check.sh.

  python3 deploy/checks.py dockerfile | alerts | compose | dashboard
Prints what it checked; exits 1 with the reasons on failure.
"""
import fnmatch
import json
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
problems = []
notes = []


def need(cond, what):
    (notes if cond else problems).append(what)


def read(*p):
    with open(os.path.join(ROOT, *p)) as f:
        return f.read()


def dockerfile():
    text = read("deploy", "Dockerfile")
    lines = [l.strip() for l in re.sub(r"\\\n", " ", text).splitlines() if l.strip() and not l.strip().startswith("#")]
    froms = [l for l in lines if l.upper().startswith("FROM ")]
    need(len(froms) >= 2 and all(re.search(r"\sAS\s+\w", l, re.I) for l in froms[:-1]), "multi-stage build (named stages)")
    need(any("--from=" in l for l in lines if l.upper().startswith("COPY")), "runtime stage copies the binary from the builder")
    need(re.search(r"debian:\$\{DEBIAN_RELEASE\}-slim|debian:[\w.]+-slim", froms[-1]) is not None, "runtime image is debian-slim")
    users = [l.split(None, 1)[1] for l in lines if l.upper().startswith("USER ")]
    need(bool(users) and users[-1].split(":")[0] not in ("root", "0"), "final USER is not root")
    need(any(l.upper().startswith("HEALTHCHECK ") and "/healthz" in l for l in lines), "HEALTHCHECK on /healthz")
    need(any(re.fullmatch(r"STOPSIGNAL\s+SIGTERM", l, re.I) for l in lines), "STOPSIGNAL SIGTERM")
    need(any(re.match(r"COPY\s+config/newsflow\.toml\s+/etc/newsflow/newsflow\.toml$", l) for l in lines), "config/newsflow.toml copied to /etc/newsflow")
    need(any(re.match(r"COPY\s+models/?\s+/usr/share/newsflow/models/?$", l) for l in lines), "models/ copied to /usr/share/newsflow/models")
    need(any("cargo build --release --locked" in l for l in lines), "cargo build --release --locked")
    need(any(l.startswith("ENV NEWSFLOW_CONFIG=/etc/newsflow/newsflow.toml") for l in lines), "NEWSFLOW_CONFIG points at the config")
    need(any(l.upper().startswith("EXPOSE") and "9464" in l for l in lines), "EXPOSE 9464")
    # .dockerignore: excludes the heavy/irrelevant parts, keeps what the build reads.
    patterns = [p.strip() for p in read(".dockerignore").splitlines() if p.strip() and not p.startswith("#")]

    def ignored(path):
        result = False
        for p in patterns:
            neg = p.startswith("!")
            pat = p[1:] if neg else p
            if fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat.lstrip("*/")) or path.startswith(pat.rstrip("/") + "/"):
                result = not neg
        return result

    for p in ("target", ".git"):
        need(ignored(p), f".dockerignore excludes {p}")
    for p in ("Cargo.toml", "Cargo.lock", "src", "config", "models", "samples", "schema"):
        if os.path.exists(os.path.join(ROOT, p)):
            need(not ignored(p), f"build context keeps {p}")


def alerts():
    rules = yaml.safe_load(read("deploy", "prometheus", "alerts.yml"))
    tests = yaml.safe_load(read("deploy", "prometheus", "alerts_test.yml"))
    runbook = read("docs", "runbook.md")
    anchors = {re.sub(r"[^a-z0-9 _-]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#+\s+(.*)$", runbook, re.M)}
    fired, quiet = {}, {}
    for t in tests["tests"]:
        for a in t.get("alert_rule_test", []):
            (fired if a.get("exp_alerts") else quiet).setdefault(a["alertname"], []).append(t["name"])
    names = []
    for g in rules["groups"]:
        for r in g["rules"]:
            if "alert" not in r:
                continue
            n = r["alert"]
            names.append(n)
            need(n in fired, f"{n}: a unit test makes it fire")
            need(n in quiet, f"{n}: a unit test where it must not fire")
            need(r.get("labels", {}).get("severity") in ("critical", "warning", "info"), f"{n}: severity label")
            for k in ("summary", "description", "runbook_url"):
                need(k in r.get("annotations", {}), f"{n}: {k} annotation")
            url = r.get("annotations", {}).get("runbook_url", "")
            need(url.endswith("#" + n.lower()), f"{n}: runbook_url anchor is #{n.lower()}")
            need(n.lower() in anchors, f"{n}: docs/runbook.md has a '{n}' section")
    need(len(names) == len(set(names)), "alert names are unique")
    unknown = (set(fired) | set(quiet)) - set(names)
    need(not unknown, f"tests name only existing alerts {sorted(unknown)}")
    notes.append(f"{len(names)} alerts")


def compose():
    base = os.path.join(ROOT, "deploy", "compose")
    c = yaml.safe_load(read("deploy", "compose", "docker-compose.yml"))
    services = c["services"]
    for s in ("kafka", "kafka-init", "newsflow", "scraper", "prometheus", "grafana"):
        need(s in services, f"service {s}")
    for name, s in services.items():
        for dep in (s.get("depends_on") or []):
            need(dep in services, f"{name} depends on existing service {dep}")
        for v in s.get("volumes", []):
            src = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
            if src.startswith("."):
                need(os.path.exists(os.path.normpath(os.path.join(base, src))), f"{name}: bind mount {src} exists")
        if "build" in s:
            b = s["build"]
            ctx = os.path.normpath(os.path.join(base, b.get("context", ".")))
            need(os.path.isfile(os.path.join(ctx, b.get("dockerfile", "Dockerfile"))), f"{name}: Dockerfile exists in the build context")
            need(ctx == ROOT, f"{name}: build context is the repository root")
    k = services["kafka"]
    need(k["image"].startswith("apache/kafka:"), "Kafka is the official apache/kafka image")
    need("controller" in k["environment"].get("KAFKA_PROCESS_ROLES", ""), "Kafka runs in KRaft mode (broker,controller)")
    need(services["kafka-init"]["depends_on"]["kafka"]["condition"] == "service_healthy", "topics are created once Kafka is healthy")
    n = services["newsflow"]
    env = n.get("environment", {})
    need(env.get("NEWSFLOW_KAFKA__BROKERS") == "kafka:9092", "newsflow: NEWSFLOW_KAFKA__BROKERS=kafka:9092")
    need(all(re.fullmatch(r"NEWSFLOW_[A-Z]+__[A-Z_]+", e) for e in env), "newsflow: env names are NEWSFLOW_<SECTION>__<KEY>")
    need(n["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully", "newsflow starts after the topics exist")
    g = n.get("stop_grace_period", "10s")
    need(int(g.rstrip("s")) > 20, f"newsflow: stop_grace_period {g} > 20 s shutdown deadline")
    topics = read("deploy", "compose", "kafka", "create-topics.sh")
    for t in ("articles.raw", "articles.enriched", "articles.dlq"):
        need(re.search(r"create " + re.escape(t) + r"\b", topics) is not None, f"topic {t} is created")
    prom = yaml.safe_load(read("deploy", "compose", "prometheus", "prometheus.yml"))
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    need("newsflow:9464" in jobs.get("newsflow", {}).get("static_configs", [{}])[0].get("targets", []), "Prometheus scrapes job newsflow at newsflow:9464")
    mounts = services["prometheus"]["volumes"]
    need(any(v.startswith("../prometheus/alerts.yml:/etc/prometheus/rules/") for v in mounts), "Prometheus loads deploy/prometheus/alerts.yml")
    need(any(r.startswith("/etc/prometheus/rules/") for r in prom.get("rule_files", [])), "prometheus.yml reads the mounted rules")
    gmounts = services["grafana"]["volumes"]
    dash_mount = [v.split(":")[1] for v in gmounts if v.startswith("../grafana:")]
    prov = yaml.safe_load(read("deploy", "compose", "grafana", "provisioning", "dashboards", "newsflow.yml"))
    need(bool(dash_mount) and prov["providers"][0]["options"]["path"] == dash_mount[0], "Grafana provisions the mounted deploy/grafana dashboards")
    ds = yaml.safe_load(read("deploy", "compose", "grafana", "provisioning", "datasources", "prometheus.yml"))
    need(ds["datasources"][0]["url"] == "http://prometheus:9090" and ds["datasources"][0]["type"] == "prometheus", "Grafana data source is the compose Prometheus")


def dashboard():
    d = json.loads(read("deploy", "grafana", "newsflow.json"))
    need(d.get("uid") == "newsflow" and d.get("title"), "uid and title")
    tvars = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    need(tvars.get("datasource", {}).get("type") == "datasource" and tvars["datasource"].get("query") == "prometheus", "templated Prometheus data source")
    panels = []

    def walk(ps):
        for p in ps:
            panels.append(p)
            walk(p.get("panels", []))

    walk(d["panels"])
    ids = [p["id"] for p in panels]
    need(len(ids) == len(set(ids)), "panel ids are unique")
    for p in panels:
        need("gridPos" in p, f"panel {p.get('title')!r} has a gridPos")
        if p["type"] == "row":
            continue
        need(p.get("datasource", {}).get("uid") == "${datasource}", f"panel {p.get('title')!r} uses ${{datasource}}")
        for t in p.get("targets", []):
            need(t.get("datasource", {}).get("uid") == "${datasource}", f"panel {p.get('title')!r} target uses ${{datasource}}")
            need(bool(t.get("expr")), f"panel {p.get('title')!r} target has an expr")
    exprs = " ".join(t.get("expr", "") for p in panels for t in p.get("targets", []))
    heatmaps = [p for p in panels if p["type"] == "heatmap"]
    need(len(heatmaps) >= 4 and all("newsflow_stage_duration_seconds_bucket" in p["targets"][0]["expr"] and p["targets"][0].get("format") == "heatmap" for p in heatmaps),
         "stage latency heatmaps (one per stage, heatmap format)")
    for stage in ("decode", "normalize", "tag", "encode"):
        need(any(f'stage="{stage}"' in p["targets"][0]["expr"] for p in heatmaps), f"heatmap for stage {stage}")
    for what, pat in [
        ("throughput in", r"rate\(newsflow_consumed_total"), ("throughput out", r"rate\(newsflow_produced_total"),
        ("DLQ by reason", r"sum by \(reason\) \(rate\(newsflow_dead_lettered_total"),
        ("lag per partition", r"by \(partition\) \(newsflow_consumer_lag"),
        ("e2e quantiles", r"histogram_quantile\(0\.99, sum by \(le\) \(rate\(newsflow_end_to_end_latency_seconds_bucket"),
        ("in-flight", r"newsflow_in_flight"), ("entities by type", r"sum by \(type\) \(rate\(newsflow_entities_total"),
        ("RSS", r"process_resident_memory_bytes"), ("CPU", r"rate\(process_cpu_seconds_total"),
    ]:
        need(re.search(pat, exprs) is not None, f"panel: {what}")
    notes.append(f"{len(panels)} panels")


def main():
    what = sys.argv[1]
    {"dockerfile": dockerfile, "alerts": alerts, "compose": compose, "dashboard": dashboard}[what]()
    if problems:
        for p in problems:
            print(f"missing: {p}")
        return 1
    print(f"{len(notes)} points checked ({'; '.join(n for n in notes if re.match(r'^[0-9]+ ', n)) or what})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
