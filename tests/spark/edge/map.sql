-- Edge cases for map functions: entry order, missing keys, NULL values, duplicate keys.
-- function: map
SELECT map(), map('a', 1, 'b', NULL), map(2, 'x', 1, 'y'), map('é', '日本'), size(map());
-- expect error (duplicate keys fail under the default mapKeyDedupPolicy)
SELECT map('a', 1, 'a', 2);
-- function: subscript
SELECT map('a', 1, 'b', 2)['a'], map('a', 1)['z'], map(1, 'x')[1], map('a', 1)[NULL];
-- function: element_at
SELECT element_at(map('a', 1), 'a'), element_at(map('a', 1), 'z'), try_element_at(map('a', 1), 'z'), element_at(map(1.5, 'x'), 1.5);
-- function: map_keys
SELECT map_keys(map('b', 1, 'a', 2)), map_values(map('b', 1, 'a', NULL)), map_keys(map()), map_entries(map('x', 1, 'y', 2));
-- function: map_from_arrays
SELECT map_from_arrays(array('a', 'b'), array(1, 2)), map_from_arrays(array(), array()), map_from_arrays(array('a'), array(NULL));
-- expect error
SELECT map_from_arrays(array('a', 'b'), array(1));
-- expect error
SELECT map_from_arrays(array('a', NULL), array(1, 2));
-- function: map_from_entries
SELECT map_from_entries(array(struct('a', 1), struct('b', 2))), map_from_entries(array(named_struct('k', 1, 'v', 'x')));
-- function: map_concat
SELECT map_concat(map('a', 1), map('b', 2)), map_concat(map('a', 1), map()), map_concat(map('a', 1), CAST(NULL AS MAP<STRING,INT>));
-- expect error
SELECT map_concat(map('a', 1), map('a', 2));
-- function: map_contains_key
SELECT map_contains_key(map('a', 1), 'a'), map_contains_key(map('a', NULL), 'a'), map_contains_key(map(), 'a');
-- function: map_filter
SELECT map_filter(map('a', 1, 'b', 2, 'c', 3), (k, v) -> v > 1), map_filter(map('a', NULL), (k, v) -> v IS NULL), map_filter(map(), (k, v) -> true);
-- function: transform_values
SELECT transform_values(map('a', 1, 'b', 2), (k, v) -> v * 10), transform_keys(map('a', 1, 'b', 2), (k, v) -> upper(k)), transform_values(map('a', 1), (k, v) -> concat(k, CAST(v AS STRING)));
-- function: map_zip_with
SELECT map_zip_with(map('a', 1, 'b', 2), map('b', 20, 'c', 30), (k, x, y) -> coalesce(x, 0) + coalesce(y, 0));
-- function: str_to_map
SELECT str_to_map('a:1,b:2'), str_to_map('a=1;b=2', ';', '='), str_to_map(''), str_to_map('a'), str_to_map('k:v:w');
-- function: explode
SELECT explode(map('b', 1, 'a', 2)), explode(map());
SELECT posexplode(map('x', 10, 'y', 20));
-- function: map_nested
SELECT map('outer', map('inner', array(1, 2))), array(map('a', 1), map()), named_struct('m', map(1, 'x'));
-- function: map_table
SELECT k, m['x'] AS x, size(m) AS n FROM VALUES (1, map('x', 1)), (2, map('y', 2)), (3, CAST(NULL AS MAP<STRING,INT>)) AS t(k, m) ORDER BY k;
-- function: map_agg
SELECT map_from_entries(collect_list(struct(k, v))) FROM VALUES ('a', 1), ('b', 2) AS t(k, v);
-- function: cardinality
SELECT cardinality(map('a', 1, 'b', 2)), size(CAST(NULL AS MAP<INT,INT>));
