#!/usr/bin/env python3
"""Run the differential-test corpus in Apache Spark and write its results as golden files.

Corpus: every builtin function's documented examples ("spark-doc") and the hand-written
edge cases in tests/spark/edge/<group>.sql ("edge"). Output: tests/spark/goldens/<group>.jsonl,
one JSON object per query. Run through scripts/spark-goldens.sh, which sets up pyspark and Java.
"""
import datetime
import decimal
import json
import logging
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EDGE_DIR = ROOT / "tests" / "spark" / "edge"
GOLDEN_DIR = ROOT / "tests" / "spark" / "goldens"
FUNCTION_LIST = ROOT / "crates" / "weir-engine" / "src" / "sql" / "spark_functions.txt"

# Functions whose results vary from run to run although Spark does not mark their
# expressions Nondeterministic (those are found through the JVM and added at start-up).
VARYING = {
    "current_date", "current_timestamp", "now", "current_timezone", "localtimestamp", "curdate",
    "uniform", "randstr", "try_reflect", "reflect", "java_method", "version", "user",
    "current_user", "session_user", "current_database", "current_catalog", "current_schema",
    "current_time", "aes_encrypt",  # aes_encrypt draws a random IV unless given one
}
# Of those, the ones SQL allows to be written without parentheses.
NILADIC = {"current_date", "current_timestamp", "localtimestamp", "current_user", "user",
           "session_user", "current_catalog", "current_schema", "current_database",
           "current_time"}
# Functions that read the clock only when called without arguments.
VARYING_WITHOUT_ARGS = {"unix_timestamp"}
QUERY_START = ("SELECT", "WITH", "VALUES", "FROM", "(")
MAX_ERROR = 300
DECIMAL_CONTEXT = decimal.Context(prec=200)


def start_spark():
    """A single-threaded, non-ANSI, UTC session; Python's own clock is set to UTC too."""
    os.environ["TZ"] = "UTC"
    time.tzset()
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[1]").appName("weir-spark-goldens")
             .config("spark.sql.ansi.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    # pyspark logs every failing SQL statement with its stack trace; the goldens record them.
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        logging.getLogger(name).disabled = True
    return spark


def builtin_functions(spark):
    """(name, group, class name, examples text) of every builtin function, sorted by name."""
    registry = spark._jvm.org.apache.spark.sql.catalyst.analysis.FunctionRegistry.builtin()
    ids = registry.listFunction()
    out = []
    for i in range(ids.length()):
        fid = ids.apply(i)
        info = registry.lookupFunction(fid).get()
        group = info.getGroup() or ""
        group = group[: -len("_funcs")] if group.endswith("_funcs") else group
        out.append((fid.funcName(), group or "other", info.getClassName(), info.getExamples() or ""))
    return sorted(out)


def function_names(spark, functions):
    """Every builtin scalar, aggregate, window and table function name (no operators), sorted:
    the engine's list of Spark functions (errors say "not supported yet" for these)."""
    names = {name for name, _, _, _ in functions}
    tables = spark._jvm.org.apache.spark.sql.catalyst.analysis.TableFunctionRegistry.builtin()
    ids = tables.listFunction()
    for i in range(ids.length()):
        names.add(ids.apply(i).funcName())
    return sorted(n for n in names if n.replace("_", "").isalnum())


def nondeterministic_names(spark, functions):
    """Names of functions whose expression class implements Spark's Nondeterministic trait."""
    jvm = spark._jvm
    loader = spark._jsc.getClass().getClassLoader()
    trait = jvm.java.lang.Class.forName(
        "org.apache.spark.sql.catalyst.expressions.Nondeterministic", False, loader)
    names = set()
    for name, _, class_name, _ in functions:
        try:
            if trait.isAssignableFrom(jvm.java.lang.Class.forName(class_name, False, loader)):
                names.add(name)
        except Exception:  # a class py4j cannot load is treated as deterministic
            pass
    return names


def doc_examples(examples):
    """The query statements of an examples text, in doc order, stopping at the first SET."""
    statements, current = [], None
    for line in examples.splitlines():
        text = line.strip()
        if text.startswith(">"):
            current = text[1:].strip()
        elif current is not None:
            current += "\n" + text  # a statement spread over several lines
        else:
            continue
        if current.endswith(";"):
            statements.append(current[:-1].strip())
            current = None
    kept = []
    for sql in statements:
        head = sql.lstrip().upper()
        if re.match(r"SET\b", head):
            break
        if head.startswith(QUERY_START):
            kept.append(sql)
    return kept


def edge_statements(path):
    """(function, sql, expect_error) of an edge file: `;` ends a statement at end of line,
    `--` lines are comments, `-- function: NAME` attributes the statements that follow and
    `-- expect error` marks the next statement as one Spark is meant to reject."""
    function, lines, out, expect_error = "unknown", [], [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text.startswith("--"):
            match = re.match(r"--\s*function:\s*(\S+)", text)
            if match:
                function = match.group(1)
            expect_error = expect_error or re.match(r"--\s*expect error", text) is not None
            continue
        if not text and not lines:
            continue
        lines.append(line.rstrip())
        if text.endswith(";"):
            out.append((function, "\n".join(lines).rstrip()[:-1].strip(), expect_error))
            lines, expect_error = [], False
    return out


def strip_quoted(sql):
    """The SQL with string literals, quoted identifiers and comments blanked out."""
    return re.sub(r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"|`[^`]*`|--[^\n]*", " ", sql)


def is_ordered(sql):
    """True when the outermost query ends with an ORDER BY (one outside any parentheses)."""
    depth, top = 0, []
    for ch in strip_quoted(sql):
        depth += ch == "("
        if depth == 0:
            top.append(ch)
        depth -= ch == ")" and depth > 0
    return re.search(r"\bORDER\s+BY\b", "".join(top), re.IGNORECASE) is not None


def is_deterministic(sql, varying):
    """False when the statement calls a function whose result varies from run to run."""
    text = strip_quoted(sql).lower()
    for name in varying:
        pattern = r"\b%s\s*\(" % re.escape(name)
        if name in NILADIC:
            pattern = r"\b%s\b" % re.escape(name)
        if re.search(pattern, text):
            return False
    return not any(re.search(r"\b%s\s*\(\s*\)" % name, text) for name in VARYING_WITHOUT_ARGS)


def unsupported_type(dt):
    """The simpleString of the first type in dt the encoding does not cover, else None."""
    from pyspark.sql import types as T
    if isinstance(dt, T.ArrayType):
        return unsupported_type(dt.elementType)
    if isinstance(dt, T.MapType):
        return unsupported_type(dt.keyType) or unsupported_type(dt.valueType)
    if isinstance(dt, T.StructType):
        return next(filter(None, (unsupported_type(f.dataType) for f in dt.fields)), None)
    supported = (T.NullType, T.BooleanType, T.ByteType, T.ShortType, T.IntegerType, T.LongType,
                 T.FloatType, T.DoubleType, T.DecimalType, T.StringType, T.BinaryType,
                 T.DateType, T.TimestampType, T.TimestampNTZType, T.DayTimeIntervalType,
                 T.YearMonthIntervalType)
    return None if isinstance(dt, supported) else dt.simpleString()


def needs_rewrite(dt):
    """Whether dt holds a map (Python collects maps into dicts, losing Spark's entry order)
    or a year-month interval (which pyspark cannot collect)."""
    from pyspark.sql import types as T
    if isinstance(dt, (T.MapType, T.YearMonthIntervalType)):
        return True
    if isinstance(dt, T.ArrayType):
        return needs_rewrite(dt.elementType)
    if isinstance(dt, T.StructType):
        return any(needs_rewrite(f.dataType) for f in dt.fields)
    return False


def collectable(col, dt):
    """A column computing col in a Python-collectable form: maps become arrays of (key, value)
    structs in entry order, year-month intervals become their number of months."""
    from pyspark.sql import functions as F, types as T
    if not needs_rewrite(dt):
        return col
    if isinstance(dt, T.YearMonthIntervalType):
        return col.cast("interval month").cast("bigint")
    if isinstance(dt, T.MapType):
        return F.transform(F.map_entries(col), lambda e: F.struct(
            collectable(e["key"], dt.keyType).alias("k"),
            collectable(e["value"], dt.valueType).alias("v")))
    if isinstance(dt, T.ArrayType):
        return F.transform(col, lambda e: collectable(e, dt.elementType))
    fields = [collectable(col.getField(f.name), f.dataType).alias(f.name) for f in dt.fields]
    return F.when(col.isNull(), F.lit(None)).otherwise(F.struct(*fields))


def fmt_datetime(d):
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (
        d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond)


def encode(value, dt):
    """The JSON form of one collected value of Spark type dt (see the brief's encoding)."""
    from pyspark.sql import types as T
    if value is None:
        return None
    if isinstance(dt, (T.FloatType, T.DoubleType)):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(dt, T.DecimalType):
        quantum = decimal.Decimal(1).scaleb(-dt.scale)
        return format(value.quantize(quantum, context=DECIMAL_CONTEXT), "f")
    if isinstance(dt, T.BinaryType):
        return {"binary": bytes(value).hex()}
    if isinstance(dt, T.DateType):
        return {"date": "%04d-%02d-%02d" % (value.year, value.month, value.day)}
    if isinstance(dt, T.TimestampType):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc)
        return {"timestamp": fmt_datetime(value)}
    if isinstance(dt, T.TimestampNTZType):
        return {"timestamp_ntz": fmt_datetime(value)}
    if isinstance(dt, T.DayTimeIntervalType):
        return {"interval_us": (value.days * 86400 + value.seconds) * 10**6 + value.microseconds}
    if isinstance(dt, T.YearMonthIntervalType):
        return {"interval_months": value}
    if isinstance(dt, T.ArrayType):
        return [encode(v, dt.elementType) for v in value]
    if isinstance(dt, T.MapType):
        return {"map": [[encode(k, dt.keyType), encode(v, dt.valueType)] for k, v in value]}
    if isinstance(dt, T.StructType):
        return {"struct": [[f.name, encode(v, f.dataType)] for f, v in zip(dt.fields, value)]}
    return value  # booleans, integers and strings are already JSON values


def first_line(message):
    lines = str(message).strip().splitlines()
    return (lines[0] if lines else "")[:MAX_ERROR]


def run_query(spark, sql):
    """Spark's outcome of one statement: {"ok", "columns", "rows"} or {"ok", "error"}."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors.exceptions.captured import CapturedException
    from pyspark.sql import functions as F
    try:
        df = spark.sql(sql)
        schema = df.schema
        bad = next(filter(None, (unsupported_type(f.dataType) for f in schema.fields)), None)
        if bad:
            return {"ok": False, "error": "uncollectable: " + bad}
        if any(needs_rewrite(f.dataType) for f in schema.fields):
            names = ["c%d" % i for i in range(len(schema.fields))]
            df = df.toDF(*names).select(*[collectable(F.col(n), f.dataType).alias(f.name)
                                          for n, f in zip(names, schema.fields)])
        collected = df.collect()
    except (CapturedException, Py4JJavaError) as e:
        return {"ok": False, "error": first_line(e)}
    except Exception as e:  # Spark answered but Python cannot represent the values
        return {"ok": False, "error": first_line("uncollectable: %s" % e)}
    try:
        rows = [[encode(v, f.dataType) for f, v in zip(schema.fields, row)] for row in collected]
    except Exception as e:
        return {"ok": False, "error": first_line("uncollectable: %s" % e)}
    columns = [{"name": f.name, "type": f.dataType.simpleString()} for f in schema.fields]
    return {"ok": True, "columns": columns, "rows": rows}


def corpus(functions):
    """(group, function, source, n, sql, expect_error) of every query, in output order."""
    for name, group, _, examples in functions:
        for n, sql in enumerate(doc_examples(examples)):
            yield group, name, "spark-doc", n, sql, False
    for path in sorted(EDGE_DIR.glob("*.sql")):
        counts = defaultdict(int)
        for function, sql, expect_error in edge_statements(path):
            yield path.stem, function, "edge", counts[function], sql, expect_error
            counts[function] += 1


def main():
    started = time.time()
    spark = start_spark()
    functions = builtin_functions(spark)
    names = function_names(spark, functions)
    varying = VARYING | nondeterministic_names(spark, functions)
    records = defaultdict(list)
    rejected_edge = []
    queries = list(corpus(functions))
    for i, (group, function, source, n, sql, expect_error) in enumerate(queries, 1):
        record = {"id": "%s/%s/%s/%d" % (group, function, source, n), "group": group,
                  "function": function, "source": source, "sql": sql,
                  "deterministic": function not in varying and is_deterministic(sql, varying),
                  "ordered": is_ordered(sql)}
        record.update(run_query(spark, sql))
        if not record["deterministic"] and record["ok"]:
            # Values that vary run to run are masked (shape kept) so the goldens stay stable.
            record["rows"] = [[None] * len(row) for row in record["rows"]]
        if source == "edge" and not record["ok"] and not expect_error:
            rejected_edge.append(record)
        records[group].append(record)
        if i % 100 == 0:
            print("... %d/%d queries" % (i, len(queries)), flush=True)
    spark.stop()

    FUNCTION_LIST.write_text("".join(n + "\n" for n in names), encoding="utf-8")
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for stale in GOLDEN_DIR.glob("*.jsonl"):
        if stale.stem not in records:
            stale.unlink()
    for group, recs in records.items():
        with open(GOLDEN_DIR / (group + ".jsonl"), "w", encoding="utf-8", newline="\n") as out:
            for rec in recs:
                out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")

    for rec in rejected_edge:
        print("edge statement rejected: %s: %s\n    %s" % (rec["id"], rec["error"],
                                                       rec["sql"].replace("\n", "\n    ")))
    print("\n%-14s %6s %6s %6s" % ("group", "total", "ok", "failed"))
    totals = [0, 0]
    for group in sorted(records):
        ok = sum(r["ok"] for r in records[group])
        totals[0] += len(records[group])
        totals[1] += ok
        print("%-14s %6d %6d %6d" % (group, len(records[group]), ok, len(records[group]) - ok))
    print("%-14s %6d %6d %6d" % ("all", totals[0], totals[1], totals[0] - totals[1]))
    print("wrote %s in %.0f s" % (GOLDEN_DIR.relative_to(ROOT), time.time() - started))


if __name__ == "__main__":
    sys.exit(main())
