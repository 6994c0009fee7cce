#!/usr/bin/env python3
"""Checks of the Helm chart deploy/helm/weir that the linters do not make (issue 14).

    python tests/deploy/test_helm.py            # from the deploy venv (tests/deploy/helm.sh makes it)

The chart is rendered here (Helm's Go SDK, through tests/deploy/helm_chart.py) with the default
values and with each values file under tests/deploy/helm/, then:
  chart     - version == appVersion == the workspace version in Cargo.toml; values.schema.json
              is a valid draft-07 schema, declares every key of values.yaml and of the test
              values files, and accepts them;
  render    - per variant: namespaced resources only (no ClusterRole...), every pod and container
              locked down (non-root, read-only root filesystem, no privilege escalation, no
              capabilities, RuntimeDefault seccomp, requests and limits, pinned images), probes
              on the real health endpoints (/healthz, Jupyter's /api), writable paths mounted,
              no service account token but for the workflow pods, secrets as files, the
              NetworkPolicies (a default deny covering every pod of the release, allow rules never
              open to everyone), TLS on every Ingress, the SQLite / PostgreSQL shapes, NOTES.txt;
  argo      - the WorkflowTemplate against Argo Workflows' own API models (hera's pydantic models
              of Argo's OpenAPI spec; unknown fields are failures), its parameters and step;
  scripts   - the job service's start script run by /bin/sh with a stand-in `weir` (the token
              and store URL go from the Secret files to weir serve's environment); the git-sync
              script against a local repository with real git (clone, fast-forward, a conflicting
              local edit left alone, the loop and its heartbeat probe, the credential helper
              reading the mounted file without writing it).
Prints one line per failure and closes with 'helm: N passed, M failed'; exits 1 on any failure.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
from pathlib import Path
from typing import Any, Callable

import helm_python as helm
import jsonschema
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import helm_chart  # noqa: E402  (the same values merging as the CLI steps)

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "weir"
VALUES_DIR = REPO / "tests" / "deploy" / "helm"
NAMESPACE = "weir-test"
RELEASE = "weir"
FULL = RELEASE  # the chart's full name for the variant being checked (fullnameOverride)

passed = 0
failed = 0


def check(name: str, fn: Callable[[], None]) -> None:
    global passed, failed
    try:
        fn()
        passed += 1
    except AssertionError as e:
        failed += 1
        print(f"FAIL {name}: {e}")
    except Exception:  # noqa: BLE001 - a crash is a failure with its trace
        failed += 1
        print(f"FAIL {name}: crashed")
        traceback.print_exc()


def render(values: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    with helm.Chart.load(str(CHART)) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs = [yaml.safe_load(doc) for _, doc in helm_chart.documents(manifests)]
    notes = next((t for s, t in manifests.items() if s.endswith("NOTES.txt")), "")
    return docs, notes


# --- chart ------------------------------------------------------------------------------------

def workspace_version() -> str:
    cargo = tomllib.loads((REPO / "Cargo.toml").read_text())
    cli = tomllib.loads((REPO / "crates" / "weir-cli" / "Cargo.toml").read_text())
    v = cli["package"]["version"]
    return cargo["workspace"]["package"]["version"] if isinstance(v, dict) and v.get("workspace") else v


def check_versions() -> None:
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    want = workspace_version()
    assert meta["version"] == want, f"Chart.yaml version {meta['version']} != Cargo version {want}"
    assert str(meta["appVersion"]) == want, f"appVersion {meta['appVersion']} != Cargo version {want}"


SCHEMA = json.loads((CHART / "values.schema.json").read_text())


def resolve(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema node and what it references or combines (allOf, $ref, if/then)."""
    out, todo = [], [node]
    while todo:
        n = todo.pop()
        if not isinstance(n, dict):
            continue
        if "$ref" in n:
            target: Any = SCHEMA
            for part in n["$ref"].lstrip("#/").split("/"):
                target = target[part]
            todo.append(target)
        out.append(n)
        todo.extend(n.get("allOf", []))
    return out


def undeclared(value: Any, node: dict[str, Any], path: str) -> list[str]:
    """Keys of `value` the schema does not declare (maps with free keys end the walk)."""
    missing = []
    nodes = resolve(node)
    if isinstance(value, dict):
        props: dict[str, Any] = {}
        free = False
        for n in nodes:
            props.update(n.get("properties", {}))
            if n.get("type") == "object" and n.get("additionalProperties", True) is not False and not n.get("properties"):
                free = True
        if free and not props:
            return []
        for k, v in value.items():
            if k in props:
                missing += undeclared(v, props[k], f"{path}.{k}")
            elif not any(n.get("additionalProperties", True) is not False for n in nodes if "properties" in n):
                missing.append(f"{path}.{k}")
    elif isinstance(value, list):
        for n in nodes:
            if isinstance(n.get("items"), dict):
                for i, item in enumerate(value):
                    missing += undeclared(item, n["items"], f"{path}[{i}]")
                break
    return missing


def values_files() -> list[Path]:
    return sorted(VALUES_DIR.glob("*.yaml"))


def check_schema() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert SCHEMA.get("additionalProperties") is False, "the schema's top level must refuse unknown keys"
    for name, values in [("values.yaml", defaults)] + [
        (f.name, helm_chart.merge(defaults, yaml.safe_load(f.read_text()))) for f in values_files()
    ]:
        missing = undeclared(values, SCHEMA, "")
        assert not missing, f"{name}: keys not declared in values.schema.json: {missing}"
        errors = sorted(e.message for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(values))
        assert not errors, f"{name} does not fit values.schema.json (python jsonschema): {errors}"


# --- rendered manifests ------------------------------------------------------------------------

CLUSTER_KINDS = {"ClusterRole", "ClusterRoleBinding", "Namespace", "PersistentVolume", "StorageClass",
                 "CustomResourceDefinition", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
                 "PriorityClass", "IngressClass"}


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """(what, pod spec, pod labels) of every workload; a WorkflowTemplate's spec holds the pod-level
    fields and its templates' containers."""
    out = []
    for d in docs:
        if d["kind"] in ("Deployment", "StatefulSet"):
            t = d["spec"]["template"]
            spec = dict(t["spec"])
            # A StatefulSet's claim templates are volumes of its pods.
            claims = [{"name": c["metadata"]["name"], "persistentVolumeClaim": {}} for c in d["spec"].get("volumeClaimTemplates", [])]
            spec["volumes"] = list(spec.get("volumes", [])) + claims
            out.append((f"{d['kind']} {d['metadata']['name']}", spec, t["metadata"]["labels"]))
        elif d["kind"] == "WorkflowTemplate":
            spec = dict(d["spec"])
            spec["containers"] = [t["container"] for t in spec["templates"] if "container" in t]
            out.append((f"WorkflowTemplate {d['metadata']['name']}", spec, spec["podMetadata"]["labels"]))
    return out


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def check_scope(docs: list[dict[str, Any]]) -> None:
    for d in docs:
        assert d["kind"] not in CLUSTER_KINDS, f"cluster-scoped {d['kind']} {d['metadata']['name']}"
        assert d["metadata"].get("namespace") == NAMESPACE, f"{d['kind']} {d['metadata']['name']} not in {NAMESPACE}"
        labels = d["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/instance") == RELEASE, f"{d['kind']} {d['metadata']['name']} lacks the release label"


def check_security(docs: list[dict[str, Any]], values: dict[str, Any]) -> None:
    for what, spec, _ in pod_specs(docs):
        psc = spec.get("securityContext", {})
        assert psc.get("runAsNonRoot") is True, f"{what}: pod runAsNonRoot"
        assert psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{what}: pod seccomp"
        for c in containers(spec):
            where = f"{what} container {c['name']}"
            sc = c.get("securityContext", {})
            assert sc.get("runAsNonRoot") is True, f"{where}: runAsNonRoot"
            assert sc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem"
            assert sc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation"
            assert sc.get("privileged") is False, f"{where}: privileged"
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: capabilities.drop"
            assert not sc.get("capabilities", {}).get("add"), f"{where}: capabilities.add"
            assert sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{where}: seccomp"
            for kind in ("requests", "limits"):
                r = c.get("resources", {}).get(kind, {})
                assert "cpu" in r and "memory" in r, f"{where}: resources.{kind} {r}"
            image = c["image"]
            m = re.fullmatch(r"(?P<name>[^@]+?):(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]*)(@sha256:[0-9a-f]{64})?", image)
            assert m, f"{where}: image {image} has no tag"
            assert m["tag"] != "latest", f"{where}: image {image} is latest"
            assert c.get("imagePullPolicy") == values["image"]["pullPolicy"], f"{where}: imagePullPolicy"
            for e in c.get("env", []):
                assert "secretKeyRef" not in e.get("valueFrom", {}), f"{where}: secret {e['name']} as an environment variable"


def check_probes(docs: list[dict[str, Any]]) -> None:
    expected = {"jupyterlab": "/api", "weir-serve": "/healthz"}
    expected = {k: v for k, v in expected.items() if any(c["name"] == k for _, spec, _ in pod_specs(docs) for c in spec["containers"])}
    seen = set()
    for what, spec, _ in pod_specs(docs):
        if what.startswith("WorkflowTemplate"):
            continue  # a run ends by itself: no probes
        for c in spec["containers"]:
            where = f"{what} container {c['name']}"
            for probe in ("livenessProbe", "readinessProbe"):
                assert probe in c, f"{where}: no {probe}"
            if c["name"] in expected:
                seen.add(c["name"])
                ports = {p["name"]: p["containerPort"] for p in c["ports"]}
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    get = c[probe]["httpGet"]
                    assert get["path"] == expected[c["name"]], f"{where}: {probe} path {get['path']}"
                    assert get["port"] in ports, f"{where}: {probe} port {get['port']} not a container port"
    assert seen == set(expected), f"containers with HTTP probes: {sorted(seen)}"
    assert expected, "no JupyterLab and no weir serve container"


def check_writable_paths(docs: list[dict[str, Any]]) -> None:
    for what, spec, _ in pod_specs(docs):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for c in containers(spec):
            where = f"{what} container {c['name']}"
            mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            assert env.get("TMPDIR") == "/tmp", f"{where}: TMPDIR {env.get('TMPDIR')}"
            assert "/tmp" in mounts and "emptyDir" in volumes[mounts["/tmp"]["name"]], f"{where}: /tmp not an emptyDir"
            home = env.get("HOME")
            assert home in mounts and not mounts[home].get("readOnly"), f"{where}: HOME {home} not a writable mount"
            if c["name"] == "jupyterlab":
                nb = env["NOTEBOOK_DIR"]
                assert nb in mounts and not mounts[nb].get("readOnly"), f"{where}: notebook dir not mounted"
                token = env["JUPYTER_TOKEN_FILE"]
                assert os.path.dirname(token) in mounts and mounts[os.path.dirname(token)].get("readOnly"), f"{where}: token file"
            if c["name"] == "weir-serve":
                data = next(a.split("=", 1)[1] for a in c["args"] if a.startswith("--data-dir="))
                assert "/data" in mounts and data.startswith("/data/"), f"{where}: data dir {data} below the /data volume"
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes, f"{where}: mount of missing volume {m['name']}"


def check_service_accounts(docs: list[dict[str, Any]], values: dict[str, Any]) -> None:
    accounts = {d["metadata"]["name"]: d for d in find(docs, "ServiceAccount")}
    component = {"notebook": "notebook", "jobs": "jobService", "workflow": "argo"}
    for what, spec, labels in pod_specs(docs):
        sa = spec.get("serviceAccountName")
        assert sa and sa != "default", f"{what}: service account {sa}"
        sa_values = values[component[labels["app.kubernetes.io/component"]]]["serviceAccount"]
        assert (sa in accounts) == sa_values["create"], f"{what}: service account {sa} rendered: {sa in accounts}"
        assert sa == (sa_values["name"] or f"{FULL}-{labels['app.kubernetes.io/component']}"), f"{what}: service account {sa}"
        if what.startswith("WorkflowTemplate"):
            if sa in accounts:
                assert accounts[sa].get("automountServiceAccountToken") is True, f"{what}: Argo's executor needs the token"
        else:
            assert spec.get("automountServiceAccountToken") is False, f"{what}: mounts a service account token"
            if sa in accounts:
                assert accounts[sa].get("automountServiceAccountToken") is False, f"ServiceAccount {sa} automounts"
    for kind in ("Role", "RoleBinding"):
        for r in find(docs, kind):
            assert r["metadata"]["name"].endswith("-workflow"), f"{kind} {r['metadata']['name']}: only the workflow pods get one"


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def check_network_policies(docs: list[dict[str, Any]], values: dict[str, Any]) -> None:
    policies = find(docs, "NetworkPolicy")
    if not values["networkPolicy"]["enabled"]:
        assert not policies, "NetworkPolicies while networkPolicy.enabled is false"
        return
    deny = [p for p in policies if "ingress" not in p["spec"] and p["spec"]["policyTypes"] == ["Ingress"]]
    assert len(deny) == 1, f"expected one default-deny policy, found {len(deny)}"
    for what, _, labels in pod_specs(docs):
        assert selects(deny[0]["spec"]["podSelector"]["matchLabels"], labels), f"{what}: not covered by the default deny"
    for p in policies:
        for rule in p["spec"].get("ingress", []):
            assert rule.get("from"), f"NetworkPolicy {p['metadata']['name']}: a rule without 'from' admits everyone"
            assert rule.get("ports") == [{"port": "http", "protocol": "TCP"}], f"NetworkPolicy {p['metadata']['name']}: ports {rule.get('ports')}"
        if "ingress" in p["spec"]:
            targets = [w for w, _, labels in pod_specs(docs) if selects(p["spec"]["podSelector"]["matchLabels"], labels)]
            assert len(targets) == 1 and not targets[0].startswith("WorkflowTemplate"), f"NetworkPolicy {p['metadata']['name']} opens {targets}"


def check_ingresses(docs: list[dict[str, Any]], values: dict[str, Any]) -> None:
    ingresses = find(docs, "Ingress")
    want = sum(1 for c in ("notebook", "jobService") if values[c]["enabled"] and values[c]["ingress"]["enabled"])
    assert len(ingresses) == want, f"{len(ingresses)} Ingresses, expected {want}"
    for ing in ingresses:
        tls_hosts = {h for t in ing["spec"].get("tls", []) for h in t.get("hosts", []) if t.get("secretName")}
        for rule in ing["spec"]["rules"]:
            assert rule["host"] in tls_hosts, f"Ingress {ing['metadata']['name']}: {rule['host']} without TLS"
            for path in rule["http"]["paths"]:
                svc = path["backend"]["service"]
                one(docs, "Service", svc["name"])
                assert svc["port"] == {"name": "http"}, f"Ingress {ing['metadata']['name']}: backend port {svc['port']}"


def check_shape(docs: list[dict[str, Any]], values: dict[str, Any]) -> None:
    js = values["jobService"]
    if not js["enabled"]:
        assert not find(docs, "StatefulSet") and not any(
            d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "jobs" for d in docs), "job service resources while disabled"
    else:
        check_jobs_shape(docs, js)
    nb = values["notebook"]
    if not nb["enabled"]:
        assert not find(docs, "Deployment") and not any(
            d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "notebook" for d in docs), "notebook resources while disabled"
    else:
        check_notebook_shape(docs, nb)
    wts = find(docs, "WorkflowTemplate")
    assert len(wts) == (1 if values["argo"]["enabled"] else 0), f"{len(wts)} WorkflowTemplates"
    if values["argo"]["enabled"] and values["argo"]["rbac"]["create"]:
        role = one(docs, "Role", f"{FULL}-workflow")
        assert role["rules"] == [{"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}], role["rules"]
        binding = one(docs, "RoleBinding", f"{FULL}-workflow")
        assert binding["roleRef"]["name"] == role["metadata"]["name"]
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": wts[0]["spec"]["serviceAccountName"], "namespace": NAMESPACE}]
    else:
        assert not find(docs, "Role") and not find(docs, "RoleBinding")
    if wts:
        want = values["argo"]["name"] or f"{FULL}-run"
        assert wts[0]["metadata"]["name"] == want, wts[0]["metadata"]["name"]
        job = next(p for p in wts[0]["spec"]["arguments"]["parameters"] if p["name"] == "job")
        assert job.get("value") == (values["argo"]["job"] or None), job


def check_jobs_shape(docs: list[dict[str, Any]], js: dict[str, Any]) -> None:
    sts = one(docs, "StatefulSet", f"{FULL}-jobs")
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    c = pod["containers"][0]
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert spec["replicas"] == js["replicas"], f"replicas {spec['replicas']}"
    assert spec["serviceName"] == f"{FULL}-jobs-headless" and one(docs, "Service", spec["serviceName"])["spec"]["clusterIP"] == "None"
    if js["store"]["type"] == "sqlite":
        assert spec["replicas"] <= 1, "SQLite with several instances"
        assert "/etc/weir/store" not in mounts, "a store secret mounted with SQLite"
    else:
        secret = volumes[mounts["/etc/weir/store"]]["secret"]
        pg = js["store"]["postgres"]
        assert secret["secretName"] == (pg["existingSecret"] or f"{FULL}-jobs-store"), secret
        assert secret["items"] == [{"key": pg["existingSecretKey"] if pg["existingSecret"] else "url", "path": "url"}], secret
        if not pg["existingSecret"]:
            import base64
            made = one(docs, "Secret", f"{FULL}-jobs-store")
            assert base64.b64decode(made["data"]["url"]).decode() == pg["url"], "the store Secret's URL"
    if js["persistence"]["enabled"]:
        claims = spec["volumeClaimTemplates"]
        assert [t["metadata"]["name"] for t in claims] == ["data"], claims
        assert claims[0]["spec"]["accessModes"] == js["persistence"]["accessModes"]
        assert "data" not in volumes
    else:
        assert "volumeClaimTemplates" not in spec and "emptyDir" in volumes["data"], "data on an emptyDir"
    assert ("--config=/etc/weir/config/weir.toml" in c["args"]) == bool(js["config"]), "--config"
    if js["config"]:
        cm = one(docs, "ConfigMap", f"{FULL}-jobs")
        assert tomllib.loads(cm["data"]["weir.toml"]) == tomllib.loads(js["config"]), "weir.toml differs from jobService.config"
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env.get("WEIR_MEMORY_LIMIT") == (js["memoryLimit"] or None), "WEIR_MEMORY_LIMIT"
    token = volumes[mounts["/etc/weir/api-token"]]["secret"]
    api = js["apiToken"]
    assert token["secretName"] == (api["existingSecret"] or f"{FULL}-jobs-api-token")
    if not api["existingSecret"]:
        assert len(one(docs, "Secret", f"{FULL}-jobs-api-token")["data"]["token"]) >= 64


def weir_image(values: dict[str, Any], which: str) -> str:
    im = values["image"]
    ref = f"{im[which]['repository']}:{im['tag'] or workspace_version()}"
    if im["registry"]:
        ref = f"{im['registry'].rstrip('/')}/{ref}"
    return ref + (f"@{im[which]['digest']}" if im[which]["digest"] else "")


def check_images(docs: list[dict[str, Any]], values: dict[str, Any]) -> None:
    want = {"jupyterlab": weir_image(values, "notebook"), "weir-serve": weir_image(values, "weir"),
            "main": weir_image(values, "weir")}
    for what, spec, _ in pod_specs(docs):
        for c in containers(spec):
            if c["name"] in want:
                assert c["image"] == want[c["name"]], f"{what} {c['name']}: image {c['image']}, not {want[c['name']]}"


def check_notebook_shape(docs: list[dict[str, Any]], nb: dict[str, Any]) -> None:
    dep = one(docs, "Deployment", f"{FULL}-notebook")
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"] == {"type": "Recreate"}
    pod = dep["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    names = [x["name"] for x in containers(pod)]
    git = nb["gitSync"]
    want = (["git-clone"] if git["enabled"] else []) + ["jupyterlab"] + (["git-sync"] if git["enabled"] and git["periodSeconds"] > 0 else [])
    assert names == want, f"notebook containers {names}"
    pvc = find(docs, "PersistentVolumeClaim")
    p = nb["persistence"]
    assert len(pvc) == (1 if p["enabled"] and not p["existingClaim"] else 0), f"{len(pvc)} claims"
    if p["enabled"]:
        assert volumes["notebooks"]["persistentVolumeClaim"]["claimName"] == (p["existingClaim"] or f"{FULL}-notebook")
    else:
        assert "emptyDir" in volumes["notebooks"]
    if pvc and p["keep"]:
        assert pvc[0]["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    token = volumes["jupyter-token"]["secret"]
    t = nb["token"]
    assert token["secretName"] == (t["existingSecret"] or f"{FULL}-notebook-token"), token
    assert token["items"] == [{"key": t["existingSecretKey"] if t["existingSecret"] else "token", "path": "token"}], token
    assert bool(find(docs, "Secret", f"{FULL}-notebook-token")) == (not t["existingSecret"]), "the generated token Secret"
    if git["enabled"]:
        gi = git["image"]
        want_image = f"{gi['repository']}:{gi['tag']}" + (f"@{gi['digest']}" if gi["digest"] else "")
        for c in containers(pod):
            if c["name"] != "jupyterlab":
                assert c["image"] == want_image, f"{c['name']}: image {c['image']}, not {want_image}"
        env = {e["name"]: e["value"] for e in containers(pod)[0]["env"]}
        assert env["GIT_SYNC_REPOSITORY"] == git["repository"] and env["GIT_SYNC_REF"] == git["ref"], env
        assert env["GIT_SYNC_DEST"] == f"/home/weir/notebooks/{git['directory']}", env
        assert ("GIT_SYNC_CREDENTIALS" in env) == bool(git["existingSecret"]), env


def check_notes(notes: str, values: dict[str, Any]) -> None:
    for key, secret in (("notebook", "token"), ("jobService", "apiToken")):
        v = values[key]
        if not v["enabled"]:
            continue
        name = v[secret]["existingSecret"] or f"{FULL}-{'notebook-token' if key == 'notebook' else 'jobs-api-token'}"
        assert f"get secret {name} " in notes, f"NOTES.txt does not say how to read {name}: {notes}"
        svc = f"{FULL}-{'notebook' if key == 'notebook' else 'jobs'}"
        if v["ingress"]["enabled"]:
            assert f"https://{v['ingress']['host']}{v['ingress']['path']}" in notes, notes
        else:
            assert f"port-forward svc/{svc} " in notes, notes
    assert ("argo -n" in notes) == values["argo"]["enabled"], notes


# --- Argo ---------------------------------------------------------------------------------------

def diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: unknown to Argo's API" for k in a if k not in b]
        out += [f"{path}.{k}: added by the model" for k in b if k not in a]
        for k in a.keys() & b.keys():
            out += diff(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [x for i, (p, q) in enumerate(zip(a, b)) for x in diff(p, q, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} became {b!r}"]


def check_workflow_template(wt: dict[str, Any]) -> None:
    from hera.workflows.models import WorkflowTemplate

    model = WorkflowTemplate.model_validate(wt)
    problems = diff(wt, model.model_dump(by_alias=True, exclude_none=True, mode="json"))
    assert not problems, f"WorkflowTemplate against Argo's API models: {problems}"
    assert wt["apiVersion"] == "argoproj.io/v1alpha1"
    spec = wt["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    assert spec["entrypoint"] in templates, f"entrypoint {spec['entrypoint']}"
    run = templates[spec["entrypoint"]]
    inputs = {p["name"] for p in run["inputs"]["parameters"]}
    arguments = {p["name"]: p for p in spec["arguments"]["parameters"]}
    assert set(arguments) == inputs == {"job", "environment"}, f"parameters {sorted(arguments)} / {sorted(inputs)}"
    text = json.dumps(run)
    used = set(re.findall(r"\{\{inputs\.parameters\.([A-Za-z0-9_-]+)\}\}", text))
    assert used == inputs, f"parameters used {sorted(used)}, declared {sorted(inputs)}"
    unknown = set(re.findall(r"\{\{([^}]+)\}\}", text)) - {f"inputs.parameters.{p}" for p in inputs} - {
        "workflow.name", "workflow.namespace", "workflow.uid", "pod.name"}
    assert not unknown, f"unknown Argo variables {unknown}"
    c = run["container"]
    assert c["command"] == ["/usr/local/bin/weir"], c["command"]
    assert c["args"] == ["run", "{{inputs.parameters.job}}", "--env", "{{inputs.parameters.environment}}"], c["args"]
    volumes = {v["name"] for v in spec["volumes"]}
    assert {m["name"] for m in c["volumeMounts"]} <= volumes, "a mount without its volume"
    assert spec["podMetadata"]["labels"]["app.kubernetes.io/component"] == "workflow"


# --- scripts ------------------------------------------------------------------------------------

STAND_IN = """#!/usr/bin/env python3
import json, os, sys
json.dump({"argv": sys.argv[1:], "token": os.environ.get("WEIR_API_TOKEN"), "store": os.environ.get("WEIR_STORE")}, sys.stdout)
"""


def check_start_script(docs: list[dict[str, Any]], postgres: bool) -> None:
    c = one(docs, "StatefulSet", f"{FULL}-jobs")["spec"]["template"]["spec"]["containers"][0]
    assert c["command"][:5] == ["/usr/bin/tini", "--", "/bin/sh", "-c", c["command"][4]] and len(c["command"]) == 6
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "bin").mkdir()
        (t / "bin" / "weir").write_text(STAND_IN)
        (t / "bin" / "weir").chmod(0o755)
        (t / "api-token").mkdir()
        (t / "api-token" / "token").write_text("tok-123\n")
        if postgres:
            (t / "store").mkdir()
            (t / "store" / "url").write_text("postgres://weir:pw@db:5432/weir\n")
        script = c["command"][4].replace("/etc/weir/", f"{tmp}/")
        env = {"PATH": f"{t / 'bin'}:{os.environ['PATH']}", "WEIR_STORE": ""}
        env.pop("WEIR_STORE")
        out = subprocess.run(["/bin/sh", "-c", script, c["command"][5], *c["args"]], env=env,
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, f"start script exited {out.returncode}: {out.stderr}"
        got = json.loads(out.stdout)
        assert got["argv"] == ["serve", *c["args"]], got["argv"]
        assert got["token"] == "tok-123", got
        assert got["store"] == ("postgres://weir:pw@db:5432/weir" if postgres else None), got
        (t / "api-token" / "token").unlink()
        out = subprocess.run(["/bin/sh", "-c", script, "weir-serve"], env=env, capture_output=True, text=True, timeout=30)
        assert out.returncode != 0, "the start script ran without its token file"


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}).stdout


def check_git_sync(docs: list[dict[str, Any]]) -> None:
    script = one(docs, "ConfigMap", f"{FULL}-notebook-git")["data"]["git-sync.sh"]
    dep = one(docs, "Deployment", f"{FULL}-notebook")
    sidecar = next(c for c in dep["spec"]["template"]["spec"]["containers"] if c["name"] == "git-sync")
    probe = sidecar["livenessProbe"]["exec"]["command"]
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "sync.sh").write_text(script)
        git("init", "--quiet", "--bare", "--initial-branch=main", str(t / "origin.git"))
        git("clone", "--quiet", str(t / "origin.git"), str(t / "work"))
        (t / "work" / "a.ipynb").write_text('{"cells": []}\n')
        git("add", ".", cwd=t / "work")
        git("commit", "--quiet", "-m", "one", cwd=t / "work")
        git("push", "--quiet", "origin", "HEAD:main", cwd=t / "work")
        (t / "tmp").mkdir()
        env = {**os.environ, "GIT_SYNC_REPOSITORY": f"file://{t / 'origin.git'}", "GIT_SYNC_REF": "main",
               "GIT_SYNC_DEST": str(t / "notebooks" / "repo"), "GIT_SYNC_DEPTH": "1", "GIT_SYNC_PERIOD": "1",
               "HOME": str(t / "tmp"), "TMPDIR": str(t / "tmp")}
        run = lambda mode: subprocess.run(["/bin/sh", str(t / "sync.sh"), mode], env=env, capture_output=True, text=True, timeout=60)  # noqa: E731
        out = run("clone")
        assert out.returncode == 0, f"clone: {out.stderr}"
        dest = t / "notebooks" / "repo"
        assert (dest / "a.ipynb").exists() and git("rev-parse", "--is-shallow-repository", cwd=dest).strip() == "true"

        def commit(name: str, text: str) -> None:
            (t / "work" / name).write_text(text)
            git("add", ".", cwd=t / "work")
            git("commit", "--quiet", "-m", name, cwd=t / "work")
            git("push", "--quiet", "origin", "HEAD:main", cwd=t / "work")

        commit("b.ipynb", '{"cells": [1]}\n')
        out = run("clone")  # an existing clone: fast-forwarded
        assert out.returncode == 0 and (dest / "b.ipynb").exists(), f"update of a shallow clone: {out.stderr}"
        (dest / "a.ipynb").write_text('{"cells": ["local edit"]}\n')
        commit("a.ipynb", '{"cells": ["upstream"]}\n')
        out = run("clone")
        assert out.returncode == 0, "a failed fast-forward must not stop the pod"
        assert "could not fast-forward" in out.stderr, out.stderr
        assert "local edit" in (dest / "a.ipynb").read_text(), "a local edit was overwritten"
        (dest / "a.ipynb").write_text('{"cells": ["upstream"]}\n')  # the user resolves it
        git("checkout", "--quiet", "a.ipynb", cwd=dest)
        commit("c.ipynb", '{"cells": [3]}\n')
        loop = subprocess.Popen(["/bin/sh", str(t / "sync.sh"), "loop"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (dest / "c.ipynb").exists():
                time.sleep(0.2)
            assert (dest / "c.ipynb").exists(), "the loop did not pull"
            heartbeat = t / "tmp" / "git-sync.heartbeat"
            assert heartbeat.exists(), "no heartbeat"
            cmd = [probe[0], probe[1], probe[2].replace("/tmp/git-sync.heartbeat", str(heartbeat))]
            assert subprocess.run(cmd, timeout=10).returncode == 0, "the probe fails on a fresh heartbeat"
            old = time.time() - 3600
            os.utime(heartbeat, (old, old))
            # The loop may touch it again meanwhile: stop the loop first.
        finally:
            loop.kill()
            loop.wait()
        os.utime(heartbeat, (old, old))
        assert subprocess.run(cmd, timeout=10).returncode != 0, "the probe passes on an hour-old heartbeat"
        out = subprocess.run(["/bin/sh", str(t / "sync.sh"), "clone"], timeout=60, capture_output=True, text=True,
                             env={**env, "GIT_SYNC_DEST": str(t / "tmp")})
        assert out.returncode != 0 and "not a git clone" in out.stderr, "a non-empty directory that is no clone was touched"
        # The credential helper reads the mounted file (git's store format) and never writes it.
        g = re.search(r"(?ms)^g\(\) \{.*?^\}", script)
        assert g, "no g() in git-sync.sh"
        creds = t / "git-credentials"
        creds.write_text("https://alice:s3cret@git.example.com\n")
        before = creds.stat().st_mtime_ns
        request = "protocol=https\nhost=git.example.com\n\n"
        cred_env = {**env, "GIT_SYNC_CREDENTIALS": str(creds), "dest": str(dest)}
        out = subprocess.run(["/bin/sh", "-c", g[0] + "\ng credential fill"], input=request, env=cred_env,
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and "username=alice" in out.stdout and "password=s3cret" in out.stdout, out
        out = subprocess.run(["/bin/sh", "-c", g[0] + "\ng credential reject"], input=request + "username=alice\npassword=s3cret\n\n",
                             env=cred_env, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and creds.read_text().startswith("https://alice:") and creds.stat().st_mtime_ns == before, \
            f"the credentials file was written: {out.stderr}"


# --- main ---------------------------------------------------------------------------------------

def main() -> int:
    check("chart: version == appVersion == Cargo workspace version", check_versions)
    check("chart: values.schema.json declares and accepts every value", check_schema)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    variants = [("default", {})] + [(f.stem, yaml.safe_load(f.read_text())) for f in values_files()]
    global FULL
    for name, user in variants:
        values = helm_chart.merge(defaults, user)
        FULL = values["fullnameOverride"] or (RELEASE if "weir" in RELEASE else f"{RELEASE}-weir")
        docs, notes = render(user)
        kinds = sorted({d["kind"] for d in docs})
        print(f"{name}: {len(docs)} resources ({', '.join(kinds)})")
        check(f"{name}: namespaced resources only, all labelled", lambda: check_scope(docs))
        check(f"{name}: pod and container security, resources, pinned images, secrets as files",
              lambda: check_security(docs, values))
        check(f"{name}: image references", lambda: check_images(docs, values))
        check(f"{name}: probes on /healthz and /api", lambda: check_probes(docs))
        check(f"{name}: writable paths (TMPDIR, HOME, notebooks, data) mounted", lambda: check_writable_paths(docs))
        check(f"{name}: service accounts and RBAC", lambda: check_service_accounts(docs, values))
        check(f"{name}: NetworkPolicies", lambda: check_network_policies(docs, values))
        check(f"{name}: Ingresses with TLS", lambda: check_ingresses(docs, values))
        check(f"{name}: job service and notebook shape", lambda: check_shape(docs, values))
        check(f"{name}: NOTES.txt", lambda: check_notes(notes, values))
        if values["jobService"]["enabled"]:
            check(f"{name}: job service start script with a stand-in weir",
                  lambda: check_start_script(docs, values["jobService"]["store"]["type"] == "postgres"))
        for wt in find(docs, "WorkflowTemplate"):
            check(f"{name}: WorkflowTemplate {wt['metadata']['name']} (Argo's API models)", lambda: check_workflow_template(wt))
        if values["notebook"]["enabled"] and values["notebook"]["gitSync"]["enabled"] and values["notebook"]["gitSync"]["periodSeconds"] > 0:
            if shutil.which("git"):
                check(f"{name}: git-sync script with real git", lambda: check_git_sync(docs))
            else:
                print(f"{name}: git-sync script not run: no git on this machine")
    print(f"helm: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
