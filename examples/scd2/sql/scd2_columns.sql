-- Adds the SCD Type 2 bookkeeping columns to a typed contact view.
SELECT id, name, email, state
     , ${CURRENT_TIMESTAMP} AS valid_from
     , CAST(null AS string) AS valid_to
     , CAST(1 AS boolean) AS iscurrent
     , md5(concat(name, email, state)) AS checksum
FROM ${table_name}
