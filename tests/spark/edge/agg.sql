-- Edge cases for aggregate functions: NULLs, empty input, overflow, decimals, DISTINCT, FILTER.
-- function: count
SELECT count(*), count(v), count(DISTINCT v), count(1) FROM VALUES (1), (NULL), (1), (2) AS t(v);
SELECT count(*), count(v), sum(v), avg(v), min(v), max(v) FROM VALUES (1) AS t(v) WHERE v > 5;
SELECT count(a, b), count(DISTINCT a, b) FROM VALUES (1, 'x'), (1, NULL), (NULL, 'y'), (1, 'x') AS t(a, b);
-- function: sum
SELECT sum(v) FROM VALUES (2147483647), (1) AS t(v);
SELECT sum(v) FROM VALUES (9223372036854775807L), (1L) AS t(v);
SELECT sum(v), avg(v) FROM VALUES (0.1), (0.2), (NULL) AS t(v);
SELECT sum(v), avg(v) FROM VALUES (CAST(1.25 AS DECIMAL(5,2))), (CAST(2.50 AS DECIMAL(5,2))) AS t(v);
SELECT sum(DISTINCT v), sum(v) FILTER (WHERE v > 1) FROM VALUES (1), (2), (2), (3) AS t(v);
SELECT sum(v) FROM VALUES (1.0D), (CAST('NaN' AS DOUBLE)) AS t(v);
-- function: avg
SELECT avg(v), mean(v) FROM VALUES (1), (2) AS t(v);
SELECT avg(v) FROM VALUES (9223372036854775807L), (9223372036854775807L) AS t(v);
SELECT avg(v) FROM VALUES (CAST(NULL AS INT)) AS t(v);
-- function: min
SELECT min(s), max(s) FROM VALUES ('b'), ('a'), ('é'), (NULL), ('B') AS t(s);
SELECT min(d), max(d) FROM VALUES (DATE '2024-02-29'), (DATE '2023-12-31') AS t(d);
SELECT max(v), min(v) FROM VALUES (1.0D), (CAST('NaN' AS DOUBLE)), (-1.0D) AS t(v);
SELECT max(b), min(b), bool_and(b), bool_or(b), every(b), some(b) FROM VALUES (true), (false), (NULL) AS t(b);
-- function: group_by
SELECT k, count(*), sum(v) FROM VALUES ('a', 1), ('b', 2), (NULL, 3), (NULL, 4), ('a', NULL) AS t(k, v) GROUP BY k ORDER BY k;
SELECT k, sum(v) FROM VALUES ('a', 1), ('A', 2) AS t(k, v) GROUP BY k ORDER BY k;
SELECT k, sum(v) AS s FROM VALUES ('a', 1), ('b', 2), ('a', 5) AS t(k, v) GROUP BY k HAVING sum(v) > 2 ORDER BY k;
-- function: collect_list
SELECT collect_list(v), collect_set(v) FROM VALUES (1), (NULL), (1), (2) AS t(v);
SELECT k, sort_array(collect_set(v)), size(collect_list(v)) FROM VALUES (1, 'a'), (1, 'b'), (1, 'a'), (2, NULL) AS t(k, v) GROUP BY k ORDER BY k;
SELECT collect_list(v) FROM VALUES (1) AS t(v) WHERE false;
-- function: first
SELECT first(v), first(v, true), last(v), last(v, true) FROM VALUES (NULL), (1), (2), (NULL) AS t(v);
SELECT any_value(v), first_value(v) FROM VALUES (5), (6) AS t(v);
-- function: stddev
SELECT stddev(v), stddev_pop(v), variance(v), var_pop(v) FROM VALUES (1), (2), (3), (4) AS t(v);
SELECT stddev(v), variance(v), stddev_pop(v) FROM VALUES (1) AS t(v);
SELECT corr(x, y), covar_pop(x, y), covar_samp(x, y) FROM VALUES (1, 2), (2, 4), (3, 7) AS t(x, y);
-- function: percentile
SELECT percentile(v, 0.5), percentile(v, array(0.25, 0.75)), median(v) FROM VALUES (1), (2), (3), (4) AS t(v);
SELECT percentile_approx(v, 0.5), approx_percentile(v, array(0.1, 0.9)) FROM VALUES (1), (2), (3), (4), (5) AS t(v);
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v), percentile_disc(0.5) WITHIN GROUP (ORDER BY v) FROM VALUES (1), (2), (3), (4) AS t(v);
-- function: count_if
SELECT count_if(v > 1), count_if(v IS NULL) FROM VALUES (1), (2), (NULL) AS t(v);
-- function: max_by
SELECT max_by(k, v), min_by(k, v) FROM VALUES ('a', 1), ('b', 3), ('c', 2) AS t(k, v);
-- function: mode
SELECT mode(v) FROM VALUES (1), (2), (2), (NULL), (NULL), (NULL) AS t(v);
-- function: approx_count_distinct
SELECT approx_count_distinct(v), count(DISTINCT v) FROM VALUES (1), (2), (2), (NULL) AS t(v);
-- function: bit_and
SELECT bit_and(v), bit_or(v), bit_xor(v) FROM VALUES (12), (10), (NULL) AS t(v);
-- function: string_agg
SELECT string_agg(s, ','), listagg(s, '|') FROM VALUES ('a'), ('b'), (NULL) AS t(s);
-- function: grouping
SELECT k, sum(v), grouping(k) FROM VALUES ('a', 1), ('b', 2) AS t(k, v) GROUP BY ROLLUP(k) ORDER BY k NULLS LAST;
-- function: histogram_numeric
SELECT kurtosis(v), skewness(v) FROM VALUES (1), (2), (3), (10) AS t(v);
-- function: regr_count
SELECT regr_count(y, x), regr_slope(y, x), regr_intercept(y, x), regr_r2(y, x) FROM VALUES (1, 2), (2, 4), (3, 6), (NULL, 1) AS t(x, y);
-- function: count_distinct_tuples
SELECT count(DISTINCT a, b), count(DISTINCT b, a, c) FROM VALUES (1, 'x', 1.5D), (1, NULL, 1.5D), (NULL, 'y', 2.0D), (1, 'x', 1.5D), (2, 'x', NULL), (2, 'x', 3.0D) AS t(a, b, c);
