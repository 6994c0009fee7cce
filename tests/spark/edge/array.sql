-- Edge cases for array functions: empty arrays, NULL elements, NULL arrays, out-of-range indexes.
-- function: array
SELECT array(), array(NULL), array(1, NULL, 3), array(1, 2.5), array('a', 1), size(array()), size(CAST(NULL AS ARRAY<INT>));
-- function: element_at
SELECT element_at(array(10, 20, 30), 1), element_at(array(10, 20, 30), -1), element_at(array(10, 20, 30), 5), element_at(array(10, 20), -5);
-- function: subscript
SELECT array(10, 20)[0], array(10, 20)[1], array(10, 20)[2], array(10, 20)[-1], try_element_at(array(1), 5);
-- expect error
SELECT try_element_at(array(1), 0);
-- function: array_contains
SELECT array_contains(array(1, 2), 2), array_contains(array(1, NULL), 3), array_contains(array(1, NULL), 1), array_contains(array(), 1), array_contains(CAST(NULL AS ARRAY<INT>), 1);
-- function: array_position
SELECT array_position(array(3, 2, 1, 2), 2), array_position(array(1), 5), array_position(array('é', 'e'), 'e');
-- function: array_distinct
SELECT array_distinct(array(1, 2, 2, NULL, NULL, 1)), array_distinct(array()), array_distinct(array(CAST('NaN' AS DOUBLE), CAST('NaN' AS DOUBLE), 0.0D, -0.0D));
-- function: array_union
SELECT array_union(array(1, 2), array(2, 3, NULL)), array_intersect(array(1, 2, NULL), array(2, NULL)), array_except(array(1, 2, 2, 3), array(2)), arrays_overlap(array(1, NULL), array(3)), arrays_overlap(array(1), array(1, NULL));
-- function: array_remove
SELECT array_remove(array(1, 2, NULL, 2), 2), array_remove(array(1), NULL), array_compact(array(1, NULL, 2, NULL));
-- function: array_join
SELECT array_join(array('a', NULL, 'b'), ','), array_join(array('a', NULL, 'b'), ',', '?'), array_join(array(), ','), array_join(array(1, 2), '-');
-- function: sort_array
SELECT sort_array(array(3, NULL, 1)), sort_array(array(3, NULL, 1), false), array_sort(array(3, NULL, 1)), sort_array(array('b', 'A', 'a', 'é'));
SELECT array_sort(array('bb', 'a', 'ccc'), (x, y) -> CASE WHEN length(x) < length(y) THEN 1 WHEN length(x) > length(y) THEN -1 ELSE 0 END);
-- function: array_max
SELECT array_max(array(1, NULL, 3)), array_min(array(1, NULL, 3)), array_max(array()), array_max(array(NULL)), array_max(array(1.0D, CAST('NaN' AS DOUBLE)));
-- function: slice
SELECT slice(array(1, 2, 3, 4), 2, 2), slice(array(1, 2, 3, 4), -2, 5), slice(array(1, 2, 3), 5, 1), slice(array(1, 2, 3), 1, 0);
-- function: concat
SELECT concat(array(1), array(2, 3)), concat(array(1), CAST(NULL AS ARRAY<INT>)), concat(array(), array()), array(1) || array(2);
-- function: flatten
SELECT flatten(array(array(1, 2), array(3))), flatten(array(array(), array(1))), flatten(array(array(1), NULL));
-- function: sequence
SELECT sequence(1, 5), sequence(5, 1), sequence(1, 10, 3), sequence(DATE '2024-02-27', DATE '2024-03-02', INTERVAL 1 DAY), sequence(DATE '2024-01-31', DATE '2024-05-31', INTERVAL 1 MONTH);
-- function: array_repeat
SELECT array_repeat('x', 3), array_repeat(NULL, 2), array_repeat(1, 0), array_repeat(1, -1);
-- function: reverse
SELECT reverse(array(1, NULL, 3)), reverse(array()), reverse(CAST(NULL AS ARRAY<INT>));
-- function: shuffle
SELECT size(shuffle(array(1, 2, 3))), shuffle(array());
-- function: arrays_zip
SELECT arrays_zip(array(1, 2, 3), array('a', 'b')), arrays_zip(array(), array());
-- function: array_append
SELECT array_append(array(1, 2), 3), array_append(array(1), NULL), array_prepend(array(2), 1), array_insert(array(1, 2, 3), 2, 9), array_insert(array(1, 2), -1, 9), array_insert(array(1), 5, 9);
-- function: transform
SELECT transform(array(1, 2, 3), x -> x * 10), transform(array(1, 2, 3), (x, i) -> x + i), transform(array(), x -> x), transform(CAST(NULL AS ARRAY<INT>), x -> x);
-- function: filter
SELECT filter(array(1, NULL, 3, 4), x -> x > 2), filter(array(1, 2, 3), (x, i) -> i > 0), exists(array(1, NULL), x -> x = 2), forall(array(1, NULL), x -> x > 0), forall(array(), x -> false);
-- function: aggregate
SELECT aggregate(array(1, 2, 3), 0, (acc, x) -> acc + x), aggregate(array(1, 2, 3), 0, (acc, x) -> acc + x, acc -> acc * 10), aggregate(array(), 0, (a, x) -> a + x), reduce(array(1.5D, 2.5D), 0.0D, (a, x) -> a + x);
-- function: zip_with
SELECT zip_with(array(1, 2, 3), array(10, 20), (x, y) -> x + y), zip_with(array('a'), array('b'), (x, y) -> concat(x, y));
-- function: size
SELECT size(array(1, NULL)), cardinality(array()), size(NULL), array_size(array(1, 2));
-- function: explode_table
SELECT k, explode(v) FROM VALUES (1, array(10, 20)), (2, array()), (3, NULL) AS t(k, v) ORDER BY k;
-- function: get
SELECT get(array(1, 2), 0), get(array(1, 2), 2), get(array(1, 2), -1);
