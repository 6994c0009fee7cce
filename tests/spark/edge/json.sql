-- Edge cases for JSON functions: malformed input, NULLs, unicode, paths, nested types.
-- function: get_json_object
SELECT get_json_object('{"a":1,"b":{"c":"x"}}', '$.b.c'), get_json_object('{"a":[1,2,3]}', '$.a[1]'), get_json_object('{"a":[1,2,3]}', '$.a'), get_json_object('{"a":1}', '$.z');
SELECT get_json_object('not json', '$.a'), get_json_object(NULL, '$.a'), get_json_object('{"a":"héllo 日本"}', '$.a'), get_json_object('{"a":null}', '$.a');
SELECT get_json_object('{"a":{"b":1}}', '$.a'), get_json_object('[{"a":1},{"a":2}]', '$[*].a'), get_json_object('{"a b":1}', '$[''a b'']'), get_json_object('{"a":1.50}', '$.a');
SELECT get_json_object('{"a":true}', '$.a'), get_json_object('{"a":"\\u00e9"}', '$.a'), get_json_object('', '$'), get_json_object('{"a":1}', '$');
-- function: json_tuple
SELECT json_tuple('{"a":1,"b":"x","c":null}', 'a', 'b', 'c', 'd');
SELECT json_tuple('bad', 'a');
SELECT j.* FROM VALUES ('{"k":"v1"}'), ('{"k":2}'), (NULL) AS t(s) LATERAL VIEW json_tuple(s, 'k') j AS k;
-- function: from_json
SELECT from_json('{"a":1,"b":"x"}', 'a INT, b STRING'), from_json('{"a":"notint"}', 'a INT'), from_json('bad', 'a INT'), from_json(NULL, 'a INT');
SELECT from_json('[1,2,null]', 'ARRAY<INT>'), from_json('{"k":1,"j":2}', 'MAP<STRING,INT>'), from_json('{"a":{"b":[1,2]}}', 'a STRUCT<b: ARRAY<BIGINT>>');
SELECT from_json('{"d":"2024-02-29","t":"2024-02-29 12:00:00"}', 'd DATE, t TIMESTAMP'), from_json('{"x":1.25}', 'x DECIMAL(5,2)'), from_json('{"x":1e400}', 'x DOUBLE');
SELECT from_json('{"A":1}', 'a INT'), from_json('{"a":1}', 'A INT'), from_json('{"a":1, "a":2}', 'a INT'), from_json('{}', 'a INT');
SELECT from_json('{"a":1}', 'a INT', map('mode', 'FAILFAST')), from_json('[{"a":1},{"a":2}]', 'ARRAY<STRUCT<a: INT>>');
-- function: to_json
SELECT to_json(named_struct('a', 1, 'b', 'héllo')), to_json(array(1, NULL, 3)), to_json(map('k', 1)), to_json(named_struct('a', CAST(NULL AS INT)));
SELECT to_json(named_struct('d', DATE '2024-02-29', 't', TIMESTAMP '2024-02-29 12:34:56.5', 'x', 1.50, 'f', 0.1D, 'n', CAST('NaN' AS DOUBLE)));
SELECT to_json(array(named_struct('a', 1), named_struct('a', 2))), to_json(map(1, array('x'))), to_json(named_struct('s', 'quote " and \\ backslash'));
SELECT to_json(named_struct('e', array(), 'm', map())), to_json(named_struct('b', true, 'bin', X'0A0B'));
-- function: schema_of_json
SELECT schema_of_json('{"a":1,"b":[1.5],"c":{"d":"x"}}'), schema_of_json('[1, 2]'), schema_of_json('{"a":null}'), schema_of_json('{"a":12345678901}');
-- function: json_array_length
SELECT json_array_length('[1,2,[3,4]]'), json_array_length('[]'), json_array_length('{"a":1}'), json_array_length('bad'), json_array_length(NULL);
-- function: json_object_keys
SELECT json_object_keys('{"b":1,"a":{"c":2}}'), json_object_keys('{}'), json_object_keys('[1]'), json_object_keys('bad');
-- function: to_json_roundtrip
SELECT from_json(to_json(named_struct('a', 1, 'b', array('x', 'y'))), 'a INT, b ARRAY<STRING>');
-- function: get_json_object_table
SELECT id, get_json_object(js, '$.v') AS v FROM VALUES (1, '{"v":10}'), (2, '{"v":"s"}'), (3, '{}'), (4, NULL) AS t(id, js) ORDER BY id;
-- function: from_json_table
SELECT id, p.a, p.b FROM (SELECT id, from_json(js, 'a INT, b ARRAY<STRING>') AS p FROM VALUES (1, '{"a":1,"b":["x"]}'), (2, '{"b":[]}'), (3, 'oops') AS t(id, js)) ORDER BY id;
