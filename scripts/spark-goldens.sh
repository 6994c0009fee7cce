#!/usr/bin/env bash
# Regenerate the Spark golden files of the differential test suite.
#
# Usage:
#   ./scripts/spark-goldens.sh                                   # from any directory
#   SPARK_PYTHON=/path/to/python ./scripts/spark-goldens.sh      # use an interpreter that
#                                                                # already has pyspark 4.3.0
#
# Runs every query of the corpus (the documented examples of Spark's builtin functions and the
# edge cases in tests/spark/edge/<group>.sql) in Apache Spark 4.3.0 (local, non-ANSI, UTC) and
# writes Spark's results to tests/spark/goldens/<group>.jsonl, then prints a summary per group.
# Needs Java 17 (or 21) on PATH and Python 3 with venv; without SPARK_PYTHON, pyspark==4.3.0
# is installed into .venv-spark/ at the repository root (created once, reused afterwards).
# The output is deterministic: running it twice gives byte-identical files.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pyspark_version="4.3.0"

if ! command -v java >/dev/null 2>&1; then
    echo "error: java not found on PATH; Spark ${pyspark_version} needs Java 17 or 21 (e.g. apt-get install openjdk-17-jre-headless)" >&2
    exit 1
fi
if ! java_version="$(java -version 2>&1)"; then
    echo "error: 'java -version' failed:" >&2
    echo "$java_version" >&2
    exit 1
fi
echo "java: $(echo "$java_version" | head -n 1)"

if [[ -n "${SPARK_PYTHON:-}" ]]; then
    python="$SPARK_PYTHON"
    if [[ ! -x "$python" ]]; then
        echo "error: SPARK_PYTHON=$python is not an executable interpreter" >&2
        exit 1
    fi
else
    venv="$root/.venv-spark"
    if [[ ! -x "$venv/bin/python" ]]; then
        if ! command -v python3 >/dev/null 2>&1; then
            echo "error: python3 not found on PATH (needed to create $venv)" >&2
            exit 1
        fi
        echo "creating $venv"
        python3 -m venv "$venv" || {
            echo "error: 'python3 -m venv' failed; install the venv module (e.g. apt-get install python3-venv)" >&2
            exit 1
        }
    fi
    python="$venv/bin/python"
    if ! "$python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$pyspark_version')" 2>/dev/null; then
        echo "installing pyspark==$pyspark_version into $venv"
        "$python" -m pip install --quiet "pyspark==$pyspark_version"
    fi
fi

if ! found="$("$python" -c "import pyspark; print(pyspark.__version__)" 2>/dev/null)"; then
    echo "error: $python cannot import pyspark; install pyspark==$pyspark_version into it" >&2
    exit 1
fi
if [[ "$found" != "$pyspark_version" ]]; then
    echo "warning: $python has pyspark $found, the goldens are meant for $pyspark_version" >&2
fi
echo "pyspark: $found ($python)"

exec "$python" "$root/scripts/spark_goldens.py"
