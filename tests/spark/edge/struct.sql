-- Edge cases for structs: field names, NULL fields, nesting, field access.
-- function: named_struct
SELECT named_struct('a', 1, 'b', 'x'), named_struct('a', NULL), named_struct('A', 1, 'a', 2), named_struct('é', 1);
SELECT named_struct('a', 1).a, named_struct('a', named_struct('b', array(1, 2))).a.b[1], named_struct('a', 1).A;
-- function: struct
SELECT struct(1, 'x'), struct(a, b) FROM VALUES (1, 'x') AS t(a, b);
SELECT struct(a + 1, b), struct(a AS first, b AS second) FROM VALUES (1, 'x') AS t(a, b);
SELECT s.a, s.b, s FROM (SELECT struct(a, b) AS s FROM VALUES (1, 'x'), (2, NULL) AS t(a, b)) ORDER BY s.a;
-- function: struct_star
SELECT s.* FROM (SELECT named_struct('x', 1, 'y', 'z') AS s);
-- function: struct_null
SELECT CAST(NULL AS STRUCT<a: INT>), CAST(NULL AS STRUCT<a: INT>).a, named_struct('a', CAST(NULL AS INT)) IS NULL;
-- function: struct_compare
SELECT named_struct('a', 1, 'b', 2) = named_struct('a', 1, 'b', 2), struct(1, 2) < struct(1, 3), struct(1, NULL) = struct(1, NULL);
-- function: struct_sort
SELECT s FROM VALUES (named_struct('a', 2, 'b', 'x')), (named_struct('a', 1, 'b', 'z')), (named_struct('a', 1, 'b', 'y')) AS t(s) ORDER BY s;
-- function: struct_group
SELECT s, count(*) FROM (SELECT struct(a, b) AS s FROM VALUES (1, 'a'), (1, 'a'), (2, 'b') AS t(a, b)) GROUP BY s ORDER BY s;
-- function: struct_nested
SELECT named_struct('p', named_struct('q', named_struct('r', 'deep'))).p.q.r, array(named_struct('a', 1), named_struct('a', 2)).a, array(named_struct('a', 1))[0].a;
-- function: struct_cast
SELECT CAST(named_struct('a', 1, 'b', '2') AS STRUCT<x: STRING, y: INT>), CAST(struct(1, 'x') AS STRING);
-- function: struct_in_array
SELECT inline(array(named_struct('a', 1, 'b', 'x'), named_struct('a', 2, 'b', NULL)));
-- function: struct_agg
SELECT max(struct(v, k)), min(struct(v, k)) FROM VALUES ('a', 3), ('b', 1), ('c', 3) AS t(k, v);
-- function: struct_from_json
SELECT from_json('{"a":{"b":1}}', 'a STRUCT<b: INT>').a.b;
-- function: struct_with_field
SELECT named_struct('a', 1, 'b', 2) AS s, to_json(struct(1 AS x, 'y' AS y));
-- function: named_struct
SELECT named_struct('a', array(1, NULL), 'b', map('k', 'v'), 'c', DATE '2024-02-29'), named_struct('a b', 1, 'c.d', 2);
SELECT named_struct('a', 1, 'b', named_struct('c', NULL)).b.c, named_struct('x', 1.50, 'y', CAST(2 AS DECIMAL(5,3)));
-- function: struct
SELECT struct(NULL), struct(), struct(1, 2).col2;
SELECT struct(k, count(*) AS n) FROM VALUES ('a'), ('a'), ('b') AS t(k) GROUP BY k ORDER BY k;
-- function: struct_distinct
SELECT DISTINCT s FROM (SELECT named_struct('a', v % 2) AS s FROM VALUES (1), (2), (3) AS t(v)) ORDER BY s;
-- function: struct_join
SELECT l.s.a, r.v FROM (SELECT named_struct('a', 1) AS s) l JOIN VALUES (1, 'one') AS r(a, v) ON l.s.a = r.a;
-- function: struct_in_map
SELECT map('k', named_struct('a', 1))['k'].a, array(struct(1, 'x'))[0].col2;
-- function: struct_cast
SELECT CAST(named_struct('a', 1.5) AS STRUCT<a: INT>), CAST(named_struct('a', 'bad') AS STRUCT<a: INT>);
-- function: struct_to_string
SELECT CAST(named_struct('a', 1, 'b', NULL, 'c', array('x')) AS STRING), CAST(named_struct('m', map(1, 'x')) AS STRING);
