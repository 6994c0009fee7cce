-- Edge cases for date and time functions: leap days, month ends, DST, time zones, NULLs.
-- function: date_add
SELECT date_add(DATE '2024-02-28', 1), date_add(DATE '2024-02-28', 2), date_add(DATE '2023-02-28', 1), date_add(DATE '2024-03-01', -1);
SELECT date_sub(DATE '2024-03-01', 1), date_add(DATE '2024-01-31', 30), date_add(NULL, 1), date_add(DATE '2024-01-01', NULL);
SELECT date_add('2024-02-29', 365), date_add('not a date', 1);
-- function: add_months
SELECT add_months(DATE '2024-01-31', 1), add_months(DATE '2023-01-31', 1), add_months(DATE '2024-02-29', 12), add_months(DATE '2024-03-31', -1);
SELECT add_months(DATE '2024-02-29', -12), add_months(DATE '2024-04-30', 1), add_months('2024-01-31', 0);
-- function: datediff
SELECT datediff(DATE '2024-03-01', DATE '2024-02-01'), datediff(DATE '2024-01-01', DATE '2024-12-31'), datediff('2024-03-10', '2024-03-09');
-- function: months_between
SELECT months_between(DATE '2024-03-31', DATE '2024-02-29'), months_between(DATE '2024-03-15', DATE '2024-02-15'), months_between(TIMESTAMP '2024-03-01 12:00:00', DATE '2024-01-01');
SELECT months_between(DATE '2024-01-01', DATE '2024-03-15', false);
-- function: last_day
SELECT last_day(DATE '2024-02-10'), last_day(DATE '2023-02-10'), last_day(DATE '2024-12-31'), last_day(NULL);
-- function: next_day
SELECT next_day(DATE '2024-02-28', 'Mon'), next_day(DATE '2024-02-26', 'monday'), next_day(DATE '2024-02-26', 'xx');
-- function: from_utc_timestamp
SELECT from_utc_timestamp(TIMESTAMP '2024-03-10 06:59:59', 'America/New_York'), from_utc_timestamp(TIMESTAMP '2024-03-10 07:00:00', 'America/New_York');
SELECT from_utc_timestamp(TIMESTAMP '2024-11-03 05:30:00', 'America/New_York'), from_utc_timestamp(TIMESTAMP '2024-11-03 06:30:00', 'America/New_York');
SELECT from_utc_timestamp(TIMESTAMP '2024-03-31 00:30:00', 'Europe/Paris'), from_utc_timestamp(TIMESTAMP '2024-03-31 01:30:00', 'Europe/Paris');
SELECT from_utc_timestamp('2024-07-01 12:00:00', '+05:30'), from_utc_timestamp('2024-07-01 12:00:00', 'UTC'), from_utc_timestamp(NULL, 'UTC');
-- function: to_utc_timestamp
SELECT to_utc_timestamp(TIMESTAMP '2024-03-10 02:30:00', 'America/New_York'), to_utc_timestamp(TIMESTAMP '2024-03-10 03:30:00', 'America/New_York');
SELECT to_utc_timestamp(TIMESTAMP '2024-11-03 01:30:00', 'America/New_York'), to_utc_timestamp(TIMESTAMP '2024-10-27 02:30:00', 'Europe/Paris');
-- function: date_format
SELECT date_format(TIMESTAMP '2024-02-29 13:05:09.123456', 'yyyy-MM-dd HH:mm:ss.SSS'), date_format(DATE '2024-02-29', 'EEEE, d MMM yyyy');
SELECT date_format(TIMESTAMP '2024-01-01 00:00:00', 'yy-M-d h a'), date_format(NULL, 'yyyy'), date_format(TIMESTAMP '2024-03-10 12:00:00', 'D');
-- function: to_date
SELECT to_date('2024-02-29'), to_date('2023-02-29'), to_date('2024-13-01'), to_date(''), to_date('29/02/2024', 'dd/MM/yyyy');
SELECT to_date('2024-02-29 23:59:59'), to_date(' 2024-02-29'), to_date('20240229', 'yyyyMMdd'), to_date(NULL);
-- function: to_timestamp
SELECT to_timestamp('2024-02-29 12:34:56'), to_timestamp('2024-02-29T12:34:56.789Z'), to_timestamp('garbage'), to_timestamp('2024-02-29 12:34', 'yyyy-MM-dd HH:mm');
SELECT to_timestamp('2024-03-10 02:30:00'), to_timestamp('2024-06-01 00:00:00+02:00'), to_timestamp('1970-01-01');
-- function: unix_timestamp
SELECT unix_timestamp('2024-02-29 00:00:00'), unix_timestamp('2024-02-29', 'yyyy-MM-dd'), unix_timestamp('bad'), to_unix_timestamp(TIMESTAMP '1969-12-31 23:59:59');
-- function: from_unixtime
SELECT from_unixtime(0), from_unixtime(1709164800), from_unixtime(-1), from_unixtime(1709164800, 'yyyy/MM/dd'), from_unixtime(NULL);
-- function: timestamp_seconds
SELECT timestamp_seconds(1709164800), timestamp_seconds(-1), timestamp_millis(1709164800123), timestamp_micros(1709164800123456), timestamp_seconds(1.5);
-- function: unix_date
SELECT unix_date(DATE '2024-02-29'), unix_date(DATE '1969-12-31'), date_from_unix_date(19782), unix_seconds(TIMESTAMP '2024-02-29 00:00:00'), unix_micros(TIMESTAMP '1970-01-01 00:00:01');
-- function: extract
SELECT year(DATE '2024-02-29'), month(DATE '2024-02-29'), day(DATE '2024-02-29'), dayofweek(DATE '2024-02-29'), dayofyear(DATE '2024-12-31'), weekofyear(DATE '2024-12-30'), quarter(DATE '2024-11-03');
SELECT hour(TIMESTAMP '2024-03-10 02:30:00'), minute(TIMESTAMP '2024-03-10 02:30:45'), second(TIMESTAMP '2024-03-10 02:30:45.999'), weekday(DATE '2024-03-10');
SELECT extract(YEAR FROM DATE '2024-02-29'), extract(DOW FROM DATE '2024-03-10'), extract(SECOND FROM TIMESTAMP '2024-01-01 00:00:01.5'), date_part('week', DATE '2021-01-03');
-- function: trunc
SELECT trunc(DATE '2024-02-29', 'MM'), trunc(DATE '2024-02-29', 'YEAR'), trunc(DATE '2024-02-29', 'Q'), trunc(DATE '2024-02-29', 'WEEK'), trunc(DATE '2024-02-29', 'xx');
-- function: date_trunc
SELECT date_trunc('HOUR', TIMESTAMP '2024-03-10 02:59:59'), date_trunc('DAY', TIMESTAMP '2024-02-29 23:00:00'), date_trunc('MONTH', '2024-02-29 10:00:00'), date_trunc('WEEK', TIMESTAMP '2024-03-03 10:00:00');
-- function: make_date
SELECT make_date(2024, 2, 29), make_date(2023, 2, 29), make_date(2024, 13, 1), make_date(NULL, 1, 1);
SELECT make_timestamp(2024, 2, 29, 23, 59, 59.999999), make_timestamp(2024, 2, 30, 0, 0, 0), make_timestamp(2024, 3, 10, 2, 30, 0, 'America/New_York');
-- function: date_arith
SELECT DATE '2024-03-01' - DATE '2024-02-01', DATE '2024-03-01' - 1, DATE '2024-02-28' + 1, TIMESTAMP '2024-03-01 00:00:00' - INTERVAL 1 DAY;
SELECT TIMESTAMP '2024-03-10 01:30:00' + INTERVAL 1 HOUR, TIMESTAMP '2024-01-31 10:00:00' + INTERVAL 1 MONTH, DATE '2024-02-29' + INTERVAL '1' YEAR;
SELECT TIMESTAMP '2024-03-10 12:00:00' - TIMESTAMP '2024-03-09 12:00:00', DATE '2024-01-31' + INTERVAL '1-1' YEAR TO MONTH;
-- function: timestampadd
SELECT timestampadd(MONTH, 1, TIMESTAMP '2024-01-31 00:00:00'), timestampadd(DAY, -1, DATE '2024-03-01'), timestampdiff(MONTH, DATE '2024-01-31', DATE '2024-02-29'), timestampdiff(HOUR, TIMESTAMP '2024-03-10 00:00:00', TIMESTAMP '2024-03-11 00:00:00');
-- function: datediff_cast
SELECT CAST(TIMESTAMP '2024-02-29 12:34:56.5' AS STRING), CAST(TIMESTAMP '2024-02-29 12:34:56' AS DATE), CAST(DATE '2024-02-29' AS TIMESTAMP), CAST('2024-02-29 12:00' AS TIMESTAMP);
SELECT CAST(TIMESTAMP '2024-02-29 12:00:00' AS BIGINT), CAST(1709208000 AS TIMESTAMP), CAST(TIMESTAMP '2024-02-29 12:00:00' AS TIMESTAMP_NTZ), CAST(TIMESTAMP_NTZ '2024-02-29 12:00:00' AS STRING);
-- function: make_interval
SELECT make_dt_interval(1, 2, 3, 4.5), make_ym_interval(1, 13), make_ym_interval(-1, 0);
-- expect error (a calendar interval is not collectable)
SELECT make_interval(0, 1, 0, 1);
-- function: window_time
SELECT window.start, window.end, count(*) FROM VALUES (TIMESTAMP '2024-03-10 01:59:00'), (TIMESTAMP '2024-03-10 02:01:00'), (TIMESTAMP '2024-03-10 03:05:00') AS t(ts) GROUP BY window(ts, '1 hour') ORDER BY 1;
