#!/usr/bin/env bash
# Runs the bundled SCD Type 2 example (examples/scd2) on local disk and prints its summary.
#   ./scripts/example.sh [OUTPUT_DIR]     (default: target/example/scd2)
# The first run builds weir (debug profile; about 7 minutes on 2 cores from a clean checkout).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$repo/target/example/scd2}
mkdir -p "$out"
rm -rf "$out/delta_contact"
weir=${WEIR_BIN:-}
if [ -z "$weir" ]; then
  echo "== building weir (debug)" >&2
  cargo build --quiet --manifest-path "$repo/Cargo.toml" -p weir-cli
  weir="$repo/target/debug/weir"
fi
now="\"$(date -u '+%Y-%m-%d %H:%M:%S.000')\""
echo "== running examples/scd2/scd2.conf (JSON events: $out/events.log)" >&2
"$weir" run "$repo/examples/scd2/scd2.conf" --env dev \
  --EXAMPLE_DIR="$repo/examples/scd2" --OUTPUT_DIR="$out" --ETL_CONF_CURRENT_TIMESTAMP="$now" \
  > "$out/events.log"
echo "== Delta table written to $out/delta_contact" >&2
