# Shared by the deploy suites (tests/deploy/run.sh, tests/deploy/helm.sh): sourced, not run.
# Run from the repository root: section headers, timing, and the suites' venv .venv-deploy
# (git-ignored) with the tools pinned in tests/deploy/requirements.txt, installed again only
# when that file changed (PYTHON picks the interpreter, default python3.11, else python3).

section() { printf '\n==== %s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

venv=.venv-deploy
requirements=tests/deploy/requirements.txt
py=$venv/bin/python

# deploy_venv PACKAGE...: makes sure the venv holds the pins, printing the named packages' versions.
deploy_venv() {
  local stamp=$venv/.weir-requirements interpreter packages
  packages=$(printf '"%s", ' "$@")
  local tools="import importlib.metadata as m; print(*(f\"{p} {m.version(p)}\" for p in ($packages)))"
  section "Python tools: $venv (pins: $requirements)"
  if [ -x "$py" ] && cmp -s "$requirements" "$stamp" && "$py" -c "$tools" >/dev/null 2>&1; then
    echo "installed: $("$py" -c "$tools")"
  else
    interpreter=${PYTHON:-$(command -v python3.11 || command -v python3)}
    echo "creating $venv from $interpreter ($("$interpreter" --version 2>&1))"
    rm -rf "$venv"
    "$interpreter" -m venv "$venv"
    "$py" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
    echo "installed: $("$py" -c "$tools")"
  fi
}
