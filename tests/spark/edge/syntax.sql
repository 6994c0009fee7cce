-- Spark SQL syntax and semantics that differ from other dialects; the "function" is a topic.
-- function: null_ordering
SELECT v FROM VALUES (3), (NULL), (1), (2) AS t(v) ORDER BY v;
SELECT v FROM VALUES (3), (NULL), (1), (2) AS t(v) ORDER BY v DESC;
SELECT v FROM VALUES (3), (NULL), (1) AS t(v) ORDER BY v NULLS LAST;
SELECT v FROM VALUES (3), (NULL), (1) AS t(v) ORDER BY v DESC NULLS FIRST;
SELECT s FROM VALUES ('b'), ('B'), ('a'), (''), (NULL), ('é') AS t(s) ORDER BY s;
SELECT k, v FROM (SELECT k, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM VALUES ('a', 1), ('a', NULL), ('b', NULL), ('b', 2) AS t(k, v)) WHERE rn = 1 ORDER BY k;
SELECT i, LAG(v) OVER (ORDER BY i) AS l, LEAD(v) OVER (ORDER BY i) AS n, FIRST_VALUE(v) OVER (ORDER BY i) AS f FROM VALUES (1, NULL), (2, 'b'), (3, NULL) AS t(i, v) ORDER BY i;
-- function: group_by
SELECT k, j, sum(v) FROM VALUES ('a', 'x', 1), ('a', 'y', 2), ('b', 'x', 3) AS t(k, j, v) GROUP BY ROLLUP(k, j) ORDER BY k NULLS LAST, j NULLS LAST;
SELECT k, j, sum(v) FROM VALUES ('a', 'x', 1), ('a', 'y', 2), ('b', 'x', 3) AS t(k, j, v) GROUP BY CUBE(k, j) ORDER BY k NULLS LAST, j NULLS LAST;
SELECT k, j, sum(v), grouping_id() FROM VALUES ('a', 'x', 1), ('b', 'y', 2) AS t(k, j, v) GROUP BY GROUPING SETS ((k), (j), ()) ORDER BY k NULLS LAST, j NULLS LAST;
SELECT k, count(*) FROM VALUES ('a'), ('b'), ('a') AS t(k) GROUP BY 1 ORDER BY 2 DESC, 1;
SELECT upper(k) AS u, count(*) FROM VALUES ('a'), ('A'), ('b') AS t(k) GROUP BY u ORDER BY u;
SELECT k, sum(v) FROM VALUES ('a', 1), ('b', 2) AS t(k, v) GROUP BY ALL ORDER BY k;
-- function: subscript
SELECT array(10, 20)[0], array(10, 20)[1], array(10, 20)[2];
SELECT array(10, 20)[-1];
SELECT map('a', 1, 'b', 2)['a'], map('a', 1)['zz'], element_at(array(10, 20), 1), element_at(map('a', 1), 'a'), get(array(10, 20), 1);
SELECT named_struct('a', 1).a, named_struct('a', named_struct('b', 2)).a.b, s.x.y[0] FROM (SELECT named_struct('x', named_struct('y', array('first', 'second'))) AS s);
SELECT arr[1].name FROM (SELECT array(named_struct('name', 'p'), named_struct('name', 'q')) AS arr);
-- function: using_join
SELECT * FROM VALUES (1, 'a'), (2, 'b') AS l(k, x) FULL OUTER JOIN VALUES (2, 'B'), (3, 'C') AS r(k, y) USING (k) ORDER BY k;
SELECT k FROM VALUES (1, 'a'), (2, 'b') AS l(k, x) FULL OUTER JOIN VALUES (2, 'B'), (3, 'C') AS r(k, y) USING (k) ORDER BY k;
SELECT * FROM VALUES (1, 'a'), (2, 'b') AS l(k, x) LEFT JOIN VALUES (2, 'B'), (3, 'C') AS r(k, y) USING (k) ORDER BY k;
SELECT * FROM VALUES (1, 'a'), (2, 'b') AS l(k, x) RIGHT OUTER JOIN VALUES (2, 'B'), (3, 'C') AS r(k, y) USING (k) ORDER BY k;
SELECT l.k, r.k FROM VALUES (1), (NULL) AS l(k) FULL JOIN VALUES (1), (NULL) AS r(k) ON l.k = r.k ORDER BY l.k, r.k;
SELECT * FROM VALUES (1), (2) AS l(k) LEFT SEMI JOIN VALUES (2) AS r(k) ON l.k = r.k;
SELECT * FROM VALUES (1), (2) AS l(k) LEFT ANTI JOIN VALUES (2) AS r(k) ON l.k = r.k;
SELECT * FROM VALUES (1), (2) AS l(a) CROSS JOIN VALUES (2), (3) AS r(b) ON l.a = r.b;
SELECT * FROM VALUES (1), (2) AS l(a) CROSS JOIN VALUES ('x') AS r(b) ORDER BY a;
SELECT * FROM VALUES (1, 'a') AS l(k, x) NATURAL JOIN VALUES (1, 'z') AS r(k, y);
-- function: struct_names
SELECT struct(a, b) AS s FROM VALUES (1, 'x') AS t(a, b);
SELECT struct(a, b).a, struct(a + 1, b).col1 FROM VALUES (1, 'x') AS t(a, b);
SELECT named_struct('n', 1), struct(1, 2), struct(t.a) FROM VALUES (5) AS t(a);
-- function: lateral_view
SELECT k, e FROM VALUES (1, array(10, 20)), (2, array()) AS t(k, a) LATERAL VIEW explode(a) x AS e ORDER BY k, e;
SELECT k, e FROM VALUES (1, array(10, 20)), (2, array()) AS t(k, a) LATERAL VIEW OUTER explode(a) x AS e ORDER BY k, e;
SELECT k, p, e FROM VALUES (1, array('x', 'y')) AS t(k, a) LATERAL VIEW posexplode(a) x AS p, e ORDER BY p;
SELECT k, mk, mv FROM VALUES (1, map('a', 1, 'b', 2)) AS t(k, m) LATERAL VIEW explode(m) x AS mk, mv ORDER BY mk;
SELECT k, e1, e2 FROM VALUES (1, array(1, 2), array('a')) AS t(k, a, b) LATERAL VIEW explode(a) x AS e1 LATERAL VIEW explode(b) y AS e2 ORDER BY e1;
-- function: generators
SELECT explode(array(1, 2, 3));
SELECT explode(array(1, 2)) AS v;
SELECT posexplode(array('a', 'b'));
SELECT posexplode(array('a', 'b')) AS (p, v);
SELECT inline(array(struct(1, 'a'), struct(2, 'b')));
SELECT inline(array(named_struct('x', 1, 'y', 'a'))) AS (p, q);
SELECT stack(2, 1, 'a', 2, 'b');
SELECT stack(3, 1, 2);
SELECT explode_outer(CAST(NULL AS ARRAY<INT>)), 1;
SELECT * FROM explode(array(1, 2));
-- function: case_insensitive
SELECT Name FROM VALUES ('x') AS t(name);
SELECT NAME, name, t.Name FROM VALUES ('x') AS T(name);
WITH Src AS (SELECT 1 AS MyCol) SELECT mycol, MYCOL FROM src;
SELECT a FROM (SELECT 1 AS A) AS Sub WHERE sub.a = 1;
SELECT SUM(v), Count(*), coalesce(NULL, 1) FROM VALUES (1) AS t(V);
-- function: literals
SELECT 'a\tb', length('a\tb'), '\\d', length('\\d'), 'it''s', "double", 'a\nb', '\u00e9';
SELECT regexp_replace('100-200', '(\\d+)', 'num'), regexp_extract('ab12', '[a-z]+(\\d+)', 1), 'a.b' RLIKE 'a\\.b', 'axb' RLIKE 'a\\.b';
SELECT 'a%b' LIKE 'a\\%b', 'axb' LIKE 'a\\%b', 'a_b' LIKE 'a\\_b', 'a\\b' LIKE 'a\\\\b', 'a!%b' LIKE 'a!!%b' ESCAPE '!';
SELECT DATE '2024-02-29', TIMESTAMP '2024-02-29 12:34:56.123', TIMESTAMP_NTZ '2024-02-29 01:02:03', X'0A', X'', 1L, 1S, 1Y, 1BD, 1.5D, 1e3, 1.5F, .5, 5.;
SELECT 2147483648, 9223372036854775808, -0, 1.0, 0.00, 123456789012345678901234567890.5, 1E-2, TRUE, NULL;
SELECT typeof(2147483648), typeof(9223372036854775808), typeof(1.0), typeof(.5), typeof(1E-2), typeof(1e3BD), typeof(NULL);
SELECT INTERVAL 1 DAY, INTERVAL '1 2:03:04' DAY TO SECOND, INTERVAL '1-2' YEAR TO MONTH, INTERVAL 90 MINUTES, INTERVAL '-1' HOUR;
-- function: cast
SELECT CAST('1' AS INT) + 1, '1'::INT, CAST(1 AS STRING) || 'x', CAST('abc' AS INT), CAST('2024-02-30' AS DATE);
SELECT 1 :: DOUBLE, CAST(NULL AS ARRAY<STRING>), CAST(array(1, 2) AS ARRAY<STRING>);
-- function: interval
SELECT DATE '2024-03-01' - DATE '2024-02-01', DATE '2024-03-10' - DATE '2024-03-10', TIMESTAMP '2024-03-10 12:00:00' - INTERVAL 2 HOURS;
SELECT TIMESTAMP '2024-03-11 00:00:00' - TIMESTAMP '2024-03-10 00:00:00', DATE '2024-01-31' + INTERVAL 1 MONTH, DATE '2024-02-29' - INTERVAL 1 YEAR;
SELECT TIMESTAMP '2024-02-29 00:00:00' + INTERVAL '1 12:00:00' DAY TO SECOND, INTERVAL 1 DAY * 2, INTERVAL 3 HOURS / 2, -INTERVAL 1 DAY;
SELECT DATE '2024-02-28' + 2, DATE '2024-03-01' - 1, date_add(DATE '2024-02-28', 1);
-- function: range
SELECT * FROM range(3);
SELECT id * 2 FROM range(1, 7, 2) ORDER BY id;
SELECT count(*), sum(id) FROM range(0);
-- function: set_ops
SELECT * FROM VALUES (1), (1), (2), (NULL) AS a(v) EXCEPT ALL SELECT * FROM VALUES (1), (NULL) AS b(v);
SELECT * FROM VALUES (1), (1), (2), (NULL) AS a(v) INTERSECT ALL SELECT * FROM VALUES (1), (1), (1), (NULL) AS b(v);
SELECT * FROM VALUES (1), (1), (2) AS a(v) EXCEPT SELECT * FROM VALUES (2) AS b(v);
SELECT * FROM VALUES (1), (NULL) AS a(v) INTERSECT SELECT * FROM VALUES (NULL) AS b(v);
SELECT 1 AS x UNION SELECT 1 UNION ALL SELECT 2 ORDER BY x;
SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2.5, NULL;
SELECT * FROM VALUES (1), (2) AS a(v) MINUS SELECT * FROM VALUES (2) AS b(v);
-- function: window
SELECT i, sum(v) OVER (ORDER BY i ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run FROM VALUES (1, 5), (2, 5), (3, 5) AS t(i, v) ORDER BY i;
SELECT i, sum(v) OVER (ORDER BY i) AS run FROM VALUES (1, 5), (1, 5), (2, 5) AS t(i, v) ORDER BY i;
SELECT i, sum(v) OVER (ORDER BY i RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) AS s FROM VALUES (1, 1), (2, 1), (5, 1) AS t(i, v) ORDER BY i;
SELECT i, count(*) OVER (ORDER BY i ROWS BETWEEN 1 FOLLOWING AND 2 FOLLOWING) AS c FROM VALUES (1), (2), (3) AS t(i) ORDER BY i;
SELECT k, v, sum(v) OVER (PARTITION BY k ORDER BY v DESC) AS s FROM VALUES ('a', 1), ('a', 2), ('b', 3) AS t(k, v) ORDER BY k, v;
-- function: higher_order
SELECT transform(array(1, 2), x -> x + 1), filter(array(1, 2, 3), x -> x % 2 = 1), exists(array(1, 2), x -> x > 1), aggregate(array(1, 2, 3), 0, (a, x) -> a + x);
SELECT zip_with(array(1, 2), array(3, 4), (a, b) -> a * b), map_filter(map('a', 1, 'b', 2), (k, v) -> v > 1), transform(array(array(1), array(2, 3)), a -> size(a));
SELECT transform(arr, x -> x * m) FROM VALUES (array(1, 2), 10) AS t(arr, m);
-- function: cte
WITH a AS (SELECT 1 AS x), b AS (SELECT x + 1 AS y FROM a) SELECT * FROM a CROSS JOIN b;
WITH t(c1, c2) AS (SELECT 1, 2) SELECT c2, c1 FROM t;
-- function: subquery
SELECT (SELECT max(v) FROM VALUES (1), (5) AS t(v)) AS m, 3 IN (SELECT v FROM VALUES (3) AS s(v)) AS found;
SELECT k FROM VALUES (1), (2), (3) AS o(k) WHERE EXISTS (SELECT 1 FROM VALUES (2), (3) AS i(k) WHERE i.k = o.k) ORDER BY k;
SELECT k FROM VALUES (1), (NULL) AS o(k) WHERE k NOT IN (SELECT v FROM VALUES (2), (NULL) AS i(v));
-- function: limit
SELECT v FROM VALUES (3), (1), (2) AS t(v) ORDER BY v LIMIT 2;
SELECT v FROM VALUES (3), (1), (2) AS t(v) ORDER BY v LIMIT 2 OFFSET 1;
-- function: qualify
SELECT k, v FROM VALUES ('a', 1), ('a', 2) AS t(k, v) QUALIFY row_number() OVER (PARTITION BY k ORDER BY v DESC) = 1;
-- function: distinct
SELECT DISTINCT v FROM VALUES (1), (NULL), (1), (NULL) AS t(v) ORDER BY v;
SELECT count(DISTINCT v), count(v) FROM VALUES (CAST('NaN' AS DOUBLE)), (CAST('NaN' AS DOUBLE)), (0.0D), (-0.0D) AS t(v);
-- function: pivot
SELECT * FROM VALUES ('a', 'x', 1), ('a', 'y', 2), ('b', 'x', 3) AS t(k, c, v) PIVOT (sum(v) FOR c IN ('x', 'y')) ORDER BY k;
-- function: errors
-- expect error
SELECT no_such_function(1);
-- expect error
SELECT missing_column FROM VALUES (1) AS t(v);
SELECT FALSE IS NOT DISTINCT FROM FALSE AND FALSE AS a, 1 IS DISTINCT FROM 2 OR TRUE AS b, 1 IS DISTINCT FROM 0 + 1 AS c, NULL IS NOT DISTINCT FROM NULL AND 1 <=> 1 AS d;
SELECT COUNT(*) AS n, SUM(r2.id) AS s FROM RANGE(5), Range(2, 4) AS r2;
