-- Edge cases for conditional functions: NULL propagation, type coercion, short circuits.
-- function: coalesce
SELECT coalesce(NULL, 1, 2), coalesce(NULL, NULL), coalesce(NULL, 'a'), coalesce(1, 2.5), coalesce(1 / 0, 7);
-- function: nvl
SELECT nvl(NULL, 'x'), nvl('a', 'x'), nvl2(NULL, 'y', 'n'), nvl2(0, 'y', 'n'), ifnull(NULL, 0);
-- function: nullif
SELECT nullif(1, 1), nullif(1, 2), nullif(NULL, 1), nullif('', ''), nullifzero(0), zeroifnull(NULL);
-- function: if
SELECT if(true, 1, 2), if(NULL, 1, 2), if(1 > 0, 'a', NULL), if(false, 1, 2.5);
-- function: case
SELECT CASE WHEN CAST(NULL AS BOOLEAN) THEN 'a' ELSE 'b' END, CASE 1 WHEN 1 THEN 'one' WHEN 2 THEN 'two' END, CASE 3 WHEN 1 THEN 'one' END, CASE NULL WHEN NULL THEN 'eq' ELSE 'ne' END;
SELECT CASE WHEN v > 1 THEN 'big' WHEN v IS NULL THEN 'none' ELSE 'small' END FROM VALUES (1), (2), (NULL) AS t(v);
SELECT CASE WHEN true THEN 1 ELSE 'x' END, CASE WHEN false THEN 1 ELSE 2.5 END;
-- function: greatest
SELECT greatest(1, NULL, 3), least('b', 'a', NULL), greatest(DATE '2024-02-29', DATE '2024-03-01');
-- function: isnull
SELECT isnull(NULL), isnotnull(NULL), NULL IS NULL, 1 IS NOT NULL, NULL <=> NULL, 1 <=> NULL, NULL = NULL;
-- function: in
SELECT 1 IN (1, 2), 3 IN (1, 2), 3 IN (1, NULL), NULL IN (1), 1 NOT IN (2, NULL), 'a' IN ('A', 'a');
-- function: between
SELECT 2 BETWEEN 1 AND 3, 2 BETWEEN 3 AND 1, NULL BETWEEN 1 AND 2, 'b' BETWEEN 'a' AND 'c', 2 NOT BETWEEN 1 AND 3;
-- function: and
SELECT true AND NULL, false AND NULL, true OR NULL, false OR NULL, NOT NULL, NULL AND NULL;
-- function: nanvl
SELECT nanvl(CAST('NaN' AS DOUBLE), 0.0D), nanvl(1.0D, 0.0D), nanvl(NULL, 1.0D);
-- function: assert_true
SELECT assert_true(1 = 1);
-- expect error
SELECT assert_true(1 = 2);
-- function: raise_error
-- expect error
SELECT raise_error('boom');
-- function: equal_null
SELECT equal_null(NULL, NULL), equal_null(1, NULL), equal_null('a', 'a');
-- function: coalesce_types
SELECT coalesce(CAST(NULL AS INT), 1L), coalesce(NULL, DATE '2024-02-29'), coalesce(CAST(NULL AS STRING), 1), coalesce(NULL, array(1));
-- function: case_table
SELECT k, CASE k WHEN 'a' THEN 1 WHEN 'b' THEN 2 ELSE 0 END FROM VALUES ('a'), ('b'), ('c'), (NULL) AS t(k) ORDER BY k NULLS FIRST;
-- function: coalesce
SELECT coalesce(''), coalesce(NULL, ''), coalesce(CAST(NULL AS DOUBLE), 1), coalesce(NULL, NULL, 3.5, 1);
-- function: if
SELECT if(v > 0, 'pos', if(v < 0, 'neg', 'zero')) FROM VALUES (1), (-1), (0), (NULL) AS t(v);
SELECT if(1 = 1, 1, 1 / 0), if(NULL IS NULL, 'null', 'not');
-- function: case
SELECT CASE WHEN 1 / 0 IS NULL THEN 'null division' ELSE 'value' END, CASE 'A' WHEN 'a' THEN 'lower' WHEN 'A' THEN 'upper' END;
SELECT CASE WHEN v = 1 THEN DATE '2024-02-29' ELSE NULL END FROM VALUES (1), (2) AS t(v);
-- function: decode
SELECT decode(2, 1, 'one', 2, 'two', 'other'), decode(9, 1, 'one', 'other'), decode(NULL, NULL, 'null match', 'no'), decode(3, 1, 'one');
-- function: nullif
SELECT nullif(CAST(NULL AS INT), NULL), nullif(1.0, 1), nullif('a', 'A');
-- function: in
SELECT v IN (1, 2) AS hit FROM VALUES (1), (3), (NULL) AS t(v);
