-- Edge cases for window functions: ties, NULLs in partition and order keys, frames.
-- function: row_number
SELECT k, v, row_number() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM VALUES ('a', 1), ('a', 3), ('a', NULL), ('b', 2), (NULL, 5) AS t(k, v) ORDER BY k, rn;
SELECT v, row_number() OVER (ORDER BY v) AS rn FROM VALUES (3), (NULL), (1) AS t(v) ORDER BY rn;
-- function: rank
SELECT v, rank() OVER (ORDER BY v), dense_rank() OVER (ORDER BY v), percent_rank() OVER (ORDER BY v), cume_dist() OVER (ORDER BY v) FROM VALUES (1), (2), (2), (NULL), (3) AS t(v) ORDER BY v;
SELECT v, rank() OVER (ORDER BY v DESC NULLS LAST) AS r FROM VALUES (1), (NULL), (1), (2) AS t(v) ORDER BY r, v;
-- function: ntile
SELECT v, ntile(3) OVER (ORDER BY v) FROM VALUES (1), (2), (3), (4), (5) AS t(v) ORDER BY v;
SELECT v, ntile(10) OVER (ORDER BY v) FROM VALUES (1), (2) AS t(v) ORDER BY v;
-- function: lag
SELECT v, lag(v) OVER (ORDER BY i), lead(v) OVER (ORDER BY i), lag(v, 2, -1) OVER (ORDER BY i), lead(v, 1, 0) OVER (ORDER BY i) FROM VALUES (1, 10), (2, NULL), (3, 30), (4, 40) AS t(i, v) ORDER BY i;
SELECT i, lag(v) IGNORE NULLS OVER (ORDER BY i) AS l FROM VALUES (1, 10), (2, NULL), (3, 30) AS t(i, v) ORDER BY i;
-- function: first_value
SELECT i, first_value(v) OVER (ORDER BY i), last_value(v) OVER (ORDER BY i), first_value(v, true) OVER (ORDER BY i) FROM VALUES (1, NULL), (2, 20), (3, NULL) AS t(i, v) ORDER BY i;
SELECT i, last_value(v) OVER (ORDER BY i ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM VALUES (1, 1), (2, 2), (3, 3) AS t(i, v) ORDER BY i;
SELECT i, nth_value(v, 2) OVER (ORDER BY i) FROM VALUES (1, 'a'), (2, 'b'), (3, 'c') AS t(i, v) ORDER BY i;
-- function: sum
SELECT i, sum(v) OVER (ORDER BY i) AS running FROM VALUES (1, 1), (2, 2), (2, 3), (3, NULL) AS t(i, v) ORDER BY i, running;
SELECT i, sum(v) OVER (ORDER BY i ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM VALUES (1, 1), (2, 2), (3, 3), (4, 4) AS t(i, v) ORDER BY i;
SELECT i, sum(v) OVER (ORDER BY i RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM VALUES (1, 1), (2, 2), (4, 4), (5, 5) AS t(i, v) ORDER BY i;
SELECT i, sum(v) OVER (ORDER BY i ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM VALUES (1, 1), (2, 2), (3, 3) AS t(i, v) ORDER BY i;
SELECT k, i, sum(v) OVER (PARTITION BY k) AS total FROM VALUES ('a', 1, 1), ('a', 2, 2), ('b', 1, 5) AS t(k, i, v) ORDER BY k, i;
-- function: avg
SELECT i, avg(v) OVER (ORDER BY i ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM VALUES (1, 1), (2, 2), (3, 6), (4, NULL) AS t(i, v) ORDER BY i;
-- function: count
SELECT i, count(v) OVER (ORDER BY i), count(*) OVER () FROM VALUES (1, 1), (2, NULL), (3, 3) AS t(i, v) ORDER BY i;
-- function: max
SELECT i, max(v) OVER (PARTITION BY k ORDER BY i), min(v) OVER (PARTITION BY k) FROM VALUES ('a', 1, 5), ('a', 2, 3), ('b', 1, 7) AS t(k, i, v) ORDER BY k, i;
-- function: dedup
SELECT k, v FROM (SELECT k, v, row_number() OVER (PARTITION BY k ORDER BY ts DESC) AS rn FROM VALUES ('a', 1, 10), ('a', 2, 20), ('b', 3, 5), ('b', 4, NULL) AS t(k, v, ts)) WHERE rn = 1 ORDER BY k;
-- function: window_clause
SELECT i, sum(v) OVER w, row_number() OVER w FROM VALUES (1, 10), (2, 20) AS t(i, v) WINDOW w AS (ORDER BY i) ORDER BY i;
-- function: range_date
SELECT d, count(*) OVER (ORDER BY d RANGE BETWEEN INTERVAL 1 DAY PRECEDING AND CURRENT ROW) FROM VALUES (DATE '2024-02-28'), (DATE '2024-02-29'), (DATE '2024-03-01'), (DATE '2024-03-03') AS t(d) ORDER BY d;
-- function: collect_list
SELECT i, collect_list(v) OVER (ORDER BY i ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM VALUES (1, 'a'), (2, NULL), (3, 'c') AS t(i, v) ORDER BY i;
-- function: lead
SELECT i, lead(i, -1) OVER (ORDER BY i), lag(i, 0) OVER (ORDER BY i) FROM VALUES (1), (2) AS t(i) ORDER BY i;
-- function: moving_frame
SELECT i, sum(v) OVER w, count(v) OVER w, min(v) OVER w, max(v) OVER w, stddev(v) OVER w, first(v) OVER w, collect_list(v) OVER w, bool_and(v > 1) OVER w, count_if(v > 1) OVER w FROM VALUES (1, 1), (2, 2), (3, 6), (4, NULL), (5, NULL), (6, NULL), (7, 3) AS t(i, v) WINDOW w AS (ORDER BY i ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) ORDER BY i;
SELECT i, last(v) OVER w, last(v, true) OVER w, max_by(i, v) OVER w, any_value(v) OVER w, bit_or(v) OVER w, try_avg(v) OVER w, percentile(v, 0.5) OVER w FROM VALUES (1, 1), (2, 2), (3, 6), (4, NULL), (5, NULL), (6, NULL), (7, 3) AS t(i, v) WINDOW w AS (ORDER BY i ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) ORDER BY i;
SELECT k, i, first(v, true) OVER (PARTITION BY k ORDER BY i ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING), collect_list(v) OVER (PARTITION BY k ORDER BY i ROWS BETWEEN 2 PRECEDING AND 1 PRECEDING) FROM VALUES ('a', 1, NULL), ('a', 2, 5), ('a', 3, 7), ('b', 1, 9) AS t(k, i, v) ORDER BY k, i;
