-- Edge cases for string functions: NULLs, empty strings, multi-byte text, negative positions.
-- function: length
SELECT length('héllo'), length('日本語'), length('😀x'), length(''), length(CAST(NULL AS STRING));
SELECT char_length('naïve'), character_length(''), octet_length('héllo'), bit_length('日本');
-- function: upper
SELECT upper('héllo'), lower('ÉCOLE'), upper(''), upper(NULL), initcap('hello wORLD  x');
-- function: substring
SELECT substring('héllo', 2, 3), substring('héllo', -3), substring('héllo', 0, 2), substring('abc', 5);
SELECT substr('日本語テキスト', 2, 2), substr('abc', -5, 3), substr('abc', 2, -1), substr(NULL, 1, 2);
SELECT substring('abcdef' FROM 2 FOR 3), substring('abcdef' FROM -2);
-- function: left
SELECT left('héllo', 2), right('héllo', 2), left('abc', 0), left('abc', -1), right('abc', 10);
-- function: concat
SELECT concat('a', NULL, 'b'), concat('', ''), concat('日本', '語'), 'a' || 'b' || NULL;
SELECT concat_ws('-', 'a', NULL, 'b'), concat_ws(',', array('x', 'y'), 'z'), concat_ws(NULL, 'a', 'b'), concat_ws('', '');
-- function: trim
SELECT trim('  ab  '), ltrim('  ab  '), rtrim('  ab  '), trim(''), trim(NULL);
SELECT trim(BOTH 'x' FROM 'xxabxx'), trim(LEADING 'x' FROM 'xxabxx'), trim(TRAILING 'x' FROM 'xxabxx');
SELECT length(trim('\t ab \n')), btrim('xyabyx', 'xy');
-- function: lpad
SELECT lpad('abc', 6, '*'), lpad('abc', 2, '*'), lpad('abc', 5, ''), rpad('héllo', 7, 'é'), rpad('abc', -1, 'x');
SELECT lpad('', 3, 'ab'), rpad(NULL, 3, 'a'), lpad('日本', 5, '語');
-- function: replace
SELECT replace('aaa', 'a', 'bb'), replace('abc', '', 'x'), replace('abc', 'b'), replace('héllo', 'é', 'e');
-- function: translate
SELECT translate('AaBbCc', 'abc', '123'), translate('héllo', 'é', 'e'), translate('abc', 'abc', 'x');
-- function: instr
SELECT instr('héllo', 'l'), instr('abc', ''), instr('abc', 'z'), instr(NULL, 'a');
SELECT locate('b', 'abcb'), locate('b', 'abcb', 3), locate('b', 'abcb', 0), position('c' IN 'abc');
-- function: reverse
SELECT reverse('héllo'), reverse('日本語'), reverse(''), reverse(NULL);
-- function: repeat
SELECT repeat('ab', 3), repeat('ab', 0), repeat('ab', -1), repeat('', 5);
-- function: split
SELECT split('a,b,,c', ','), split('', ','), split('abc', ''), split('a.b', '\\.'), split('a,b,c', ',', 2);
SELECT split_part('a,b,c', ',', 2), split_part('a,b,c', ',', -1), split_part('a,b,c', ',', 5), split_part('', ',', 1);
-- function: regexp_replace
SELECT regexp_replace('100-200', '(\\d+)', 'num'), regexp_replace('abc', 'x*', '-'), regexp_replace('a.b.c', '\\.', '/');
SELECT regexp_replace('foo bar', '(\\w+) (\\w+)', '$2 $1'), regexp_replace(NULL, 'a', 'b');
-- function: regexp_extract
SELECT regexp_extract('100-200', '(\\d+)-(\\d+)', 1), regexp_extract('100-200', '(\\d+)-(\\d+)', 2), regexp_extract('abc', '(\\d+)', 1);
SELECT regexp_extract_all('a1b22c333', '(\\d+)', 1), regexp_like('héllo', '^h.llo$'), 'abc' RLIKE 'b';
-- function: like
SELECT 'abc' LIKE 'a%', 'abc' LIKE 'a_c', 'a_c' LIKE 'a\\_c', 'abc' LIKE 'a\\_c', '%' LIKE '\\%', NULL LIKE 'a';
SELECT 'ABC' ILIKE 'a%', 'héllo' LIKE 'h_llo', 'a/b' LIKE 'a//b' ESCAPE '/', '' LIKE '';
-- function: ascii
SELECT ascii('a'), ascii(''), ascii('é'), chr(65), chr(256 + 65), char(0), chr(-1);
-- function: format_string
SELECT format_string('%d-%s', 7, 'x'), format_string('%05.2f', 3.14159D), printf('%s', NULL);
-- function: format_number
SELECT format_number(1234567.891, 2), format_number(-0.5, 0), format_number(1234.5, '#,###.#'), format_number(12, 0);
-- function: string_cast
SELECT CAST(123 AS STRING), CAST(-1.5 AS STRING), CAST(true AS STRING), CAST(DATE '2024-02-29' AS STRING);
-- function: comparison
SELECT 'a' < 'b', 'a' < 'B', 'é' > 'z', '' < 'a', 'abc' = 'ABC';
-- function: soundex
SELECT soundex('Robert'), soundex(''), levenshtein('kitten', 'sitting'), levenshtein('', 'abc');
-- function: base64
SELECT base64('héllo'), CAST(unbase64('aMOpbGxv') AS STRING), base64(''), hex('abc'), unhex('616263');
-- function: overlay
SELECT overlay('abcdef' PLACING 'XY' FROM 3), overlay('abcdef' PLACING 'XY' FROM 3 FOR 0), overlay('héllo' PLACING 'E' FROM 2 FOR 1);
-- function: elt
SELECT elt(2, 'a', 'b', 'c'), elt(5, 'a', 'b'), elt(0, 'a'), find_in_set('b', 'a,b,c'), find_in_set('d', 'a,b');
-- function: startswith
SELECT startswith('héllo', 'hé'), endswith('abc', ''), contains('abc', 'bc'), contains(NULL, 'a');
-- function: string_agg_order
SELECT concat_ws('|', collect_list(s)) FROM VALUES ('b'), ('a'), (NULL), ('c') AS t(s);
-- function: sentences
SELECT sentences('Hi there! How are you?'), sentences('');
-- function: mask
SELECT mask('AbCd-123'), mask('abc', 'X', 'x', 'n', NULL);
