#!/usr/bin/env bash
# Acceptance test of deploy/images: builds the weir and weir-notebook images with podman from a
# local Debian base (no registry needed), then
#   (a) runs the bundled SCD2 example in the weir image on mounted directories,
#   (b) reads the Delta table it wrote outside the container with Python deltalake (1192 rows,
#       92 expired),
#   (c) runs the same job through Arc's container contract (no arguments, ETL_CONF_URI /
#       ETL_CONF_ENV and the job's variables from the environment) with the same counts, and a
#       failing job exits 1,
#   (d) starts weir-notebook with a token (environment variable, then secret file) and checks
#       GET /api/kernelspecs lists `arc` with the token and is refused without it, and that the
#       image refuses to start without any token; a %sql cell runs in the arc kernel,
#   (e) `weir serve` starts in the weir image the way deploy/aws's job service starts it.
#
#   bash tests/deploy/images.sh          (as root, Debian 12; from any directory)
#
# Installs podman, runc, debootstrap, ... with apt-get when missing. Uses target/debug/weir
# (built with `cargo build -p weir-cli` if missing; WEIR_BIN overrides).
# Knobs: WEIR_TEST_RUNTIME (OCI runtime for podman, default runc: crun fails on hosts with
# hybrid cgroups), WEIR_TEST_NB_NETWORK (network of the notebook container, default podman's
# bridge with -p 127.0.0.1:PORT:8888; `host` also works), WEIR_BUILD_NETWORK (RUN steps).
set -euo pipefail
shopt -s inherit_errexit

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
t_start=$(date +%s)
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
secs() { echo "$(( $(date +%s) - $1 ))s"; }

# --- tools ------------------------------------------------------------------------------
t=$(date +%s)
missing=()
for cmd in podman runc debootstrap curl strip; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
[ -e /usr/lib/podman/netavark ] || missing+=(netavark)
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq podman runc netavark aardvark-dns slirp4netns uidmap fuse-overlayfs \
    debootstrap curl binutils ca-certificates >/dev/null
fi
step "tools: $(podman --version), runc $(runc --version | awk 'NR==1{print $3}') ($(secs "$t"))"

runtime=${WEIR_TEST_RUNTIME:-runc}
nofile=$(ulimit -Hn)
{ [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ]; } && nofile=65536
# Explicit rlimits: podman's defaults (the hard maxima) are refused by this kind of sandbox
# ("error setting rlimit type 6/7: operation not permitted").
run_opts=(--runtime "$runtime" --ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)

# --- binary -----------------------------------------------------------------------------
weir=${WEIR_BIN:-$repo/target/debug/weir}
if [ ! -x "$weir" ]; then
  step "cargo build -p weir-cli"
  cargo build --quiet --manifest-path "$repo/Cargo.toml" -p weir-cli
  weir=$repo/target/debug/weir
fi

# --- cleanup ----------------------------------------------------------------------------
scratch=$(mktemp -d "${TMPDIR:-/tmp}/weir-images.XXXXXX")
name() { echo "weir-images-test-$1-$$"; }
cleanup() {
  local n
  for n in a c c-fail d-none d-env d-file e; do podman rm -f -v -t 0 "$(name "$n")" >/dev/null 2>&1 || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT

# --- build ------------------------------------------------------------------------------
old_ids=$(podman image inspect --format '{{.Id}}' weir:latest weir-notebook:latest 2>/dev/null || true)
build_args=(--engine podman --local-base --binary "$weir" --runtime "$runtime")
# Behind a TLS-intercepting proxy pip needs the host's CA bundle; elsewhere it is harmless.
[ -r /etc/ssl/certs/ca-certificates.crt ] && build_args+=(--build-ca /etc/ssl/certs/ca-certificates.crt)
step "deploy/images/build.sh ${build_args[*]}"
t=$(date +%s)
version=$("$repo/deploy/images/build.sh" "${build_args[@]}" 2>"$scratch/build.log" | tail -1) \
  || { tail -40 "$scratch/build.log" >&2; fail "build.sh failed"; }
build_time=$(secs "$t")
grep '^== ' "$scratch/build.log" || true
# Old images replaced by this build (untagged now) would only fill the disk.
for id in $old_ids; do
  [ -z "$(podman image inspect --format '{{.RepoTags}}' "$id" 2>/dev/null | tr -d '[]')" ] \
    && podman rmi "$id" >/dev/null 2>&1 || true
done
weir_image=weir:$version
nb_image=weir-notebook:$version
size() { podman image inspect --format '{{.Size}}' "$1"; }
weir_size=$(size "$weir_image")
nb_size=$(size "$nb_image")
step "built $weir_image ($((weir_size / 1000000)) MB) and $nb_image ($((nb_size / 1000000)) MB) in $build_time"

# The image's contract: entrypoint and user.
[ "$(podman image inspect --format '{{json .Config.Entrypoint}}' "$weir_image")" = '["/usr/bin/tini","--","weir"]' ] \
  || fail "entrypoint of $weir_image"
[ "$(podman image inspect --format '{{.Config.User}}' "$weir_image")" = 10001:10001 ] || fail "user of $weir_image"

# --- (a) the SCD2 example on mounted directories -------------------------------------------
python=${WEIR_PYTHON:-$repo/.venv/bin/python}
if ! "$python" -c 'import deltalake, pyarrow' >/dev/null 2>&1; then
  python=$repo/target/images/venv/bin/python
  if ! "$python" -c 'import deltalake, pyarrow' >/dev/null 2>&1; then
    step "python venv with deltalake (target/images/venv)"
    python3 -m venv "$repo/target/images/venv"
    "$python" -m pip install --quiet --disable-pip-version-check deltalake==1.6.6 pyarrow==26.0.1
  fi
fi
counts() { # counts TABLE_DIR -> "total expired"
  "$python" "$repo/tests/python/read_delta.py" "$1" \
    | "$python" -c 'import json, sys; d = json.load(sys.stdin); print(d["num_rows"], d["expired"])'
}
timestamp='"2026-11-23 10:00:00.000"'
example_mount=(-v "$repo/examples/scd2:/example:ro")

step "(a) weir run /example/scd2.conf in $weir_image"
out_a=$scratch/out-a
mkdir -p "$out_a" && chown 10001:10001 "$out_a"
t=$(date +%s)
code=0
podman run --rm --name "$(name a)" "${run_opts[@]}" --network none "${example_mount[@]}" -v "$out_a:/out" \
  "$weir_image" run /example/scd2.conf --env dev \
  --EXAMPLE_DIR=/example --OUTPUT_DIR=/out "--ETL_CONF_CURRENT_TIMESTAMP=$timestamp" \
  >"$scratch/a.events" 2>"$scratch/a.err" || code=$?
[ "$code" = 0 ] || { cat "$scratch/a.err" >&2; fail "(a) weir run exited $code"; }
grep -q '"total_rows":1192' "$scratch/a.err" || { cat "$scratch/a.err" >&2; fail "(a) no summary"; }
step "(a) ok in $(secs "$t"): $(tail -1 "$scratch/a.err")"

# --- (b) the Delta table, read outside the container --------------------------------------
got=$(counts "$out_a/delta_contact")
[ "$got" = "1192 92" ] || fail "(b) expected 1192 rows, 92 expired; read: $got"
step "(b) ok: Python deltalake reads $got (rows, expired)"

# --- (c) Arc's container contract: no arguments ----------------------------------------
step "(c) ETL_CONF_URI/ETL_CONF_ENV only, no arguments"
out_c=$scratch/out-c
mkdir -p "$out_c" && chown 10001:10001 "$out_c"
set +e
podman run --rm --name "$(name c)" "${run_opts[@]}" --network none "${example_mount[@]}" -v "$out_c:/out" \
  -e ETL_CONF_URI=file:///example/scd2.conf -e ETL_CONF_ENV=dev \
  -e EXAMPLE_DIR=/example -e OUTPUT_DIR=/out -e "ETL_CONF_CURRENT_TIMESTAMP=$timestamp" \
  "$weir_image" >"$scratch/c.events" 2>"$scratch/c.err"
code=$?
set -e
[ "$code" = 0 ] || { cat "$scratch/c.err" >&2; fail "(c) exit $code"; }
got=$(counts "$out_c/delta_contact")
[ "$got" = "1192 92" ] || fail "(c) expected 1192 rows, 92 expired; read: $got"
set +e
podman run --rm --name "$(name c-fail)" "${run_opts[@]}" --network none \
  -e ETL_CONF_URI=file:///nowhere/missing.conf -e ETL_CONF_ENV=dev "$weir_image" >/dev/null 2>"$scratch/c-fail.err"
code=$?
set -e
[ "$code" = 1 ] || { cat "$scratch/c-fail.err" >&2; fail "(c) a missing job should exit 1, exited $code"; }
step "(c) ok: exit 0 and $got; a missing job exits 1"

# --- (d) the notebook image --------------------------------------------------------------
step "(d) $nb_image"
set +e
timeout 120 podman run --rm --name "$(name d-none)" "${run_opts[@]}" --network none "$nb_image" \
  >"$scratch/d-none.out" 2>&1
code=$?
set -e
[ "$code" != 0 ] && [ "$code" != 124 ] || { cat "$scratch/d-none.out" >&2; fail "(d) started without a token (exit $code)"; }
grep -q "no token" "$scratch/d-none.out" || fail "(d) no message without a token: $(cat "$scratch/d-none.out")"
step "(d) refuses to start without a token (exit $code): $(cat "$scratch/d-none.out")"

free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
nb_network=${WEIR_TEST_NB_NETWORK:-}
start_notebook() { # start_notebook NAME [podman run options] -> prints the base URL
  local n=$1 port; shift
  if [ "$nb_network" = host ]; then
    port=8888
    podman run -d --name "$n" "${run_opts[@]}" --network host "$@" "$nb_image" >/dev/null
  else
    port=$(free_port)
    podman run -d --name "$n" "${run_opts[@]}" ${nb_network:+--network "$nb_network"} \
      -p "127.0.0.1:$port:8888" "$@" "$nb_image" >/dev/null
  fi
  echo "http://127.0.0.1:$port"
}
wait_ready() { # wait_ready NAME URL TOKEN
  local _ code
  for _ in $(seq 1 120); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: token $3" "$2/api/status" || true)
    [ "$code" = 200 ] && return 0
    [ "$(podman inspect --format '{{.State.Running}}' "$1")" = true ] || break
    sleep 0.5
  done
  podman logs "$1" >&2 || true
  fail "(d) JupyterLab in $1 not ready (last HTTP status $code)"
}
check_kernelspecs() { # check_kernelspecs URL TOKEN
  local body code
  body=$(curl -sf -H "Authorization: token $2" "$1/api/kernelspecs") || fail "(d) GET /api/kernelspecs with the token"
  echo "$body" | "$python" -c '
import json, sys
body = json.load(sys.stdin)
specs = body["kernelspecs"]
assert body["default"] == "arc", body["default"]
arc = specs.get("arc") or sys.exit("no arc kernelspec in %s" % sorted(specs))
assert arc["spec"]["argv"][:3] == ["/usr/local/bin/weir", "kernel", "start"], arc["spec"]["argv"]
assert arc["spec"]["display_name"] == "Arc", arc["spec"]
' || fail "(d) kernelspecs: $body"
  # The load balancer's health check (deploy/aws) needs /api without a token.
  code=$(curl -s -o /dev/null -w '%{http_code}' "$1/api")
  [ "$code" = 200 ] || fail "(d) GET /api without a token: HTTP $code, not 200"
  code=$(curl -s -o /dev/null -w '%{http_code}' "$1/api/kernelspecs")
  [ "$code" = 403 ] || [ "$code" = 401 ] || fail "(d) without the token: HTTP $code"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: token wrong-$2" "$1/api/kernelspecs")
  [ "$code" = 403 ] || [ "$code" = 401 ] || fail "(d) with a wrong token: HTTP $code"
}

token=$("$python" -c 'import secrets; print(secrets.token_hex(16))')
t=$(date +%s)
nb_env=$(name d-env)
url_env=$(start_notebook "$nb_env" -e "JUPYTER_TOKEN=$token")
wait_ready "$nb_env" "$url_env" "$token"
step "(d) JupyterLab ready in $(secs "$t") at $url_env (token from JUPYTER_TOKEN)"
check_kernelspecs "$url_env" "$token"
step "(d) ok: /api/kernelspecs lists arc (the default kernel) with the token; 403 without it or with a wrong one"
# The kernelspec works in the image: one %sql cell through jupyter_client, as JupyterLab runs it.
podman exec -i "$nb_env" python3 - >"$scratch/cell.out" 2>"$scratch/cell.err" <<'PY' \
  || { cat "$scratch/cell.out" "$scratch/cell.err" >&2; fail "(d) %sql cell in the arc kernel"; }
import json, sys
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name="arc", startup_timeout=60)
outputs = []
try:
    reply = kc.execute_interactive("%sql\nSELECT 40 + 2 AS answer", timeout=60, output_hook=outputs.append)
    texts = [json.dumps(m["content"]) for m in outputs if m["msg_type"] in ("execute_result", "display_data")]
    print(json.dumps({"status": reply["content"]["status"], "outputs": texts}))
    sys.exit(0 if reply["content"]["status"] == "ok" and any("42" in t for t in texts) else 1)
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
PY
podman rm -f -v -t 5 "$nb_env" >/dev/null
step "(d) ok: a %sql cell runs in the arc kernel inside the container"

file_token=$("$python" -c 'import secrets; print(secrets.token_hex(16))')
printf '%s\n' "$file_token" >"$scratch/jupyter_token"
chmod 0444 "$scratch/jupyter_token"
nb_file=$(name d-file)
# ... and another uid than the image's (a volume owned by uid 1000, as the AWS templates default to).
url_file=$(start_notebook "$nb_file" --user 1000:1000 -v "$scratch/jupyter_token:/run/secrets/jupyter_token:ro")
wait_ready "$nb_file" "$url_file" "$file_token"
check_kernelspecs "$url_file" "$file_token"
podman rm -f -v -t 5 "$nb_file" >/dev/null
step "(d) ok: token from the secret file /run/secrets/jupyter_token, running as uid 1000"

# --- (e) the job service, started as deploy/aws/jobservice.yaml starts it -----------------
step "(e) weir serve in $weir_image"
sv=$(name e)
sv_port=$(free_port)
# shellcheck disable=SC2016 # expanded in the container
podman run -d --name "$sv" "${run_opts[@]}" -p "127.0.0.1:$sv_port:8080" -e WEIR_CONFIG= \
  --entrypoint /bin/sh "$weir_image" -c 'set -e; mkdir -p /config;
    printf "%s\n" "$WEIR_CONFIG" > /config/weir.toml; unset WEIR_CONFIG;
    exec weir serve --listen 0.0.0.0:8080 --data-dir /data --config /config/weir.toml' >/dev/null
code=000
for _ in $(seq 1 60); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$sv_port/healthz" || true)
  [ "$code" = 200 ] && break
  [ "$(podman inspect --format '{{.State.Running}}' "$sv")" = true ] || break
  sleep 0.5
done
[ "$code" = 200 ] || { podman logs "$sv" >&2 || true; fail "(e) /healthz: HTTP $code"; }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$sv_port/api/runs")
[ "$code" = 401 ] || [ "$code" = 403 ] || fail "(e) /api/runs without the API token: HTTP $code"
podman rm -f -v -t 5 "$sv" >/dev/null
step "(e) ok: /healthz 200, /api/runs $code without the API token"

total=$(secs "$t_start")
echo "images: $weir_image $weir_size bytes, $nb_image $nb_size bytes; build.sh $build_time; total $total"
echo "6 passed, 0 failed"
