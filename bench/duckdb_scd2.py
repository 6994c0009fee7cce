#!/usr/bin/env python3
"""DuckDB's equivalent of the SCD Type 2 pipeline (examples/scd2/scd2.conf), for bench/run.sh
to report beside Weir's figures in the same run.

    duckdb_scd2.py DATA_DIR OUT_DIR            the pipeline; prints its summary as JSON
    duckdb_scd2.py DATA_DIR OUT_DIR --copy     the floor: both CSVs copied to Parquet, no logic

The pipeline does what the Weir job does, in DuckDB SQL:
  - both CSVs read as strings (no header; the initial file without quoting);
  - typed: id as INTEGER, with a per-row error flag standing in for `_errors`;
  - validated: the job fails when any row has an error (SQLValidate);
  - the SCD columns added (valid_from, valid_to, iscurrent, checksum = md5 of the three
    columns, NULL when one of them is NULL, as Spark's concat);
  - the initial load written as Parquet (DuckDB writes no Delta table; this stands in for the
    initial Delta write);
  - the merge: current rows whose checksum changed are expired at the run's timestamp,
    changed rows and new ids inserted; the result written as Parquet (the MERGE's rewrite);
  - the summary read back from the written file.
Results must equal Weir's (1,192 / 92 at the workshop scale, x1000 per million rows).
"""
import json
import os
import sys

import duckdb

TIMESTAMP = "2026-11-23 10:00:00"


def read_typed(con, path, quote):
    """The CSV as strings, then typed with a per-row error flag."""
    quote_opt = ", quote = ''" if not quote else ""
    return f"""
        SELECT TRY_CAST(c0 AS INTEGER) AS id, c1 AS name, c2 AS email, c3 AS state,
               (TRY_CAST(c0 AS INTEGER) IS NULL) AS has_error
        FROM read_csv('{path}', header = false, all_varchar = true{quote_opt},
                      columns = {{'c0': 'VARCHAR', 'c1': 'VARCHAR', 'c2': 'VARCHAR', 'c3': 'VARCHAR'}})
    """


def validate(con, view, label):
    errors = con.execute(f"SELECT count(*) FILTER (WHERE has_error) FROM {view}").fetchone()[0]
    if errors:
        sys.exit(f"{label}: {errors} rows could not be typed")


def scd_columns(view):
    return f"""
        SELECT id, name, email, state,
               TIMESTAMP '{TIMESTAMP}' AS valid_from,
               CAST(NULL AS VARCHAR) AS valid_to,
               TRUE AS iscurrent,
               md5(name || email || state) AS checksum
        FROM {view}
    """


def main():
    data, out = sys.argv[1], sys.argv[2]
    copy_only = "--copy" in sys.argv[3:]
    os.makedirs(out, exist_ok=True)
    con = duckdb.connect()
    initial_csv = os.path.join(data, "initial_contacts.csv")
    update_csv = os.path.join(data, "update_contacts.csv")
    if copy_only:
        for name, path, quote in (("initial", initial_csv, False), ("update", update_csv, True)):
            con.execute(f"COPY ({read_typed(con, path, quote)}) TO '{out}/{name}.parquet' (FORMAT parquet)")
        print(json.dumps({"copied": 2}))
        return

    con.execute(f"CREATE VIEW initial_typed AS {read_typed(con, initial_csv, False)}")
    validate(con, "initial_typed", "initial")
    target = f"{out}/initial.parquet"
    con.execute(f"COPY ({scd_columns('initial_typed')}) TO '{target}' (FORMAT parquet)")

    con.execute(f"CREATE VIEW update_typed AS {read_typed(con, update_csv, True)}")
    validate(con, "update_typed", "update")
    con.execute(f"CREATE TEMP TABLE update_load AS {scd_columns('update_typed')}")
    result = f"{out}/contact.parquet"
    con.execute(f"""
        COPY (
          SELECT t.id, t.name, t.email, t.state, t.valid_from,
                 CASE WHEN u.id IS NOT NULL AND t.iscurrent AND u.checksum <> t.checksum
                      THEN '{TIMESTAMP}' ELSE t.valid_to END AS valid_to,
                 CASE WHEN u.id IS NOT NULL AND t.iscurrent AND u.checksum <> t.checksum
                      THEN FALSE ELSE t.iscurrent END AS iscurrent,
                 t.checksum
          FROM read_parquet('{target}') t LEFT JOIN update_load u ON u.id = t.id
          UNION ALL
          -- changed contacts again, as current rows
          SELECT u.* FROM update_load u JOIN read_parquet('{target}') t ON t.id = u.id
          WHERE t.iscurrent AND t.checksum <> u.checksum
          UNION ALL
          -- new ids
          SELECT u.* FROM update_load u ANTI JOIN read_parquet('{target}') t ON t.id = u.id
        ) TO '{result}' (FORMAT parquet)
    """)
    total, current, expired = con.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE iscurrent),
               count(*) FILTER (WHERE NOT iscurrent AND valid_to IS NOT NULL)
        FROM read_parquet('{result}')
    """).fetchone()
    print(json.dumps({"total_rows": total, "current_rows": current, "expired_rows": expired},
                     separators=(",", ":")))


if __name__ == "__main__":
    main()
