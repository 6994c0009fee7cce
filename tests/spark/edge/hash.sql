-- Edge cases for hash functions: empty strings, NULLs, unicode, binary and numeric inputs.
-- function: md5
SELECT md5(''), md5('abc'), md5('héllo'), md5(NULL), md5(X'00FF');
-- function: sha1
SELECT sha1(''), sha1('abc'), sha('日本語'), sha1(NULL);
-- function: sha2
SELECT sha2('abc', 256), sha2('abc', 224), sha2('abc', 384), sha2('abc', 512), sha2('abc', 0), sha2('abc', 123), sha2('', 256);
-- function: crc32
SELECT crc32(''), crc32('abc'), crc32('héllo'), crc32(NULL), crc32(X'00');
-- function: hash
SELECT hash(1), hash(1L), hash('abc'), hash(''), hash(NULL), hash(1, 'a'), hash(1.5D), hash(DATE '2024-02-29');
SELECT hash(array(1, 2)), hash(named_struct('a', 1)), hash(0.0D), hash(-0.0D), hash(true);
-- function: xxhash64
SELECT xxhash64(1), xxhash64('abc'), xxhash64(''), xxhash64(NULL), xxhash64(1, 'a'), xxhash64(X'0A');
-- expect error (maps cannot be hashed)
SELECT hash(map('a', 1));
-- function: md5_types
SELECT md5(CAST(123 AS STRING)), md5(X''), sha2(CAST('é' AS BINARY), 256);
-- function: hash_table
SELECT k, hash(k), xxhash64(k) FROM VALUES ('a'), ('b'), (NULL) AS t(k) ORDER BY k;
-- function: sha2
SELECT sha2(NULL, 256), sha2('héllo', 256), sha2(X'', 512), sha2('abc', NULL);
-- function: hash
SELECT hash(CAST(1 AS TINYINT)), hash(CAST(1 AS SMALLINT)), hash(1.0), hash(CAST(1.0 AS FLOAT)), hash(X'00'), hash(TIMESTAMP '2024-02-29 00:00:00');
SELECT hash('héllo'), hash('日本語'), hash(array()), hash(array(NULL)), hash(NULL, NULL), hash(1, NULL);
SELECT hash(CAST(NULL AS INT)), hash(CAST(1.25 AS DECIMAL(20,2))), hash(CAST('NaN' AS DOUBLE));
-- function: xxhash64
SELECT xxhash64(1L), xxhash64(1.5D), xxhash64(DATE '2024-02-29'), xxhash64(array(1, 2)), xxhash64(named_struct('a', 'x')), xxhash64('日本語');
-- function: md5
SELECT md5('😀'), md5(' '), md5('a\tb'), upper(md5('abc')) = md5('abc');
-- function: crc32
SELECT crc32('日本語'), crc32(' '), crc32(X'FFFFFFFF'), crc32(CAST(12 AS STRING));
-- function: sha1
SELECT sha1(X''), sha1('😀'), sha(' '), sha1(X'00');
-- function: hash_group
SELECT hash(k) % 4 AS bucket, count(*) FROM VALUES ('a'), ('b'), ('c'), ('d'), ('e') AS t(k) GROUP BY 1 ORDER BY 1;
-- function: murmur_sql
SELECT pmod(hash('key'), 10), abs(hash(123)) % 7;
