#!/usr/bin/env bash
# Benchmarks the SCD Type 2 pipeline (examples/scd2/scd2.conf) with the release binary:
# wall time, CPU time (user+sys) and peak RSS, at the workshop size and on generated data.
#
#   bench/run.sh [SIZE ...]        sizes in rows of the initial load (default: 1000 1000000 10000000)
#
# Data is generated once per size under target/bench/<size>/ (bench/gen_contacts.py: ~8 % of
# ids change state, ~10 % new ids). The release build takes over half an hour on 2 cores the
# first time. Results are printed as a table and appended to target/bench/results.tsv.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 1000000 10000000)
work="$repo/target/bench"
mkdir -p "$work"
command -v /usr/bin/time >/dev/null || { echo "bench needs GNU time: apt-get install -y time" >&2; exit 1; }

echo "== building weir (release)" >&2
cargo build --release --quiet --manifest-path "$repo/Cargo.toml" -p weir-cli
weir="${CARGO_TARGET_DIR:-$repo/target}/release/weir"

printf "%-10s %10s %10s %12s %s\n" rows wall_s cpu_s peak_rss_mib result
for n in "${sizes[@]}"; do
  dir="$work/$n"
  if [ ! -f "$dir/data/update_contacts.csv" ]; then
    if [ "$n" = 1000 ]; then
      python3 "$repo/bench/gen_contacts.py" "$dir/data" --rows 1000 --changed 92 --new 100 >/dev/null
    else
      python3 "$repo/bench/gen_contacts.py" "$dir/data" --rows "$n" >/dev/null
    fi
  fi
  ln -sfn "$repo/examples/scd2/meta" "$dir/meta"
  ln -sfn "$repo/examples/scd2/sql" "$dir/sql"
  rm -rf "$dir/out"
  /usr/bin/time -f "%e %U %S %M" -o "$dir/time.txt" \
    "$weir" run "$repo/examples/scd2/scd2.conf" --env dev --quiet \
      --EXAMPLE_DIR="$dir" --OUTPUT_DIR="$dir/out" \
      --ETL_CONF_CURRENT_TIMESTAMP='"2026-11-23 10:00:00.000"' > "$dir/events.log"
  read -r wall user sys rss_kib < "$dir/time.txt"
  cpu=$(python3 -c "print(f'{$user + $sys:.2f}')")
  rss=$(python3 -c "print(f'{$rss_kib / 1024:.0f}')")
  result=$(python3 - "$dir/events.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    st = e.get("stage") or {}
    if e.get("event") == "exit" and st.get("name") == "result summary":
        print(json.dumps(st.get("message"), separators=(",", ":")))
    if e.get("event") == "exit" and st.get("type") == "DeltaLakeMergeLoad":
        print("merge_ms=%s" % e.get("duration"), end=" ")
PY
)
  printf "%-10s %10s %10s %12s %s\n" "$n" "$wall" "$cpu" "$rss" "$result"
  printf "%s\t%s\t%s\t%s\t%s\t%s\n" "$(date -u +%FT%TZ)" "$n" "$wall" "$cpu" "$rss" "$result" >> "$work/results.tsv"
done
