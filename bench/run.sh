#!/usr/bin/env bash
# Benchmarks the SCD Type 2 pipeline (examples/scd2/scd2.conf) with the release binary:
# wall time, CPU time (user+sys) and peak RSS, at the workshop size and on generated data, then
# where the time goes: each stage's duration, CPU time and peak memory (the `cpuMs` and
# `peakRssMiB` of its exit event).
#
#   bench/run.sh [--duckdb] [SIZE ...]   sizes in rows of the initial load (default: 1000 1000000 10000000)
#
#   WEIR_BIN=PATH  benchmarks that binary instead of building the release one (to compare two
#                  builds on the same files, one invocation after the other).
#
#   --duckdb   also runs, in the same invocation and on the same files, DuckDB's equivalent
#              pipeline (bench/duckdb_scd2.py) and its bare CSV -> Parquet copy of both inputs
#              (the I/O floor), and prints Weir's CPU as a ratio of each. DuckDB comes from PyPI
#              into target/bench/venv (pinned below).
#
# Data is generated once per size under target/bench/<size>/ (bench/gen_contacts.py: ~8 % of
# ids change state, ~10 % new ids). The release build takes over half an hour on 2 cores the
# first time. Results are printed as tables and appended to target/bench/results.tsv.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DUCKDB_VERSION=1.4.2
duckdb=
sizes=()
for arg in "$@"; do
  case "$arg" in
    --duckdb) duckdb=1 ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench/run.sh: unknown option $arg" >&2; exit 2 ;;
    *) sizes+=("$arg") ;;
  esac
done
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 1000000 10000000)
work="$repo/target/bench"
mkdir -p "$work"
command -v /usr/bin/time >/dev/null || { echo "bench needs GNU time: apt-get install -y time" >&2; exit 1; }

if [ -n "${WEIR_BIN:-}" ]; then
  weir=$WEIR_BIN
  [ -x "$weir" ] || { echo "bench/run.sh: WEIR_BIN=$weir is not an executable" >&2; exit 2; }
else
  echo "== building weir (release)" >&2
  cargo build --release --quiet --manifest-path "$repo/Cargo.toml" -p weir-cli
  weir="${CARGO_TARGET_DIR:-$repo/target}/release/weir"
fi

if [ -n "$duckdb" ]; then
  venv="$work/venv"
  if ! "$venv/bin/python" -c "import duckdb; assert duckdb.__version__ == '$DUCKDB_VERSION'" 2>/dev/null; then
    echo "== duckdb $DUCKDB_VERSION from PyPI into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "duckdb==$DUCKDB_VERSION"
  fi
fi

# measure NAME OUTFILE COMMAND...: runs COMMAND under GNU time; sets $wall $cpu $rss (MiB).
measure() {
  local timing="$work/time.$1.txt" user sys rss_kib
  shift
  local out=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$timing" "$@" > "$out"
  read -r wall user sys rss_kib < "$timing"
  cpu=$(python3 -c "print(f'{$user + $sys:.2f}')")
  rss=$(python3 -c "print(f'{$rss_kib / 1024:.0f}')")
}

summary=()
breakdowns=()
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
  measure weir "$dir/events.log" "$weir" run "$repo/examples/scd2/scd2.conf" --env dev --quiet \
    --EXAMPLE_DIR="$dir" --OUTPUT_DIR="$dir/out" \
    --ETL_CONF_CURRENT_TIMESTAMP='"2026-11-23 10:00:00.000"'
  weir_wall=$wall weir_cpu=$cpu weir_rss=$rss
  result=$(python3 - "$dir/events.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    st = e.get("stage") or {}
    if e.get("event") == "exit" and st.get("name") == "result summary":
        print(json.dumps(st.get("message"), separators=(",", ":")), end="")
PY
)
  breakdowns+=("$(python3 - "$dir/events.log" "$n" <<'PY'
import json, sys
rows = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    st = e.get("stage") or {}
    if e.get("event") == "exit" and st.get("name"):
        rows.append((st["name"], e.get("duration", 0), e.get("cpuMs"), e.get("peakRssMiB")))
memory = [json.loads(l).get("message") for l in open(sys.argv[1]) if '"event":"memory"' in l]
cpu_total = sum(r[2] or 0 for r in rows) or 1
limit = next((json.loads(l).get("memoryLimitMiB") for l in open(sys.argv[1]) if '"event":"enter"' in l), None)
print(f"-- {sys.argv[2]} rows, memory limit {limit} MiB: where the time goes (stage, wall ms, CPU ms, share of stage CPU, peak RSS MiB so far)")
for name, wall, cpu, peak in rows:
    share = f"{100 * (cpu or 0) / cpu_total:5.1f} %"
    print(f"   {name:<42} {wall:>9} {cpu if cpu is not None else '-':>9} {share:>8} {peak if peak is not None else '-':>7}")
for message in memory:
    print(f"   memory: {message}")
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event") == "viewCache" and "rows" in e:
        print(f"   computed once: {e['view']}: {e['rows']} rows, {e['bytes'] / 2**20:.0f} MiB in {e['partitions']} file(s), {e['duration']} ms")
    elif e.get("event") == "viewCache" and "message" in e:
        print(f"   viewCache: {e.get('view', 'all')}: {e['message']}")
PY
)")
  line=$(printf "%-10s %8s %8s %9s" "$n" "$weir_wall" "$weir_cpu" "$weir_rss")
  tsv="$(date -u +%FT%TZ)\t$n\t$weir_wall\t$weir_cpu\t$weir_rss\t$result"
  if [ -n "$duckdb" ]; then
    rm -rf "$dir/duckdb"
    measure duckdb "$dir/duckdb.json" "$venv/bin/python" "$repo/bench/duckdb_scd2.py" "$dir/data" "$dir/duckdb"
    duck_cpu=$cpu duck_rss=$rss duck_result=$(cat "$dir/duckdb.json")
    measure copy "$dir/copy.json" "$venv/bin/python" "$repo/bench/duckdb_scd2.py" "$dir/data" "$dir/duckdb" --copy
    copy_cpu=$cpu
    [ "$duck_result" = "$result" ] || echo "!! $n rows: DuckDB's result $duck_result differs from Weir's $result" >&2
    ratios=$(python3 -c "print(f'{$weir_cpu / max($duck_cpu, 0.01):.1f}x {$weir_cpu / max($copy_cpu, 0.01):.1f}x')")
    line+=$(printf " %8s %9s %8s %8s %8s" "$duck_cpu" "$duck_rss" "$copy_cpu" $ratios)
    tsv+="\tduckdb\t$duck_cpu\t$duck_rss\tcopy\t$copy_cpu"
  fi
  summary+=("$line $result")
  printf "%b\n" "$tsv" >> "$work/results.tsv"
done

if [ -n "$duckdb" ]; then
  printf "%-10s %8s %8s %9s %8s %9s %8s %8s %8s %s\n" rows wall_s cpu_s rss_mib duck_cpu duck_rss copy_cpu vs_duck vs_copy result
else
  printf "%-10s %8s %8s %9s %s\n" rows wall_s cpu_s rss_mib result
fi
printf "%s\n" "${summary[@]}"
printf "%s\n" "${breakdowns[@]}"
