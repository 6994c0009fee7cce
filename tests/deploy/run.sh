#!/usr/bin/env bash
# Tests of the AWS CloudFormation templates (deploy/aws/*.yaml). Works from any directory.
#
#   tests/deploy/run.sh
#
# 1. .venv-deploy/ at the repository root (git-ignored): cfn-lint, checkov, moto[server], boto3,
#    pinned in tests/deploy/requirements.txt; installed again only when that file changed
#    (about 1.5 min once; PYTHON picks the interpreter, default python3.11, else python3).
# 2. cfn-lint on every template (any error or warning fails), checkov's CloudFormation checks
#    (any failed check fails; skips only those declared in the templates, with their reason).
# 3. moto's server on 127.0.0.1 (a free port; stopped on exit) and tests/deploy/test_aws.py:
#    static checks of the templates, parameters out of range refused, and every product and the
#    portfolio deployed with boto3 CloudFormation on moto and their resources described.
# Durations of each step are printed; the last line is test_aws.py's 'deploy: N passed, M failed'.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

# shellcheck source=tests/deploy/common.sh
. tests/deploy/common.sh
declare -a durations=()
total_start=$(now)

start=$(now)
deploy_venv "cfn-lint" "checkov" "moto" "boto3"
durations+=("venv: $(elapsed "$start")")

templates=(deploy/aws/*.yaml)

section "cfn-lint ${templates[*]}"
start=$(now)
set +e
lint_out=$("$venv/bin/cfn-lint" "${templates[@]}" 2>&1)
lint_rc=$?
set -e
errors=$(grep -cE '^E[0-9]{4}' <<<"$lint_out" || true)
warnings=$(grep -cE '^W[0-9]{4}' <<<"$lint_out" || true)
[ -n "$lint_out" ] && printf '%s\n' "$lint_out"
echo "cfn-lint: ${#templates[@]} templates, $errors errors, $warnings warnings (exit $lint_rc) $(elapsed "$start")"
durations+=("cfn-lint: $(elapsed "$start")")
if [ "$lint_rc" -ne 0 ] || [ -n "$lint_out" ]; then
  echo "FAIL: cfn-lint reported findings" >&2
  exit 1
fi

section "checkov -d deploy/aws --framework cloudformation"
start=$(now)
report=$(mktemp)
# --skip-download: no call to the vendor's API for guideline links (offline, faster).
"$venv/bin/checkov" -d deploy/aws --framework cloudformation --skip-download --soft-fail -o json >"$report" 2>/dev/null
set +e
"$py" - "$report" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))
reports = data if isinstance(data, list) else [data]
passed = failed = skipped = 0
for r in reports:
    s = r.get("summary", {})
    passed += s.get("passed", 0); failed += s.get("failed", 0); skipped += s.get("skipped", 0)
    for c in r.get("results", {}).get("failed_checks", []):
        print(f"FAILED {c['check_id']} {c['resource']} {c['file_path']}:{c['file_line_range']} {c['check_name']}")
    for c in r.get("results", {}).get("skipped_checks", []):
        print(f"skipped {c['check_id']} {c['resource']} ({c['file_path']}): {c.get('check_result', {}).get('suppress_comment', '')}")
print(f"checkov: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or not passed else 0)
EOF
checkov_rc=$?
set -e
rm -f "$report"
echo "($(elapsed "$start"))"
durations+=("checkov: $(elapsed "$start")")
[ "$checkov_rc" -eq 0 ] || { echo "FAIL: checkov" >&2; exit 1; }

section "moto server + tests/deploy/test_aws.py"
start=$(now)
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_log=$(mktemp)
"$py" tests/deploy/moto_server.py -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
moto_pid=$!
cleanup() {
  kill "$moto_pid" 2>/dev/null || true
  wait "$moto_pid" 2>/dev/null || true
  rm -f "$moto_log"
}
trap cleanup EXIT
endpoint=http://127.0.0.1:$port
for _ in $(seq 1 150); do
  if "$py" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1] + '/moto-api/data.json', timeout=1)" "$endpoint" 2>/dev/null; then
    break
  fi
  kill -0 "$moto_pid" 2>/dev/null || { echo "moto server exited:"; cat "$moto_log"; exit 1; }
  sleep 0.2
done
echo "moto server on $endpoint (pid $moto_pid, up in $(elapsed "$start"))"
set +e
MOTO_ENDPOINT=$endpoint "$py" -W ignore tests/deploy/test_aws.py
test_rc=$?
set -e
durations+=("moto + test_aws.py: $(elapsed "$start")")
if [ "$test_rc" -ne 0 ]; then
  echo "moto server log (last 40 lines):"
  tail -n 40 "$moto_log" | grep -v '" 200 -$' || true
fi

section "durations"
printf '  %s\n' "${durations[@]}"
echo "  total: $(elapsed "$total_start")"
exit "$test_rc"
