#!/usr/bin/env bash
# Tests of the Helm chart deploy/helm/weir (no cluster needed). Works from any directory.
#
#   tests/deploy/helm.sh
#
# 1. .venv-deploy/ at the repository root (git-ignored), shared with tests/deploy/run.sh and
#    pinned in tests/deploy/requirements.txt: helm-python-sdk (Helm v4's Go SDK as a library; the
#    wheel has no `helm` executable, so tests/deploy/helm_chart.py gives it `lint` and
#    `template`), kubernetes-validate, hera (Argo Workflows' API models), checkov; installed
#    again only when that file changed (about 1.5 min once; PYTHON picks the interpreter, default
#    python3.11, else python3).
# 2. helm lint --strict on the chart with its default values and with each values file under
#    tests/deploy/helm/ (the multi-instance PostgreSQL + Argo + git-sync + Ingress variant, and
#    two edge variants: no notebook with an inline store URL, the notebook alone on an existing
#    claim): any warning fails.
# 3. helm template of each variant into target/deploy-helm/<variant>.yaml and, one file per
#    resource, target/deploy-helm/resources/<variant>/ (what the next two steps read).
# 4. kubernetes-validate --strict against Kubernetes 1.30 on every resource of a core API group (a
#    kind it has no schema for fails); the Argo WorkflowTemplate (a CRD) is validated against
#    Argo's own API models by test_helm.py instead.
# 5. checkov --framework kubernetes argo_workflows on the rendered resources: any failed check
#    fails; skips only those declared in the chart's templates (checkov.io/skipN annotations),
#    each with its reason.
# 6. values.schema.json refusing bad values: helm template must fail for each (replicas > 1 with
#    SQLite, negative resources, the latest tag, a postgres store without its URL...).
# 7. tests/deploy/test_helm.py: the chart's own checks (see its docstring).
# Durations of each step are printed; the last line is test_helm.py's 'helm: N passed, M failed'.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

# shellcheck source=tests/deploy/common.sh
. tests/deploy/common.sh
declare -a durations=()
total_start=$(now)

chart=deploy/helm/weir
namespace=weir
kube_version=1.30.0
out=target/deploy-helm

start=$(now)
deploy_venv "helm-python-sdk" "kubernetes-validate" "hera" "checkov"
"$py" tests/deploy/helm_chart.py version
durations+=("venv: $(elapsed "$start")")

# The variants: the default values, then each values file of tests/deploy/helm/.
variants=(default)
declare -A variant_args=([default]="")
for f in tests/deploy/helm/*.yaml; do
  v=$(basename "$f" .yaml)
  variants+=("$v")
  variant_args[$v]="-f $f"
done

section "helm lint --strict $chart (${variants[*]})"
start=$(now)
for v in "${variants[@]}"; do
  echo "-- $v"
  # shellcheck disable=SC2086 # the variant's arguments are words
  "$py" tests/deploy/helm_chart.py lint "$chart" --strict --kube-version "v$kube_version" -n "$namespace" ${variant_args[$v]} \
    || { echo "FAIL: helm lint --strict ($v)" >&2; exit 1; }
done
durations+=("helm lint: $(elapsed "$start")")

section "helm template $chart -> $out/<variant>.yaml, $out/resources/<variant>/"
start=$(now)
rm -rf "$out"
for v in "${variants[@]}"; do
  # shellcheck disable=SC2086
  "$py" tests/deploy/helm_chart.py template weir "$chart" -n "$namespace" ${variant_args[$v]} \
    --output "$out/$v.yaml" --split-dir "$out/resources/$v" || { echo "FAIL: helm template ($v)" >&2; exit 1; }
  files=("$out/resources/$v"/*.yaml)
  echo "$v: ${#files[@]} resources ($(grep -h '^kind:' "${files[@]}" | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $3; sep=", "}'))"
done
durations+=("helm template: $(elapsed "$start")")

section "kubernetes-validate --strict -k $kube_version"
start=$(now)
core=() crds=()
for f in "$out"/resources/*/*.yaml; do
  # A group with a dot that is not Kubernetes' own (*.k8s.io): a custom resource.
  if grep -qE '^apiVersion: [a-z0-9-]+(\.[a-z0-9-]+)+/' "$f" && ! grep -qE '^apiVersion: ([a-z0-9-]+\.)*k8s\.io/' "$f"; then
    crds+=("$f")
  else
    core+=("$f")
  fi
done
set +e
kv_out=$("$venv/bin/kubernetes-validate" --strict -k "$kube_version" "${core[@]}" 2>&1)
kv_rc=$?
set -e
kv_passed=$(grep -c ' passed for resource ' <<<"$kv_out" || true)
kv_other=$(grep -v ' passed for resource ' <<<"$kv_out" | grep -c . || true)
grep -v ' passed for resource ' <<<"$kv_out" || true
echo "kubernetes-validate $("$venv/bin/kubernetes-validate" --version): $kv_passed resources valid against Kubernetes $kube_version (strict), $kv_other other lines (exit $kv_rc)"
for f in "${crds[@]}"; do
  echo "not in Kubernetes' schemas (validated by test_helm.py against Argo's API models): $f"
done
durations+=("kubernetes-validate: $(elapsed "$start")")
if [ "$kv_rc" -ne 0 ] || [ "$kv_other" -ne 0 ] || [ "$kv_passed" -ne "${#core[@]}" ]; then
  echo "FAIL: kubernetes-validate (every core resource must validate, with no warning)" >&2
  exit 1
fi

section "checkov -d $out/resources --framework kubernetes argo_workflows"
start=$(now)
report=$(mktemp)
trap 'rm -f "$report"' EXIT
"$venv/bin/checkov" -d "$out/resources" --framework kubernetes argo_workflows --skip-download --soft-fail -o json >"$report" 2>/dev/null
set +e
"$py" - "$report" "${#crds[@]}" <<'EOF'
import collections, json, sys
data = json.load(open(sys.argv[1]))
reports = data if isinstance(data, list) else [data]
passed = failed = skipped = 0
frameworks = {}
reasons = collections.defaultdict(set)
bad_skips = 0
for r in reports:
    s = r.get("summary", {})
    frameworks[r.get("check_type")] = s.get("passed", 0)
    passed += s.get("passed", 0); failed += s.get("failed", 0); skipped += s.get("skipped", 0)
    for c in r.get("results", {}).get("failed_checks", []):
        print(f"FAILED {c['check_id']} {c['resource']} {c['file_path']}: {c['check_name']}")
    for c in r.get("results", {}).get("skipped_checks", []):
        reason = (c.get("check_result", {}).get("suppress_comment") or "").strip()
        if not reason or reason == "No comment provided":
            bad_skips += 1
            print(f"SKIPPED WITHOUT A REASON {c['check_id']} {c['resource']} {c['file_path']}")
        variant = c["file_path"].rstrip("/").split("/")[-2]  # .../resources/<variant>/<file>
        reasons[(c["check_id"], c["check_name"], reason)].add(f"{variant}: {c['resource']}")
for (check_id, name, reason), resources in sorted(reasons.items()):
    print(f"skipped {check_id} ({name}) on {len(resources)} resources: {', '.join(sorted(resources))}\n    reason: {reason}")
print("checkov by framework (passed): " + ", ".join(f"{k} {v}" for k, v in sorted(frameworks.items())))
print(f"checkov: {passed} passed, {failed} failed, {skipped} skipped")
missing = [f for f in ("kubernetes",) + (("argo_workflows",) if int(sys.argv[2]) else ()) if not frameworks.get(f)]
if missing:
    print(f"no check passed for {missing}: nothing scanned?")
sys.exit(1 if failed or bad_skips or missing else 0)
EOF
checkov_rc=$?
set -e
echo "($(elapsed "$start"))"
durations+=("checkov: $(elapsed "$start")")
[ "$checkov_rc" -eq 0 ] || { echo "FAIL: checkov" >&2; exit 1; }

section "values.schema.json refuses bad values (helm template must fail)"
start=$(now)
refused=0
# Each: a --set expression, then what the schema's message must say about it.
bad_values=(
  # several instances on SQLite
  "jobService.replicas=2 => /jobService/replicas': maximum: got 2, want 1"
  "jobService.replicas=3,jobService.store.type=sqlite => /jobService/replicas': maximum: got 3, want 1"
  # negative or malformed resources
  "jobService.resources.requests.cpu=-1 => /jobService/resources/requests/cpu': minimum: got -1, want 0"
  "notebook.resources.limits.memory=-4Gi => /notebook/resources/limits/memory': '-4Gi' does not match pattern"
  "argo.resources.requests.memory=lots => /argo/resources/requests/memory': 'lots' does not match pattern"
  "notebook.persistence.size=-10Gi => /notebook/persistence/size': '-10Gi' does not match pattern"
  # unpinned or malformed images
  "image.tag=latest => /image/tag': 'not' failed"
  "image.weir.digest=sha256:abc => /image/weir/digest': 'sha256:abc' does not match pattern"
  "image.pullPolicy=Sometimes => /image/pullPolicy': value must be one of"
  # a postgres store without its URL, an unknown store
  "jobService.store.type=postgres => /jobService/store/postgres/url': minLength: got 0, want 1"
  "jobService.store.type=mysql => /jobService/store/type': value must be one of 'sqlite', 'postgres'"
  # git-sync without its repository or its image
  "notebook.gitSync.enabled=true => /notebook/gitSync/repository': minLength: got 0, want 1"
  "notebook.gitSync.enabled=true,notebook.gitSync.repository=https://git.example.com/r.git => /notebook/gitSync/image/repository': minLength: got 0, want 1"
  # an Ingress without its host, no workers, a key the chart does not know
  "notebook.ingress.enabled=true => /notebook/ingress/host': minLength: got 0, want 1"
  "jobService.workers=0 => /jobService/workers': minimum: got 0, want 1"
  "notebook.bogus=1 => /notebook': additional properties 'bogus' not allowed"
)
for case in "${bad_values[@]}"; do
  expression=${case%% => *}
  expected=${case#* => }
  set +e
  err=$("$py" tests/deploy/helm_chart.py template weir "$chart" -n "$namespace" --set "$expression" 2>&1 >/dev/null)
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    echo "FAIL: helm template accepted --set $expression" >&2
    exit 1
  fi
  if ! grep -q "values don't meet the specifications of the schema" <<<"$err" || ! grep -qF -- "$expected" <<<"$err"; then
    echo "FAIL: --set $expression failed, but not with \"$expected\":" >&2
    echo "$err" >&2
    exit 1
  fi
  refused=$((refused + 1))
  echo "refused --set $expression: ...$expected"
done
# ... while the same settings in a valid combination render.
good_values=(
  "jobService.replicas=2,jobService.store.type=postgres,jobService.store.postgres.url=postgres://weir:pw@db:5432/weir"
  "jobService.replicas=1,jobService.store.type=postgres,jobService.store.postgres.existingSecret=store"
  "notebook.gitSync.enabled=true,notebook.gitSync.repository=https://git.example.com/r.git,notebook.gitSync.image.repository=git,notebook.gitSync.image.tag=2.47"
  "notebook.ingress.enabled=true,notebook.ingress.host=lab.example.com,jobService.resources.requests.cpu=0.25"
)
for expression in "${good_values[@]}"; do
  "$py" tests/deploy/helm_chart.py template weir "$chart" -n "$namespace" --set "$expression" >/dev/null \
    || { echo "FAIL: helm template refused the valid --set $expression" >&2; exit 1; }
done
echo "schema: $refused bad values refused, ${#good_values[@]} valid ones rendered ($(elapsed "$start"))"
durations+=("schema: $(elapsed "$start")")

section "tests/deploy/test_helm.py"
start=$(now)
set +e
"$py" -W ignore tests/deploy/test_helm.py
test_rc=$?
set -e
durations+=("test_helm.py: $(elapsed "$start")")

section "durations"
printf '  %s\n' "${durations[@]}"
echo "  total: $(elapsed "$total_start")"
exit "$test_rc"
