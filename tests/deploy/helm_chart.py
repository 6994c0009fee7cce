#!/usr/bin/env python3
"""`helm lint` and `helm template` for the deploy tests, on Helm's own Go SDK.

The PyPI package helm-python-sdk ships no `helm` executable: it binds Helm v4's Go SDK
(libhelm_c, a shared library inside the wheel) with ctypes. This script gives it the two
commands of the helm CLI the tests need, with the same meaning:

    helm_chart.py version
    helm_chart.py lint CHART [-f VALUES]... [--set K=V]... [--strict] [--kube-version v1.30.0]
    helm_chart.py template NAME CHART [-n NAMESPACE] [-f VALUES]... [--set K=V]...
                  [--output FILE] [--split-dir DIR]

`lint` prints each finding as helm does ([INFO]/[WARNING]/[ERROR] path: message) and exits 1 on
an error, or with --strict on a warning too. `template` validates the values against
values.schema.json and renders the chart as an install would (the `lookup` function finds
nothing, as with `helm template`), printing the manifests with `# Source:` comments (or into
--output), leaving NOTES.txt out; --split-dir also writes one file per resource,
<kind>-<name>.yaml. A schema violation or a template error exits 1 with Helm's message.
Values files merge as helm merges them (maps key by key, later files win, null deletes a
key), then --set (Helm's own strvals parser).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def user_values(files: list[str], sets: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in files:
        values = merge(values, helm.values_from_yaml(Path(f).read_text()) or {})
    for expression in sets:
        values = merge(values, helm.parse_set_string(expression))
    return values


SEVERITY = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}


def cmd_lint(a: argparse.Namespace) -> int:
    report = helm.lint(a.chart, user_values(a.values, a.set), strict=a.strict, kube_version=a.kube_version,
                       namespace=a.namespace)
    worst = 0
    print(f"==> Linting {a.chart}")
    for m in report.get("messages") or []:
        worst = max(worst, m["severity"])
        print(f"[{SEVERITY.get(m['severity'], m['severity'])}] {m['path']}: {m['error'].strip()}")
    failed = worst >= 3 or (a.strict and worst >= 2) or bool(report.get("errors") and worst >= 3)
    print(f"\n{report.get('total_charts_linted', 0)} chart(s) linted, {1 if failed else 0} chart(s) failed")
    return 1 if failed else 0


def documents(manifests: dict[str, str]) -> list[tuple[str, str]]:
    """(source, text) of every non-empty YAML document, in helm's file order."""
    out = []
    for source in sorted(manifests):
        if source.endswith("NOTES.txt") or Path(source).name.startswith("_"):
            continue
        for doc in re.split(r"(?m)^---\s*$", manifests[source]):
            if yaml.safe_load(doc) is not None:
                out.append((source, doc.strip("\n")))
    return out


def cmd_template(a: argparse.Namespace) -> int:
    with helm.Chart.load(a.chart) as chart:
        try:
            manifests = chart.render(user_values(a.values, a.set), name=a.name, namespace=a.namespace,
                                     is_install=True)
        except helm.HelmError as e:
            print(f"Error: {e}", file=sys.stderr)
            return 1
    docs = documents(manifests)
    text = "".join(f"---\n# Source: {source}\n{doc}\n" for source, doc in docs)
    if a.output:
        Path(a.output).parent.mkdir(parents=True, exist_ok=True)
        Path(a.output).write_text(text)
    else:
        sys.stdout.write(text)
    if a.split_dir:
        out = Path(a.split_dir)
        out.mkdir(parents=True, exist_ok=True)
        for source, doc in docs:
            r = yaml.safe_load(doc)
            name = f"{r['kind'].lower()}-{r['metadata']['name']}.yaml"
            if (out / name).exists():
                print(f"Error: two resources would be written to {name}", file=sys.stderr)
                return 1
            (out / name).write_text(f"# Source: {source}\n{doc}\n")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("version")
    for name in ("lint", "template"):
        c = sub.add_parser(name)
        if name == "template":
            c.add_argument("name")
        c.add_argument("chart")
        c.add_argument("-f", "--values", action="append", default=[])
        c.add_argument("--set", action="append", default=[])
        c.add_argument("-n", "--namespace", default="default")
        if name == "lint":
            c.add_argument("--strict", action="store_true")
            c.add_argument("--kube-version")
        else:
            c.add_argument("--output")
            c.add_argument("--split-dir")
    a = p.parse_args()
    if a.command == "version":
        print(f"helm SDK {helm.helm_sdk_version()} (helm-python-sdk {helm.__version__}, libhelm_c {helm.helm_c_version()})")
        return 0
    return cmd_lint(a) if a.command == "lint" else cmd_template(a)


if __name__ == "__main__":
    sys.exit(main())
