#!/usr/bin/env bash
# The project's test command: installs what the integration tests need, then runs every test
# (cargo test --workspace, debug profile). Works from any directory.
#
#   ./scripts/test.sh [cargo test arguments...]      e.g. ./scripts/test.sh -- workshop
#
# Installs once, idempotently (seconds when already there):
#   s3s-fs       S3-compatible server for the S3 tests: cargo install into ~/.cargo/bin
#                (about 3.5 min once per machine; outlives fresh clones, so CI reuses it)
#   chromium     Debian's package, for the web UI test (apt-get, when root)
#   postgresql   Debian's package, for the two-instance service test and the JDBC tests
#                (apt-get, when root; the tests start their own throwaway servers from these binaries)
#   mariadb-server  Debian's package, for the MySQL/MariaDB JDBC tests (apt-get, when root; the
#                tests start their own throwaway servers from these binaries)
#   .venv/       Python deltalake + pyarrow (the independent Delta reader), fastavro (the
#                independent Avro reader/writer), the Jupyter clients
#                the kernel tests drive (jupyter_client, nbclient), moto + boto3 (the SQS
#                event source, the Athena API of the JDBCExecute tests) (pins: tests/python/requirements.txt; about 40 s once per
#                clone; git-ignored)
# Then, with no arguments, the deployment suites: tests/deploy/run.sh (cfn-lint, checkov and moto
# in their own venv .venv-deploy, about 1.5 min once, then 40 s), tests/deploy/helm.sh (the Helm
# chart deploy/helm/weir: helm lint --strict and helm template through Helm's Go SDK,
# kubernetes-validate, checkov and its own checks, in the same venv; about 15 s once it is
# installed) and tests/deploy/images.sh (podman, runc, debootstrap from apt-get when missing; a
# local Debian base by debootstrap, cached in podman's storage; builds and runs both images:
# about 3 min on a new machine, 1-1.5 min after).
# WEIR_S3S_FS_BIN / WEIR_PYTHON / WEIR_CHROMIUM / WEIR_PG_BIN / WEIR_MARIADB_BIN, when set, are used instead
# (nothing installed for that tool);
# PYTHON picks the interpreter the venv is made from (default python3).
# The first run builds DataFusion and delta-rs: about 9 minutes on 2 cores (debug profile).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

# s3s-fs 0.15 and later need rustc 1.96; 0.14.1 needs 1.92.
S3S_FS_VERSION=0.14.1

section() { printf '\n==== %s\n' "$*"; }
elapsed() { echo "($(( SECONDS - $1 )) s)"; }

section "s3s-fs $S3S_FS_VERSION: S3-compatible test server"
cargo_home=${CARGO_HOME:-$HOME/.cargo}
s3s=$cargo_home/bin/s3s-fs
if [ -n "${WEIR_S3S_FS_BIN:-}" ]; then
  echo "using WEIR_S3S_FS_BIN=$WEIR_S3S_FS_BIN"
elif [ -x "$s3s" ] && [ "$("$s3s" --version 2>/dev/null)" = "s3s-fs $S3S_FS_VERSION" ]; then
  echo "installed: $s3s"
  export WEIR_S3S_FS_BIN=$s3s
else
  start=$SECONDS
  echo "cargo install --locked s3s-fs@$S3S_FS_VERSION --features binary (about 3.5 min on 2 cores)"
  cargo install --locked --quiet --force "s3s-fs@$S3S_FS_VERSION" --features binary --root "$cargo_home"
  echo "installed $s3s $(elapsed "$start")"
  export WEIR_S3S_FS_BIN=$s3s
fi

section "Python: deltalake + pyarrow (independent Delta reader), fastavro (independent Avro reader/writer), jupyter_client + nbclient (kernel tests), moto + boto3 (SQS events, Athena API)"
requirements=tests/python/requirements.txt
if [ -n "${WEIR_PYTHON:-}" ]; then
  echo "using WEIR_PYTHON=$WEIR_PYTHON"
else
  start=$SECONDS
  stamp=.venv/.weir-requirements
  versions='import deltalake, pyarrow, fastavro; print("deltalake", deltalake.__version__, "pyarrow", pyarrow.__version__, "fastavro", fastavro.__version__)'
  if [ -x .venv/bin/python ] && cmp -s "$requirements" "$stamp" && .venv/bin/python -c "$versions" >/dev/null 2>&1; then
    echo "installed: .venv ($(.venv/bin/python -c "$versions"))"
  else
    if [ ! -x .venv/bin/python ]; then
      "${PYTHON:-python3}" -m venv .venv
    fi
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
    echo "installed into .venv: $(.venv/bin/python -c "$versions") $(elapsed "$start")"
  fi
  export WEIR_PYTHON=$repo/.venv/bin/python
fi

# Debian packages the tests need, installed when missing (root and apt-get only).
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_updated=
apt_install() {
  echo "apt-get install $1 (Debian's package; $2)"
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}

section "Chromium: the browser of the web UI test"
if [ -n "${WEIR_CHROMIUM:-}" ]; then
  echo "using WEIR_CHROMIUM=$WEIR_CHROMIUM"
elif command -v chromium >/dev/null 2>&1; then
  echo "installed: $(command -v chromium)"
elif can_apt; then
  start=$SECONDS
  apt_install chromium "about a minute"
  echo "installed $(command -v chromium) $(elapsed "$start")"
else
  echo "chromium is missing and cannot be installed here (needs root and apt-get):" >&2
  echo "install Debian's chromium package, or set WEIR_CHROMIUM to a Chromium binary" >&2
  exit 1
fi

section "PostgreSQL: the shared run store of the two-instance service test"
pg_bin() {
  if [ -n "${WEIR_PG_BIN:-}" ]; then echo "$WEIR_PG_BIN"; return; fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}
if [ -n "$(pg_bin)" ]; then
  echo "installed: $(pg_bin) ($("$(pg_bin)/postgres" --version))"
elif can_apt; then
  start=$SECONDS
  apt_install postgresql "the tests start their own throwaway servers"
  echo "installed $(pg_bin) $(elapsed "$start")"
else
  echo "PostgreSQL server binaries are missing and cannot be installed here (needs root and apt-get):" >&2
  echo "install Debian's postgresql package, or set WEIR_PG_BIN to the directory holding initdb and pg_ctl" >&2
  exit 1
fi
export WEIR_PG_BIN=$(pg_bin)

section "MariaDB: the MySQL/MariaDB server of the JDBC tests"
if [ -n "${WEIR_MARIADB_BIN:-}" ]; then
  echo "using WEIR_MARIADB_BIN=$WEIR_MARIADB_BIN"
elif [ -x /usr/sbin/mariadbd ] && command -v mariadb-install-db >/dev/null 2>&1; then
  echo "installed: /usr/sbin/mariadbd ($(/usr/sbin/mariadbd --version))"
elif can_apt; then
  start=$SECONDS
  apt_install mariadb-server "the JDBC tests start their own throwaway servers"
  echo "installed /usr/sbin/mariadbd $(elapsed "$start")"
else
  echo "MariaDB server binaries are missing and cannot be installed here (needs root and apt-get):" >&2
  echo "install Debian's mariadb-server package, or set WEIR_MARIADB_BIN to the directory holding mariadbd, mariadb-install-db and mariadb" >&2
  exit 1
fi

section "cargo test --workspace (debug profile)"
start=$SECONDS
status=0
cargo test --workspace "$@" || status=$?
section "cargo test --workspace: $([ "$status" = 0 ] && echo passed || echo "FAILED (exit $status)") $(elapsed "$start")"

# The deployment suites run with the whole suite (no cargo test arguments), or with
# WEIR_DEPLOY_TESTS=1; WEIR_DEPLOY_TESTS=0 skips them.
if [ "${WEIR_DEPLOY_TESTS:-$([ $# = 0 ] && echo 1 || echo 0)}" = 1 ]; then
  # suite TITLE SCRIPT: runs one deployment suite; its failure fails the whole run.
  suite() {
    section "$1 ($2)"
    local start=$SECONDS suite_status=0
    bash "$2" || suite_status=$?
    section "${1%%:*}: $([ "$suite_status" = 0 ] && echo passed || echo "FAILED (exit $suite_status)") $(elapsed "$start")"
    [ "$suite_status" = 0 ] || status=$suite_status
  }
  suite "deploy/aws: cfn-lint, checkov, the templates on moto (own venv .venv-deploy)" tests/deploy/run.sh
  suite "deploy/helm: the chart under helm lint, kubernetes-validate, checkov and its own checks (venv .venv-deploy)" tests/deploy/helm.sh
  suite "deploy/images: the weir and weir-notebook images built and run with podman" tests/deploy/images.sh
fi
exit "$status"
