#!/usr/bin/env python3
"""Validate the Kubernetes manifests of deploy/k8s offline.

  python3 deploy/k8s/validate.py [RENDERED.yaml]

RENDERED.yaml is the output of `kubectl kustomize deploy/k8s` (deploy/check.sh passes it when
kubectl is there); without it, the resources listed in kustomization.yaml are read directly.
secret.example.yaml is validated as well.

- Core kinds (ConfigMap, Deployment, Service, PodDisruptionBudget, Secret): the Kubernetes
  OpenAPI schemas shipped by kubernetes-validate, strict (unknown fields are errors), for the
  oldest and newest Kubernetes versions in KUBE_VERSIONS.
- CRDs (ServiceMonitor, ScaledObject, TriggerAuthentication): the JSON schemas in schemas/,
  hand-written subsets of the upstream CRDs that reject any field they do not know.
- Consistency between the manifests: selectors match the pod labels, ports and probe paths,
  the grace period is longer than the shutdown deadline in the ConfigMap's newsflow.toml,
  the Secret keys referenced exist in secret.example.yaml, the ScaledObject targets the
  Deployment, group and topic of the config, ...
Prints one line per check; exits 1 on any failure.
"""
import json
import os
import sys
import tomllib

import jsonschema
import kubernetes_validate
import referencing
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
KUBE_VERSIONS = ["1.29.0", "1.37.0"]
CORE_KINDS = {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "Secret"}
CRD_SCHEMAS = {
    "ServiceMonitor": "servicemonitor.schema.json",
    "ScaledObject": "scaledobject.schema.json",
    "TriggerAuthentication": "triggerauthentication.schema.json",
}

failures = 0


def report(ok, what, detail=""):
    global failures
    if not ok:
        failures += 1
    print(f"{'ok  ' if ok else 'FAIL'} {what}{(': ' + detail) if detail else ''}")


def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def main():
    if len(sys.argv) > 1:
        docs = load_docs(sys.argv[1])
        origin = "kustomize output"
    else:
        with open(os.path.join(HERE, "kustomization.yaml")) as f:
            kust = yaml.safe_load(f)
        docs = []
        for r in kust["resources"]:
            docs += load_docs(os.path.join(HERE, r))
        origin = "kustomization resources"
    example_secret = load_docs(os.path.join(HERE, "secret.example.yaml"))

    schemas = {}
    for name in CRD_SCHEMAS.values():
        with open(os.path.join(HERE, "schemas", name)) as f:
            schemas[name] = json.load(f)
    registry = referencing.Registry().with_resources(
        (name, referencing.Resource.from_contents(s)) for name, s in schemas.items()
    )

    for doc in docs + example_secret:
        kind = doc.get("kind")
        ident = f"{kind}/{doc.get('metadata', {}).get('name')}"
        if kind in CORE_KINDS:
            for v in KUBE_VERSIONS:
                try:
                    kubernetes_validate.validate(doc, v, strict=True)
                    report(True, f"{ident} against Kubernetes {v} schema (strict)")
                except kubernetes_validate.ValidationError as e:
                    report(False, f"{ident} against Kubernetes {v} schema (strict)", e.message)
        elif kind in CRD_SCHEMAS:
            schema = schemas[CRD_SCHEMAS[kind]]
            validator = jsonschema.Draft202012Validator(schema, registry=registry)
            errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
            report(
                not errors,
                f"{ident} against schemas/{CRD_SCHEMAS[kind]}",
                "; ".join(f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors),
            )
        else:
            report(False, ident, "no schema for this kind: add one to deploy/k8s/validate.py")

    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    expected = {"ConfigMap", "Deployment", "Service", "ServiceMonitor", "PodDisruptionBudget",
                "ScaledObject", "TriggerAuthentication"}
    report(expected <= set(by_kind), f"{origin} has every kind", ", ".join(sorted(expected - set(by_kind))))
    if not expected <= set(by_kind):
        return
    dep = by_kind["Deployment"][0]
    cm = by_kind["ConfigMap"][0]
    svc = by_kind["Service"][0]
    sm = by_kind["ServiceMonitor"][0]
    pdb = by_kind["PodDisruptionBudget"][0]
    so = by_kind["ScaledObject"][0]
    ta = by_kind["TriggerAuthentication"][0]
    pod = dep["spec"]["template"]
    labels = pod["metadata"]["labels"]
    c = pod["spec"]["containers"][0]

    def matches(sel):
        return all(labels.get(k) == v for k, v in sel.items())

    try:
        conf = tomllib.loads(cm["data"]["newsflow.toml"])
        report(True, "ConfigMap newsflow.toml parses as TOML")
    except (KeyError, tomllib.TOMLDecodeError) as e:
        report(False, "ConfigMap newsflow.toml parses as TOML", str(e))
        return
    shutdown_s = conf.get("pipeline", {}).get("shutdown_timeout_ms", 20000) / 1000
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    report(grace > shutdown_s + 5, f"terminationGracePeriodSeconds {grace} > shutdown deadline {shutdown_s:g} s + 5 s margin")
    report(dep["spec"].get("replicas") is None, "Deployment leaves replicas to the ScaledObject")
    report(dep["spec"]["selector"]["matchLabels"].items() <= labels.items(), "Deployment selector matches its pod labels")
    report(matches(svc["spec"]["selector"]), "Service selector matches the pod labels")
    report(matches(pdb["spec"]["selector"]["matchLabels"]), "PodDisruptionBudget selector matches the pod labels")
    report(sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"].get("labels", {}).items(),
           "ServiceMonitor selector matches the Service labels")
    port_names = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    listen_port = int(conf.get("http", {}).get("listen", "0.0.0.0:9464").rsplit(":", 1)[1])
    report(port_names.get("metrics") == listen_port, f"container port 'metrics' is http.listen's port {listen_port}")
    svc_ports = {p["name"] for p in svc["spec"]["ports"]}
    report(all(e.get("port") in svc_ports for e in sm["spec"]["endpoints"]), "ServiceMonitor endpoints use a Service port name")
    report(all(e.get("path", "/metrics") == "/metrics" for e in sm["spec"]["endpoints"]), "ServiceMonitor scrapes /metrics")
    report(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", "livenessProbe is /healthz")
    report(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", "readinessProbe is /readyz")
    res = c.get("resources", {})
    report(all(k in res.get("requests", {}) for k in ("cpu", "memory")) and "memory" in res.get("limits", {}),
           "container has cpu/memory requests and a memory limit")
    psc, csc = pod["spec"].get("securityContext", {}), c.get("securityContext", {})
    report((psc.get("runAsNonRoot") or csc.get("runAsNonRoot")) and csc.get("readOnlyRootFilesystem") is True
           and csc.get("allowPrivilegeEscalation") is False, "non-root, read-only root filesystem, no privilege escalation")
    report("podAntiAffinity" in pod["spec"].get("affinity", {}), "pod anti-affinity is set")
    secret_keys = set()
    for s in example_secret:
        secret_keys |= set(s.get("stringData", {})) | set(s.get("data", {}))
    secret_name = example_secret[0]["metadata"]["name"]
    env = {e["name"]: e for e in c.get("env", [])}
    pw = env.get("NEWSFLOW_KAFKA__PROPERTIES__SASL_PASSWORD", {}).get("valueFrom", {}).get("secretKeyRef")
    report(bool(pw) and pw["name"] == secret_name and pw["key"] in secret_keys,
           "SASL password comes from a secretKeyRef on the example Secret's keys")
    refs = [e["valueFrom"]["secretKeyRef"] for e in env.values() if "secretKeyRef" in e.get("valueFrom", {})]
    refs += ta["spec"].get("secretTargetRef", [])
    bad = [f"{r['name']}/{r['key']}" for r in refs if r["name"] != secret_name or r["key"] not in secret_keys]
    report(not bad, "every Secret key referenced exists in secret.example.yaml", ", ".join(bad))
    report("sasl.password" not in conf.get("kafka", {}).get("properties", {}), "no password in the ConfigMap")
    report(so["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"], "ScaledObject targets the Deployment")
    trig = so["spec"]["triggers"][0]
    k = conf["kafka"]
    report(trig["type"] == "kafka" and trig["metadata"]["consumerGroup"] == k.get("group_id")
           and trig["metadata"]["topic"] == k.get("input_topic"),
           f"KEDA kafka trigger watches group {k.get('group_id')!r} on topic {k.get('input_topic')!r}")
    report(trig["metadata"]["bootstrapServers"] == k.get("brokers"), "KEDA trigger uses the config's brokers")
    report(trig.get("authenticationRef", {}).get("name") == ta["metadata"]["name"], "KEDA trigger uses the TriggerAuthentication")
    report(trig["metadata"].get("allowIdleConsumers", "false") == "false", "KEDA never scales past the partition count")


if __name__ == "__main__":
    main()
    sys.exit(1 if failures else 0)
