-- Edge cases for arithmetic and math functions: overflow, division by zero, decimals, NaN.
-- function: +
SELECT 2147483647 + 1, -2147483648 - 1, 9223372036854775807 + 1, CAST(127 AS TINYINT) + CAST(1 AS TINYINT), CAST(32767 AS SMALLINT) + 1S;
SELECT 2147483647 * 2, 9223372036854775807 * 2, -9223372036854775808 - 1L, 1 + NULL, 1 + '2', '1.5' + 1;
-- function: /
SELECT 3 / 2, -3 / 2, 1 / 0, 0 / 0, 1.0 / 0, 1.0D / 0, -1.0D / 0, 0.0D / 0;
SELECT 1 / 3, 1.0 / 3, 10 / 4.0, CAST(1 AS BIGINT) / 3, 2 / 0.5;
-- function: div
SELECT 7 div 2, -7 div 2, 7 div -2, 7 div 0, 7.5 div 2, -9223372036854775808 div -1;
-- function: %
SELECT 7 % 3, -7 % 3, 7 % -3, 7 % 0, 2 % 1.8, 5.5 % 2, -5.5D % 2, mod(-7, 3), pmod(-7, 3), pmod(7, -3);
-- function: decimal_arith
SELECT 0.1 + 0.2, 0.1D + 0.2D, 0.1 * 3, 1.10 * 1.10, 99999999999999999999999999999999999999 + 1;
SELECT CAST(1.255 AS DECIMAL(10,2)), CAST(-1.255 AS DECIMAL(10,2)), CAST(1.245 AS DECIMAL(10,2)), CAST(123.456 AS DECIMAL(4,1)), CAST(12345.6 AS DECIMAL(4,1));
SELECT CAST(10 AS DECIMAL(38,10)) / 3, CAST(1 AS DECIMAL(38,0)) / CAST(3 AS DECIMAL(38,0)), 1.5BD * 2, 12345678901234567890.123 * 10;
-- function: round
SELECT round(2.5), round(-2.5), round(3.5), round(2.5D), round(-2.5D), round(1.2345, 2), round(1234.5, -2), round(NULL);
SELECT bround(2.5), bround(3.5), bround(-2.5), bround(1.225, 2), round(1.005D, 2), round(0.125D, 2);
-- function: floor
SELECT floor(-1.5), ceil(-1.5), floor(1.5D), ceil(1.000001), ceiling(-0.5), floor(NULL), floor(3.456, 1), ceil(3.451, 2);
-- function: abs
SELECT abs(-2147483648), abs(-9223372036854775808), abs(-1.5), abs(-0.0D), abs(NULL), negative(5), -(-2147483648);
-- function: sqrt
SELECT sqrt(4), sqrt(2), sqrt(-1), sqrt(0.0), cbrt(-27), pow(2, 10), power(2, -1), pow(0, 0), pow(-8, 1.0 / 3);
-- function: ln
SELECT ln(1), ln(0), ln(-1), log10(1000), log2(8), log(2, 8), log(0, 8), exp(0), exp(710), log1p(-1), expm1(1e-10);
-- function: sign
SELECT sign(-5), sign(0), sign(3.2), signum(-0.0D), sign(NULL);
-- function: greatest
SELECT greatest(1, 2.5, 3), least(1, NULL, -1), greatest(NULL, NULL), greatest('a', 'B'), least(CAST('NaN' AS DOUBLE), 1.0D), greatest(CAST('NaN' AS DOUBLE), 1.0D);
-- function: nan
SELECT CAST('NaN' AS DOUBLE) = CAST('NaN' AS DOUBLE), CAST('NaN' AS DOUBLE) > 1e308, isnan(0.0D / 0), nanvl(CAST('NaN' AS DOUBLE), 1.0D), CAST('Infinity' AS DOUBLE), CAST('-inf' AS DOUBLE);
-- function: trig
SELECT sin(0), cos(0), tan(0), asin(2), acos(1), atan(1) * 4, atan2(1, 1), degrees(pi()), radians(180), sinh(0), cosh(0), tanh(100);
-- function: conv
SELECT conv('ff', 16, 10), conv('-1', 10, 16), conv('zz', 36, 2), conv('', 10, 2), bin(5), bin(-1), hex(255), hex(-1), unhex('GG');
-- function: factorial
SELECT factorial(0), factorial(20), factorial(21), factorial(-1);
-- function: shiftleft
SELECT shiftleft(1, 31), shiftleft(1, 32), shiftright(-8, 1), shiftrightunsigned(-8, 1), shiftleft(1L, 63);
-- function: bitwise
SELECT 5 & 3, 5 | 3, 5 ^ 3, ~5, bit_count(-1), bit_get(5, 0), bit_get(5, 1);
-- function: width_bucket
SELECT width_bucket(5.3, 0.2, 10.6, 5), width_bucket(-1, 0, 10, 5), width_bucket(11, 0, 10, 5), width_bucket(5, 10, 0, 5);
-- function: try_add
SELECT try_add(2147483647, 1), try_subtract(-9223372036854775808, 1), try_multiply(9223372036854775807, 2), try_divide(1, 0), try_mod(1, 0);
-- function: double_ops
SELECT 1e308 * 10, -1e308 * 10, 1e-320, CAST(1.0E20 AS BIGINT), CAST(-1.0E20 AS INT), CAST(3.99 AS INT), CAST(-3.99 AS INT), CAST(CAST('NaN' AS DOUBLE) AS INT);
SELECT CAST(0.1 AS FLOAT), CAST(0.1 AS FLOAT) + 0.1D, CAST(1e40 AS FLOAT), CAST(16777217 AS FLOAT), 0.1D * 3;
-- function: rint
SELECT rint(2.5D), rint(-2.5D), rint(3.5D), e(), pi();
-- function: hypot
SELECT hypot(3, 4), hypot(NULL, 1), cot(1), sec(0), csc(1);
-- function: positive
SELECT positive(-1), +(-2), 1 - -1, - -1, -(-9223372036854775807 - 1);
-- function: rand
SELECT rand(0), rand(NULL), random(42), randn(0), randn(7), uniform(10, 20, 0), uniform(1.5, 2.55, 1), uniform(10L, 20, 1), uniform(CAST(1 AS FLOAT), 2.0D, 9), randstr(8, 0) FROM range(0, 3, 1, 1);
SELECT id, rand(-5), randn(123456789012) FROM range(0, 2, 1, 1);
