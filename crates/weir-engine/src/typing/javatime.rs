//! Java `DateTimeFormatter` patterns as Arc's TypingTransform parses with them: the pattern
//! compiled as `DateTimeFormatterBuilder.appendPattern` compiles it, the text parsed strictly
//! (every character consumed, fixed-width fields exactly that wide, no whitespace skipped,
//! adjacent value parsing for patterns such as `yyyyMMdd`), optionally case-insensitive, and
//! the fields resolved as Java's SMART or STRICT resolver resolves them into a date, a time of
//! day and a zone.
//!
//! Pattern letters: `G` `u` `y` `D` `M`/`L` `d` `Q`/`q` `E` `a` `h` `K` `k` `H` `m` `s` `S` `n`
//! `V` (`VV`) `z` `O` `X` `x` `Z`, the week-based `Y` `w` `W` `e` `c`, quoted literals (`'T'`,
//! `''`) and optional sections (`[...]`). The locale is `en_US` (Java's default for Arc's
//! containers): English texts, and weeks that start on Sunday with week 1 the week holding
//! 1 January (`WeekFields[SUNDAY,1]`).

use chrono::{Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};

/// A time zone as Java's `ZoneId`: a region (`Australia/Sydney`) or a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Region(chrono_tz::Tz),
    Fixed(FixedOffset),
}

impl Zone {
    /// `ZoneId.of`: `Z`, `UTC`/`GMT`/`UT` (optionally followed by an offset), offsets
    /// (`+10`, `+1000`, `+10:00`, `-03:30:15`), and region ids.
    pub fn parse(id: &str) -> Option<Zone> {
        if id == "Z" {
            return Some(Zone::Fixed(FixedOffset::east_opt(0)?));
        }
        if id.starts_with(['+', '-']) {
            return offset_id(id).map(Zone::Fixed);
        }
        for prefix in ["UTC", "GMT", "UT"] {
            if let Some(rest) = id.strip_prefix(prefix) {
                if rest.is_empty() {
                    return Some(Zone::Region(chrono_tz::UTC));
                }
                if rest.starts_with(['+', '-']) {
                    return offset_id(rest).map(Zone::Fixed);
                }
            }
        }
        id.parse::<chrono_tz::Tz>().ok().map(Zone::Region)
    }

    /// The instant of a local date-time in this zone, as `ZonedDateTime.of` chooses it: the
    /// earlier offset in an overlap, and in a gap the time moved later by the gap's length.
    pub fn to_utc(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            Zone::Fixed(offset) => Some(local - Duration::seconds(i64::from(offset.local_minus_utc()))),
            Zone::Region(tz) => match tz.from_local_datetime(&local) {
                chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => Some(t.naive_utc()),
                chrono::LocalResult::None => {
                    // The offset in force before the gap.
                    let before = tz.from_local_datetime(&(local - Duration::hours(6))).earliest()?;
                    Some(local - Duration::seconds(i64::from(before.offset().fix().local_minus_utc())))
                }
            },
        }
    }
}

/// The English zone abbreviations Java's `z` parses (standard and daylight names of the
/// zones ETL data commonly carries), with the region each names.
const ZONE_NAMES: &[(&str, &str)] = &[
    ("PST", "America/Los_Angeles"),
    ("PDT", "America/Los_Angeles"),
    ("MST", "America/Denver"),
    ("MDT", "America/Denver"),
    ("CST", "America/Chicago"),
    ("CDT", "America/Chicago"),
    ("EST", "America/New_York"),
    ("EDT", "America/New_York"),
    ("AKST", "America/Anchorage"),
    ("AKDT", "America/Anchorage"),
    ("HST", "Pacific/Honolulu"),
    ("BST", "Europe/London"),
    ("IST", "Asia/Kolkata"),
    ("CET", "Europe/Paris"),
    ("CEST", "Europe/Paris"),
    ("EET", "Europe/Athens"),
    ("EEST", "Europe/Athens"),
    ("WET", "Europe/Lisbon"),
    ("WEST", "Europe/Lisbon"),
    ("JST", "Asia/Tokyo"),
    ("KST", "Asia/Seoul"),
    ("HKT", "Asia/Hong_Kong"),
    ("SGT", "Asia/Singapore"),
    ("AEST", "Australia/Sydney"),
    ("AEDT", "Australia/Sydney"),
    ("ACST", "Australia/Adelaide"),
    ("ACDT", "Australia/Adelaide"),
    ("AWST", "Australia/Perth"),
    ("NZST", "Pacific/Auckland"),
    ("NZDT", "Pacific/Auckland"),
];

/// `ZoneOffset.of`: `+h`, `+hh`, `+hh:mm`, `+hhmm`, `+hh:mm:ss`, `+hhmmss`.
fn offset_id(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    let (h, m, s) = match rest.len() {
        1 | 2 if rest.bytes().all(|b| b.is_ascii_digit()) => (rest, "0", "0"),
        4 if digits(&rest[..2]) && digits(&rest[2..]) => (&rest[..2], &rest[2..], "0"),
        5 if rest.as_bytes()[2] == b':' && digits(&rest[..2]) && digits(&rest[3..]) => (&rest[..2], &rest[3..], "0"),
        6 if rest.bytes().all(|b| b.is_ascii_digit()) => (&rest[..2], &rest[2..4], &rest[4..]),
        8 if rest.as_bytes()[2] == b':' && rest.as_bytes()[5] == b':' => (&rest[..2], &rest[3..5], &rest[6..]),
        _ => return None,
    };
    let (h, m, s): (i32, i32, i32) = (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?);
    if h > 18 || m > 59 || s > 59 || h * 3600 + m * 60 + s > 18 * 3600 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60 + s))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Era,
    YearOfEra,
    Year,
    DayOfYear,
    Month,
    Day,
    DayOfWeek,
    /// `Q`/`q` 1-4.
    Quarter,
    /// `Y`: the year of `w`'s weeks.
    WeekBasedYear,
    /// `w`: week of the week-based year, 1-53.
    WeekOfWeekBasedYear,
    /// `W`: week of the month, 0-6.
    WeekOfMonth,
    /// `e`/`c` as a number: day of the week counted from Sunday (1); stored as ISO `DayOfWeek`.
    LocalDayOfWeek,
    AmPm,
    /// `H` 0-23.
    HourOfDay,
    /// `k` 1-24.
    ClockHourOfDay,
    /// `K` 0-11.
    HourOfAmPm,
    /// `h` 1-12.
    ClockHourOfAmPm,
    Minute,
    Second,
    Nano,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TextStyle {
    Short,
    Full,
    Narrow,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Literal(String),
    /// Digits: `min..=max` of them; `signed` accepts a leading sign (years).
    Number {
        field: Field,
        min: usize,
        max: usize,
        signed: bool,
    },
    /// Two digits on the base year 2000 (`yy`, `uu`).
    Reduced {
        field: Field,
    },
    /// `S…`: exactly that many fraction digits.
    Fraction {
        digits: usize,
    },
    Text {
        field: Field,
        style: TextStyle,
    },
    /// `X`, `x`, `Z`: `+HH`, `+HHmm`, `+HH:mm`…, with the text meaning offset zero.
    Offset {
        pattern: &'static str,
        zero: &'static str,
    },
    /// `O`, `ZZZZ`: `GMT`, `GMT+8`, `GMT+08:00`.
    LocalizedOffset,
    /// `VV`: a zone id.
    ZoneId,
    /// `z`: a zone id or a zone's English abbreviation (`PST`, `AEDT`).
    ZoneText,
    Optional(Vec<Item>),
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    items: Vec<Item>,
    /// The pattern has an offset or zone (then the column's `timezoneId` is not applied).
    pub has_zone: bool,
}

fn count_error(letter: char) -> String {
    format!("Too many pattern letters: {letter}")
}

/// Compiles a pattern as Java's `DateTimeFormatter.ofPattern` does, with its error messages.
pub fn compile(pattern: &str) -> Result<Pattern, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut has_zone = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let current = stack.last_mut().ok_or("unbalanced optional section")?;
        if c.is_ascii_alphabetic() {
            let mut n = 1;
            while chars.get(i + n) == Some(&c) {
                n += 1;
            }
            i += n;
            let number = |field, n: usize| match n {
                1 => Ok(Item::Number { field, min: 1, max: 19, signed: false }),
                2 => Ok(Item::Number { field, min: 2, max: 2, signed: false }),
                _ => Err(count_error(c)),
            };
            let text = |field, n: usize| match n {
                1..=3 => Ok(Item::Text { field, style: TextStyle::Short }),
                4 => Ok(Item::Text { field, style: TextStyle::Full }),
                5 => Ok(Item::Text { field, style: TextStyle::Narrow }),
                _ => Err(count_error(c)),
            };
            let item = match c {
                'G' => text(Field::Era, n)?,
                'y' | 'u' => {
                    let field = if c == 'y' { Field::YearOfEra } else { Field::Year };
                    match n {
                        2 => Item::Reduced { field },
                        1 | 3 => Item::Number { field, min: n, max: 19, signed: true },
                        _ => Item::Number { field, min: n, max: 19, signed: true },
                    }
                }
                'D' => match n {
                    1 => Item::Number { field: Field::DayOfYear, min: 1, max: 19, signed: false },
                    2 => Item::Number { field: Field::DayOfYear, min: 2, max: 3, signed: false },
                    3 => Item::Number { field: Field::DayOfYear, min: 3, max: 3, signed: false },
                    _ => return Err(count_error(c)),
                },
                'M' | 'L' => match n {
                    1 | 2 => number(Field::Month, n)?,
                    _ => text(Field::Month, n)?,
                },
                'd' => number(Field::Day, n)?,
                'E' => text(Field::DayOfWeek, n)?,
                'a' if n == 1 => Item::Text { field: Field::AmPm, style: TextStyle::Short },
                'a' => return Err(count_error(c)),
                'H' => number(Field::HourOfDay, n)?,
                'k' => number(Field::ClockHourOfDay, n)?,
                'K' => number(Field::HourOfAmPm, n)?,
                'h' => number(Field::ClockHourOfAmPm, n)?,
                'm' => number(Field::Minute, n)?,
                's' => number(Field::Second, n)?,
                'S' if n <= 9 => Item::Fraction { digits: n },
                'S' => return Err(count_error(c)),
                'n' => match n {
                    1 => Item::Number { field: Field::Nano, min: 1, max: 19, signed: false },
                    _ => Item::Number { field: Field::Nano, min: n, max: n, signed: false },
                },
                'V' if n == 2 => Item::ZoneId,
                'V' => return Err("Pattern letter count must be 2: V".into()),
                'z' if n <= 4 => Item::ZoneText,
                'z' => return Err(count_error(c)),
                'O' if n == 1 || n == 4 => Item::LocalizedOffset,
                'O' => return Err("Pattern letter count must be 1 or 4: O".into()),
                'X' | 'x' => {
                    let zero = if c == 'X' { "Z" } else { ["+00", "+0000", "+00:00", "+0000", "+00:00"][n.min(5) - 1] };
                    match n {
                        1 => Item::Offset { pattern: "+HHmm", zero },
                        2 => Item::Offset { pattern: "+HHMM", zero },
                        3 => Item::Offset { pattern: "+HH:MM", zero },
                        4 => Item::Offset { pattern: "+HHMMss", zero },
                        5 => Item::Offset { pattern: "+HH:MM:ss", zero },
                        _ => return Err(count_error(c)),
                    }
                }
                'Z' => match n {
                    1..=3 => Item::Offset { pattern: "+HHMM", zero: "+0000" },
                    4 => Item::LocalizedOffset,
                    5 => Item::Offset { pattern: "+HH:MM:ss", zero: "Z" },
                    _ => return Err(count_error(c)),
                },
                // Quarter-of-year: `Q`/`QQ` a number, `QQQ` `Q1`, `QQQQ` `1st quarter`, `QQQQQ` `1`.
                'Q' | 'q' => match n {
                    1 | 2 => number(Field::Quarter, n)?,
                    3..=5 => text(Field::Quarter, n)?,
                    _ => return Err(count_error(c)),
                },
                'Y' => match n {
                    2 => Item::Reduced { field: Field::WeekBasedYear },
                    _ => Item::Number { field: Field::WeekBasedYear, min: n, max: 19, signed: true },
                },
                'w' => number(Field::WeekOfWeekBasedYear, n)?,
                'W' if n == 1 => Item::Number { field: Field::WeekOfMonth, min: 1, max: 19, signed: false },
                'W' => return Err(count_error(c)),
                'e' if n <= 2 => number(Field::LocalDayOfWeek, n)?,
                'c' if n == 1 => number(Field::LocalDayOfWeek, n)?,
                'c' if n == 2 => return Err("Invalid pattern \"cc\"".into()),
                'e' | 'c' => text(Field::DayOfWeek, n)?,
                'F' | 'A' | 'N' | 'B' | 'g' => {
                    return Err(format!("Pattern letter '{c}' is not supported by Weir's typing yet"));
                }
                _ => return Err(format!("Unknown pattern letter: {c}")),
            };
            has_zone |= matches!(item, Item::Offset { .. } | Item::LocalizedOffset | Item::ZoneId | Item::ZoneText);
            current.push(item);
            continue;
        }
        match c {
            '\'' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("Pattern ends with an incomplete string literal: {pattern}")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            text.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(other) => {
                            text.push(*other);
                            i += 1;
                        }
                    }
                }
                // `''` alone is one quote.
                current.push(Item::Literal(if text.is_empty() { "'".into() } else { text }));
            }
            '[' => {
                stack.push(Vec::new());
                i += 1;
            }
            ']' => {
                if stack.len() == 1 {
                    return Err("Pattern invalid as it contains ] without previous [".into());
                }
                let section = stack.pop().unwrap_or_default();
                stack.last_mut().ok_or("unbalanced optional section")?.push(Item::Optional(section));
                i += 1;
            }
            '{' | '}' | '#' => return Err(format!("Pattern includes reserved character: '{c}'")),
            other => {
                current.push(Item::Literal(other.to_string()));
                i += 1;
            }
        }
    }
    // An unclosed `[` ends at the end of the pattern, as in Java.
    while stack.len() > 1 {
        let section = stack.pop().unwrap_or_default();
        if let Some(parent) = stack.last_mut() {
            parent.push(Item::Optional(section));
        }
    }
    Ok(Pattern { items: stack.pop().unwrap_or_default(), has_zone })
}

/// The fields parsed from a text.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    era: Option<i64>,
    year_of_era: Option<i64>,
    year: Option<i64>,
    day_of_year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    day_of_week: Option<i64>,
    quarter: Option<i64>,
    week_based_year: Option<i64>,
    week_of_week_based_year: Option<i64>,
    week_of_month: Option<i64>,
    am_pm: Option<i64>,
    hour_of_day: Option<i64>,
    clock_hour_of_day: Option<i64>,
    hour_of_am_pm: Option<i64>,
    clock_hour_of_am_pm: Option<i64>,
    minute: Option<i64>,
    second: Option<i64>,
    nano: Option<i64>,
    offset: Option<FixedOffset>,
    zone: Option<Zone>,
    /// A field parsed twice with different values.
    conflict: bool,
}

impl Parsed {
    fn set(&mut self, field: Field, value: i64) {
        if field == Field::LocalDayOfWeek {
            // Java converts it to the ISO day of the week, refusing values outside 1-7.
            if !(1..=7).contains(&value) {
                self.conflict = true;
                return;
            }
            return self.set(Field::DayOfWeek, if value == 1 { 7 } else { value - 1 });
        }
        let slot = match field {
            Field::Era => &mut self.era,
            Field::YearOfEra => &mut self.year_of_era,
            Field::Year => &mut self.year,
            Field::DayOfYear => &mut self.day_of_year,
            Field::Month => &mut self.month,
            Field::Day => &mut self.day,
            Field::DayOfWeek => &mut self.day_of_week,
            Field::Quarter => &mut self.quarter,
            Field::WeekBasedYear => &mut self.week_based_year,
            Field::WeekOfWeekBasedYear => &mut self.week_of_week_based_year,
            Field::WeekOfMonth => &mut self.week_of_month,
            Field::LocalDayOfWeek => return,
            Field::AmPm => &mut self.am_pm,
            Field::HourOfDay => &mut self.hour_of_day,
            Field::ClockHourOfDay => &mut self.clock_hour_of_day,
            Field::HourOfAmPm => &mut self.hour_of_am_pm,
            Field::ClockHourOfAmPm => &mut self.clock_hour_of_am_pm,
            Field::Minute => &mut self.minute,
            Field::Second => &mut self.second,
            Field::Nano => &mut self.nano,
        };
        if slot.is_some_and(|v| v != value) {
            self.conflict = true;
        }
        *slot = Some(value);
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// The texts of a text field in one style, with their values.
fn texts(field: Field, style: TextStyle) -> Vec<(String, i64)> {
    let shorten = |name: &str| -> String {
        match style {
            TextStyle::Full => name.to_string(),
            TextStyle::Short => name.chars().take(3).collect(),
            TextStyle::Narrow => name.chars().take(1).collect(),
        }
    };
    match field {
        Field::Month => MONTHS.iter().enumerate().map(|(i, m)| (shorten(m), i as i64 + 1)).collect(),
        Field::DayOfWeek => DAYS.iter().enumerate().map(|(i, d)| (shorten(d), i as i64 + 1)).collect(),
        Field::AmPm => vec![("AM".into(), 0), ("PM".into(), 1)],
        Field::Quarter => (1..=4)
            .map(|q| {
                let text = match style {
                    TextStyle::Short => format!("Q{q}"),
                    TextStyle::Full => format!("{q}{} quarter", ["st", "nd", "rd", "th"][q as usize - 1]),
                    TextStyle::Narrow => q.to_string(),
                };
                (text, q)
            })
            .collect(),
        Field::Era => match style {
            TextStyle::Full => vec![("Before Christ".into(), 0), ("Anno Domini".into(), 1)],
            TextStyle::Short => vec![("BC".into(), 0), ("AD".into(), 1)],
            TextStyle::Narrow => vec![("B".into(), 0), ("A".into(), 1)],
        },
        _ => Vec::new(),
    }
}

struct Parser<'a> {
    text: &'a str,
    case_insensitive: bool,
}

impl Parser<'_> {
    fn starts_with_at(&self, at: usize, expected: &str) -> bool {
        let Some(rest) = self.text.get(at..) else { return false };
        let Some(head) = rest.get(..expected.len()) else { return false };
        match self.case_insensitive {
            true => head.eq_ignore_ascii_case(expected),
            false => head == expected,
        }
    }

    fn digits_at(&self, at: usize) -> usize {
        self.text.as_bytes()[at.min(self.text.len())..].iter().take_while(|b| b.is_ascii_digit()).count()
    }

    /// The digits a numeric item at `index` may take: what following fixed-width numbers
    /// (adjacent value parsing) reserve is left for them.
    fn reserved_after(items: &[Item], index: usize) -> usize {
        let mut reserved = 0;
        for item in &items[index + 1..] {
            match item {
                Item::Number { min, max, .. } if min == max => reserved += max,
                Item::Reduced { .. } => reserved += 2,
                Item::Fraction { digits } => reserved += digits,
                _ => break,
            }
        }
        reserved
    }

    /// Parses `items` from `at`; returns the position after them.
    fn parse(&self, items: &[Item], mut at: usize, out: &mut Parsed) -> Option<usize> {
        for (index, item) in items.iter().enumerate() {
            at = match item {
                Item::Literal(text) => {
                    if !self.starts_with_at(at, text) {
                        return None;
                    }
                    at + text.len()
                }
                Item::Number { field, min, max, signed } => {
                    let mut start = at;
                    let mut negative = false;
                    if *signed {
                        match self.text.as_bytes().get(at) {
                            Some(b'-') => {
                                negative = true;
                                start += 1;
                            }
                            Some(b'+') => start += 1,
                            _ => {}
                        }
                        // Java's EXCEEDS_PAD (4+ letters): `+` only with more digits than the
                        // width (`-2020` is a year, `+2020` is not).
                        if start > at && !negative && *min >= 4 && self.digits_at(start) <= *min {
                            return None;
                        }
                    }
                    let available = self.digits_at(start);
                    let reserved = if min == max { 0 } else { Self::reserved_after(items, index) };
                    let take = available.saturating_sub(reserved).min(*max);
                    if take < *min {
                        return None;
                    }
                    let value: i64 = self.text[start..start + take].parse().ok()?;
                    out.set(*field, if negative { -value } else { value });
                    start + take
                }
                Item::Reduced { field } => {
                    if self.digits_at(at) < 2 {
                        return None;
                    }
                    let value: i64 = self.text[at..at + 2].parse().ok()?;
                    out.set(*field, 2000 + value);
                    at + 2
                }
                Item::Fraction { digits } => {
                    if self.digits_at(at) < *digits {
                        return None;
                    }
                    let value: i64 = self.text[at..at + digits].parse().ok()?;
                    out.set(Field::Nano, value * 10i64.pow(9 - *digits as u32));
                    at + digits
                }
                Item::Text { field, style } => {
                    // The longest matching text (`May` before `Ma…` cannot clash in English,
                    // but `Sunday` vs `Sun` can in other styles).
                    let (text, value) = texts(*field, *style)
                        .into_iter()
                        .filter(|(t, _)| self.starts_with_at(at, t))
                        .max_by_key(|(t, _)| t.len())?;
                    out.set(*field, value);
                    at + text.len()
                }
                Item::Offset { pattern, zero } => {
                    let (offset, next) = self.offset(at, pattern, zero)?;
                    out.offset = Some(offset);
                    next
                }
                Item::LocalizedOffset => {
                    let (offset, next) = self.localized_offset(at)?;
                    out.offset = Some(offset);
                    next
                }
                Item::ZoneId => {
                    let (zone, next) = self.zone_id(at)?;
                    out.zone = Some(zone);
                    next
                }
                Item::ZoneText => {
                    let (zone, next) = self.zone_id(at).or_else(|| self.zone_name(at))?;
                    out.zone = Some(zone);
                    next
                }
                Item::Optional(section) => {
                    let mut attempt = out.clone();
                    match self.parse(section, at, &mut attempt) {
                        Some(next) => {
                            *out = attempt;
                            next
                        }
                        None => at,
                    }
                }
            };
        }
        Some(at)
    }

    /// Java's `appendOffset(pattern, noOffsetText)`: `HH` mandatory, `MM`/`SS` mandatory,
    /// `mm`/`ss` optional, `:` when the pattern has one.
    fn offset(&self, at: usize, pattern: &str, zero: &str) -> Option<(FixedOffset, usize)> {
        let bytes = self.text.as_bytes();
        let sign = match bytes.get(at) {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ if self.starts_with_at(at, zero) => return Some((FixedOffset::east_opt(0)?, at + zero.len())),
            _ => return None,
        };
        let colon = pattern.contains(':');
        let two = |p: usize| -> Option<i32> {
            (bytes.get(p)?.is_ascii_digit() && bytes.get(p + 1)?.is_ascii_digit())
                .then(|| i32::from(bytes[p] - b'0') * 10 + i32::from(bytes[p + 1] - b'0'))
        };
        let mut p = at + 1;
        let hours = two(p)?;
        p += 2;
        let part = |mandatory: bool, p: &mut usize| -> Option<Option<i32>> {
            let start = *p + usize::from(colon);
            if colon && bytes.get(*p) != Some(&b':') {
                return if mandatory { None } else { Some(None) };
            }
            match two(start) {
                Some(v) => {
                    *p = start + 2;
                    Some(Some(v))
                }
                None if mandatory => None,
                None => Some(None),
            }
        };
        let minutes = if pattern.contains("MM") {
            part(true, &mut p)?
        } else if pattern.contains("mm") {
            part(false, &mut p)?
        } else {
            None
        };
        let seconds = match (minutes, pattern.contains("SS"), pattern.contains("ss")) {
            (Some(_), true, _) => part(true, &mut p)?,
            (Some(_), _, true) => part(false, &mut p)?,
            _ => None,
        };
        let (m, s) = (minutes.unwrap_or(0), seconds.unwrap_or(0));
        if hours > 18 || m > 59 || s > 59 {
            return None;
        }
        // A zero offset written with its digits (`+00:00`) is also zero.
        Some((FixedOffset::east_opt(sign * (hours * 3600 + m * 60 + s))?, p))
    }

    /// `GMT`, `GMT+8`, `GMT+08:00`, `GMT-3:30:15`.
    fn localized_offset(&self, at: usize) -> Option<(FixedOffset, usize)> {
        if !self.starts_with_at(at, "GMT") {
            return None;
        }
        let bytes = self.text.as_bytes();
        let mut p = at + 3;
        let sign = match bytes.get(p) {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Some((FixedOffset::east_opt(0)?, p)),
        };
        p += 1;
        let hour_digits = self.digits_at(p).min(2);
        if hour_digits == 0 {
            return None;
        }
        let hours: i32 = self.text[p..p + hour_digits].parse().ok()?;
        p += hour_digits;
        let mut rest = [0i32; 2];
        for slot in &mut rest {
            if bytes.get(p) == Some(&b':') && self.digits_at(p + 1) >= 2 {
                *slot = self.text[p + 1..p + 3].parse().ok()?;
                p += 3;
            } else {
                break;
            }
        }
        if hours > 18 || rest[0] > 59 || rest[1] > 59 {
            return None;
        }
        Some((FixedOffset::east_opt(sign * (hours * 3600 + rest[0] * 60 + rest[1]))?, p))
    }

    /// A zone id: the longest prefix of the id characters that names a zone.
    /// A zone's English abbreviation (the longest that matches), as the region Java's `z`
    /// parses it to: the offset then follows that region's rules on the date (`PST` in July
    /// is UTC-7, as in Java).
    fn zone_name(&self, at: usize) -> Option<(Zone, usize)> {
        let (name, region) =
            ZONE_NAMES.iter().filter(|(name, _)| self.starts_with_at(at, name)).max_by_key(|(name, _)| name.len())?;
        let zone = region.parse::<chrono_tz::Tz>().ok().map(Zone::Region)?;
        Some((zone, at + name.len()))
    }

    fn zone_id(&self, at: usize) -> Option<(Zone, usize)> {
        let rest = self.text.get(at..)?;
        let len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || b"~/._+-:".contains(b)).count();
        (1..=len).rev().find_map(|n| Zone::parse(&rest[..n]).map(|z| (z, at + n)))
    }
}

/// Parses the whole of `text` with `pattern`.
pub fn parse(pattern: &Pattern, text: &str, case_sensitive: bool) -> Option<Parsed> {
    let parser = Parser { text, case_insensitive: !case_sensitive };
    let mut parsed = Parsed::default();
    let end = parser.parse(&pattern.items, 0, &mut parsed)?;
    (end == text.len() && !parsed.conflict).then_some(parsed)
}

/// The date of the parsed fields, as Java's resolver: `strict` (STRICT) rejects a day past
/// the month's end and needs a proleptic year (`u`) or an era with `y`; SMART clamps the day
/// to the month's last (for days up to 31) and takes `y` without an era as the common era.
pub fn resolve_date(parsed: &Parsed, strict: bool) -> Option<NaiveDate> {
    let calendar = parsed.day.is_some() || parsed.day_of_year.is_some();
    // The week fields that made the date are not cross-checked (Java consumes them).
    let (date, made_by) = match calendar {
        true => (calendar_date(parsed, strict)?, None),
        false => week_date(parsed, strict).map(|(date, by)| (date, Some(by)))?,
    };
    if let Some(dow) = parsed.day_of_week
        && i64::from(date.weekday().number_from_monday()) != dow
    {
        return None;
    }
    // A quarter must be the date's (Java cross-checks it; it cannot make a date alone).
    if let Some(quarter) = parsed.quarter
        && i64::from((date.month() - 1) / 3 + 1) != quarter
    {
        return None;
    }
    // (Week-of-month resolution consumes the month: SMART may leave it.)
    if made_by != Some(WeekPath::WeekOfMonth) && parsed.month.is_some_and(|m| m != i64::from(date.month())) {
        return None;
    }
    // Week fields that did not make the date are cross-checked against it.
    let (wby, week) = weeks::week_of_week_based_year(date);
    if made_by != Some(WeekPath::WeekBasedYear)
        && (parsed.week_based_year.is_some_and(|y| y != i64::from(wby))
            || parsed.week_of_week_based_year.is_some_and(|w| w != i64::from(week)))
    {
        return None;
    }
    if made_by != Some(WeekPath::WeekOfMonth)
        && parsed.week_of_month.is_some_and(|w| w != i64::from(weeks::week_of_month(date)))
    {
        return None;
    }
    Some(date)
}

/// The proleptic year of the parsed fields: `u`, or `y` with an era (or, SMART, without one).
fn proleptic_year(parsed: &Parsed, strict: bool) -> Option<i32> {
    let year = match (parsed.year, parsed.year_of_era, parsed.era) {
        (Some(y), None, _) => y,
        (year, Some(yoe), Some(era)) => {
            if yoe < 1 {
                return None;
            }
            let y = if era == 1 { yoe } else { 1 - yoe };
            if year.is_some_and(|year| year != y) {
                return None;
            }
            y
        }
        (year, Some(yoe), None) if !strict => {
            if yoe < 1 || year.is_some_and(|year| year != yoe) {
                return None;
            }
            yoe
        }
        _ => return None,
    };
    i32::try_from(year).ok()
}

/// The date of year, month and day, or year and day of year.
fn calendar_date(parsed: &Parsed, strict: bool) -> Option<NaiveDate> {
    let year = proleptic_year(parsed, strict)?;
    let date = match (parsed.month, parsed.day, parsed.day_of_year) {
        (Some(month), Some(day), _) => {
            if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
                return None;
            }
            let (month, day) = (month as u32, day as u32);
            match NaiveDate::from_ymd_opt(year, month, day) {
                Some(d) => d,
                None if strict => return None,
                None => {
                    let first_next = match month {
                        12 => NaiveDate::from_ymd_opt(year + 1, 1, 1)?,
                        _ => NaiveDate::from_ymd_opt(year, month + 1, 1)?,
                    };
                    first_next.pred_opt()?
                }
            }
        }
        (month, None, Some(doy)) => {
            let date = NaiveDate::from_yo_opt(year, u32::try_from(doy).ok()?)?;
            if month.is_some_and(|m| m != i64::from(date.month())) {
                return None;
            }
            date
        }
        _ => return None,
    };
    Some(date)
}

/// The date of week fields, as `WeekFields.resolve` makes it: a day of the week with either
/// year, month and week of month, or (no year) week-based year and week.
fn week_date(parsed: &Parsed, strict: bool) -> Option<(NaiveDate, WeekPath)> {
    let dow = parsed.day_of_week?;
    match proleptic_year(parsed, strict) {
        Some(year) => weeks::from_week_of_month(year, parsed.month?, parsed.week_of_month?, dow, strict)
            .map(|d| (d, WeekPath::WeekOfMonth)),
        None if parsed.year.is_none() && parsed.year_of_era.is_none() => {
            let wby = i32::try_from(parsed.week_based_year?).ok()?;
            weeks::from_week_based_year(wby, parsed.week_of_week_based_year?, dow, strict)
                .map(|d| (d, WeekPath::WeekBasedYear))
        }
        None => None,
    }
}

/// Which week fields made a date.
#[derive(Debug, Clone, Copy, PartialEq)]
enum WeekPath {
    WeekBasedYear,
    WeekOfMonth,
}

/// Java's week arithmetic for `WeekFields[SUNDAY,1]` (en_US): weeks start on Sunday, and week
/// 1 of a year (and of a month) is the week holding its first day.
mod weeks {
    use chrono::{Datelike, Duration, NaiveDate};

    /// 1 for Sunday ... 7 for Saturday.
    fn local_day_of_week(date: NaiveDate) -> i64 {
        i64::from(date.weekday().num_days_from_sunday()) + 1
    }

    /// The local day of the week of an ISO one (Monday 1 ... Sunday 7).
    fn local_of_iso(iso: i64) -> i64 {
        iso % 7 + 1
    }

    /// The Sunday starting week 1 of `year`'s week-based year.
    fn first_week_start(year: i32) -> Option<NaiveDate> {
        let jan1 = NaiveDate::from_ymd_opt(year, 1, 1)?;
        Some(jan1 - Duration::days(local_day_of_week(jan1) - 1))
    }

    pub fn week_of_month(date: NaiveDate) -> u32 {
        let first = date.with_day(1).unwrap_or(date);
        ((i64::from(date.day()) + local_day_of_week(first) - 2) / 7 + 1) as u32
    }

    /// The week-based year of a date and its week in it.
    pub fn week_of_week_based_year(date: NaiveDate) -> (i32, u32) {
        let year = date.year();
        let (wby, start) = match first_week_start(year + 1) {
            Some(next) if date >= next => (year + 1, next),
            _ => (year, first_week_start(year).unwrap_or(date)),
        };
        (wby, ((date - start).num_days() / 7 + 1) as u32)
    }

    /// `Y`, `w` and a day of the week: the week is checked against 1-53, then clamped to the
    /// year's last week as Java does.
    pub fn from_week_based_year(wby: i32, week: i64, iso_dow: i64, strict: bool) -> Option<NaiveDate> {
        if !(1..=53).contains(&week) {
            return None;
        }
        let start = first_week_start(wby)?;
        let weeks_in_year = (first_week_start(wby + 1)? - start).num_days() / 7;
        let date = start + Duration::days((week.min(weeks_in_year) - 1) * 7 + local_of_iso(iso_dow) - 1);
        (!strict || week_of_week_based_year(date).0 == wby).then_some(date)
    }

    /// Year, month, `W` (0-6) and a day of the week; SMART lets the date leave the month,
    /// STRICT does not.
    pub fn from_week_of_month(year: i32, month: i64, week: i64, iso_dow: i64, strict: bool) -> Option<NaiveDate> {
        if !(1..=12).contains(&month) || !(0..=6).contains(&week) {
            return None;
        }
        let first = NaiveDate::from_ymd_opt(year, month as u32, 1)?;
        let date = first + Duration::days((week - 1) * 7 + local_of_iso(iso_dow) - local_day_of_week(first));
        (!strict || i64::from(date.month()) == month).then_some(date)
    }
}

/// The time of day of the parsed fields, as Java's resolver, and the days it adds (SMART:
/// `24:00` is the next day's midnight). `None` when the fields do not make a time.
pub fn resolve_time(parsed: &Parsed, strict: bool) -> Option<(NaiveTime, i64)> {
    let in_range = |v: Option<i64>, lo: i64, hi: i64| v.is_none_or(|v| (lo..=hi).contains(&v));
    if !in_range(parsed.hour_of_day, 0, if strict { 23 } else { 24 })
        || !in_range(parsed.clock_hour_of_day, 1, 24)
        || !in_range(parsed.hour_of_am_pm, 0, 11)
        || !in_range(parsed.clock_hour_of_am_pm, 1, 12)
        || !in_range(parsed.minute, 0, 59)
        || !in_range(parsed.second, 0, 59)
        || !in_range(parsed.nano, 0, 999_999_999)
        || !in_range(parsed.am_pm, 0, 1)
    {
        return None;
    }
    let from_clock = parsed.clock_hour_of_day.map(|h| if h == 24 { 0 } else { h });
    let am_pm_hour = parsed.hour_of_am_pm.or(parsed.clock_hour_of_am_pm.map(|h| if h == 12 { 0 } else { h }));
    let from_am_pm = match (am_pm_hour, parsed.am_pm) {
        (Some(h), Some(ap)) => Some(ap * 12 + h),
        _ => None,
    };
    let mut hour = None;
    for candidate in [parsed.hour_of_day, from_clock, from_am_pm].into_iter().flatten() {
        if hour.is_some_and(|h| h != candidate && !(h == 24 && candidate == 0)) {
            return None;
        }
        hour = hour.or(Some(candidate));
    }
    let hour = hour?;
    let (minute, second, nano) = (parsed.minute, parsed.second, parsed.nano);
    // Java defaults missing lower fields only in order: no second without a minute, no nano
    // without a second.
    if (minute.is_none() && (second.is_some() || nano.is_some())) || (second.is_none() && nano.is_some()) {
        return None;
    }
    let (minute, second, nano) = (minute.unwrap_or(0), second.unwrap_or(0), nano.unwrap_or(0));
    if hour == 24 {
        return (minute == 0 && second == 0 && nano == 0).then_some((NaiveTime::MIN, 1));
    }
    Some((NaiveTime::from_hms_nano_opt(hour as u32, minute as u32, second as u32, nano as u32)?, 0))
}

/// The instant of the parsed fields, microseconds since the epoch: the parsed zone or offset
/// when the pattern has one (then one must have been parsed), else `zone`.
pub fn resolve_instant(parsed: &Parsed, pattern: &Pattern, strict: bool, zone: &Zone) -> Option<i64> {
    let date = resolve_date(parsed, strict)?;
    let (time, days) = resolve_time(parsed, strict)?;
    let local = NaiveDateTime::new(date, time) + Duration::days(days);
    let utc = if pattern.has_zone {
        match (parsed.zone, parsed.offset) {
            (Some(z), _) => z.to_utc(local)?,
            (None, Some(offset)) => local - Duration::seconds(i64::from(offset.local_minus_utc())),
            (None, None) => return None,
        }
    } else {
        zone.to_utc(local)?
    };
    let utc = utc.and_utc();
    Some(utc.timestamp().checked_mul(1_000_000)? + i64::from(utc.timestamp_subsec_micros()))
}

/// Whether Arc's resolver is STRICT for these formatters: none uses `y` without `G`.
pub fn strict_for(formatters: &[String]) -> bool {
    !formatters.iter().any(|p| {
        let mut quoted = false;
        let mut has = (false, false);
        for c in p.chars() {
            if c == '\'' {
                quoted = !quoted;
            } else if !quoted {
                has.0 |= c == 'y';
                has.1 |= c == 'G';
            }
        }
        has.0 && !has.1
    })
}

/// One of a column's formatters, compiled.
#[derive(Debug, Clone, PartialEq)]
enum Format {
    /// Arc's `ssssssssss` (10 digits of epoch seconds) and `sssssssssssss` (13 of epoch
    /// milliseconds), timestamps only.
    Epoch {
        digits: usize,
        per_second: i64,
    },
    Pattern(Pattern),
}

/// A date, timestamp or time column's formatters, compiled once, with Arc's resolver choice
/// and case sensitivity.
#[derive(Debug, Clone, PartialEq)]
pub struct Formats {
    formats: Vec<Format>,
    strict: bool,
    case_sensitive: bool,
}

impl Formats {
    /// Compiles `formatters`; `epoch` allows Arc's epoch formatters (timestamp columns).
    pub fn compile(formatters: &[String], case_sensitive: bool, epoch: bool) -> Result<Formats, String> {
        let formats = formatters
            .iter()
            .map(|f| match f.as_str() {
                "ssssssssss" if epoch => Ok(Format::Epoch { digits: 10, per_second: 1 }),
                "sssssssssssss" if epoch => Ok(Format::Epoch { digits: 13, per_second: 1000 }),
                pattern => compile(pattern).map(Format::Pattern).map_err(|e| format!("'{pattern}': {e}")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Formats { formats, strict: strict_for(formatters), case_sensitive })
    }

    fn patterns(&self) -> impl Iterator<Item = &Pattern> {
        self.formats.iter().filter_map(|f| match f {
            Format::Pattern(p) => Some(p),
            Format::Epoch { .. } => None,
        })
    }

    /// `LocalDate.parse` with each formatter in turn.
    pub fn date(&self, text: &str) -> Option<NaiveDate> {
        self.patterns().find_map(|p| resolve_date(&parse(p, text, self.case_sensitive)?, self.strict))
    }

    /// `ZonedDateTime.parse` with each formatter in turn (the pattern's zone, else `zone`), or
    /// with `time`: the parsed date at that wall-clock time in `zone`. Microseconds since the epoch.
    pub fn instant(&self, text: &str, zone: &Zone, time: Option<NaiveTime>) -> Option<i64> {
        self.formats.iter().find_map(|f| match f {
            Format::Epoch { digits, per_second } => {
                if text.len() != *digits || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                text.parse::<i64>().ok().map(|v| v * (1_000_000 / per_second))
            }
            Format::Pattern(p) => {
                let parsed = parse(p, text, self.case_sensitive)?;
                match time {
                    Some(time) => {
                        let utc = zone.to_utc(NaiveDateTime::new(resolve_date(&parsed, self.strict)?, time))?.and_utc();
                        Some(utc.timestamp().checked_mul(1_000_000)? + i64::from(utc.timestamp_subsec_micros()))
                    }
                    None => resolve_instant(&parsed, p, self.strict, zone),
                }
            }
        })
    }

    /// `LocalTime.parse` (Arc: SMART and case-insensitive whatever the column says).
    pub fn time_of_day(&self, text: &str) -> Option<NaiveTime> {
        self.patterns().find_map(|p| resolve_time(&parse(p, text, false)?, false).map(|(t, _)| t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(pattern: &str, text: &str, case_sensitive: bool) -> Option<String> {
        let p = compile(pattern).unwrap();
        let strict = strict_for(&[pattern.to_string()]);
        resolve_date(&parse(&p, text, case_sensitive)?, strict).map(|d| d.to_string())
    }

    fn instant(pattern: &str, text: &str, zone: &str) -> Option<String> {
        let p = compile(pattern).unwrap();
        let parsed = parse(&p, text, false)?;
        let micros = resolve_instant(&parsed, &p, strict_for(&[pattern.to_string()]), &Zone::parse(zone).unwrap())?;
        let text = chrono::DateTime::from_timestamp_micros(micros)?.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        Some(text.replace(".000000Z", "Z"))
    }

    #[test]
    fn dates_are_strict_about_widths_and_whitespace() {
        assert_eq!(date("yyyy-MM-dd", "2024-02-29", false).as_deref(), Some("2024-02-29"));
        assert_eq!(date("yyyy-MM-dd", " 2024-02-29", false), None, "no leading spaces");
        assert_eq!(date("yyyy-MM-dd", "2024-02-29 ", false), None, "nothing left over");
        assert_eq!(date("yyyy-MM-dd", "2024-2-29", false), None, "MM is two digits");
        assert_eq!(date("yyyy-M-d", "2024-2-9", false).as_deref(), Some("2024-02-09"));
        assert_eq!(date("yyyyMMdd", "20240131", false).as_deref(), Some("2024-01-31"), "adjacent values");
        assert_eq!(date("dd/MM/yy", "05/11/19", false).as_deref(), Some("2019-11-05"));
        assert_eq!(date("D/uuuu", "60/2024", false).as_deref(), Some("2024-02-29"));
        // Signs (Java 17): `-` always, `+` only past the width.
        assert_eq!(date("uuuu-MM-dd", "-2020-05-02", false).as_deref(), Some("-2020-05-02"));
        assert_eq!(date("uuuu-MM-dd", "+2020-05-02", false), None);
        assert_eq!(date("uuuu-MM-dd", "+12020-05-02", false).as_deref(), Some("+12020-05-02"));
        assert_eq!(date("yyyy-MM-dd", "-2020-05-02", false), None, "no negative year of era");
    }

    #[test]
    fn smart_clamps_and_strict_rejects_impossible_days() {
        assert_eq!(date("yyyy-MM-dd", "2023-02-30", false).as_deref(), Some("2023-02-28"));
        assert_eq!(date("uuuu-MM-dd", "2023-02-30", false), None);
        assert_eq!(date("yyyy-MM-dd", "2023-02-32", false), None);
        assert_eq!(date("yyyy-MM-dd", "2023-13-01", false), None);
    }

    #[test]
    fn quarters_are_checked_against_the_date() {
        assert_eq!(date("yyyy-MM-dd QQQ", "2024-05-01 Q2", false).as_deref(), Some("2024-05-01"));
        assert_eq!(date("yyyy-MM-dd QQQ", "2024-05-01 Q3", false), None);
        assert_eq!(date("QQQQ yyyy-MM-dd", "2nd quarter 2024-05-01", false).as_deref(), Some("2024-05-01"));
        assert_eq!(date("q/yyyy-MM-dd", "4/2024-12-31", false).as_deref(), Some("2024-12-31"));
        assert_eq!(date("yyyy QQQ", "2024 Q2", false), None, "a quarter alone is not a date");
        assert!(compile("QQQQQQ").is_err());
    }

    #[test]
    fn text_fields_follow_case_sensitivity() {
        assert_eq!(date("dd-MMM-yyyy", "05-jan-2024", false).as_deref(), Some("2024-01-05"));
        assert_eq!(date("dd-MMM-yyyy", "05-jan-2024", true), None);
        assert_eq!(date("dd-MMM-yyyy", "05-Jan-2024", true).as_deref(), Some("2024-01-05"));
        assert_eq!(date("d MMMM yyyy", "5 September 2024", true).as_deref(), Some("2024-09-05"));
        assert_eq!(date("EEE, d MMM yyyy", "Fri, 5 Jan 2024", true).as_deref(), Some("2024-01-05"));
        assert_eq!(date("EEE, d MMM yyyy", "Mon, 5 Jan 2024", true), None, "day of week must agree");
        assert_eq!(date("yyyy-MM-dd'T'", "2024-01-05t", false).as_deref(), Some("2024-01-05"));
    }

    #[test]
    fn timestamps_with_offsets_zones_and_fractions() {
        let at = |p, t| instant(p, t, "Australia/Sydney");
        assert_eq!(at("yyyy-MM-dd HH:mm:ss", "2024-01-05 10:00:00").as_deref(), Some("2024-01-04T23:00:00Z"));
        assert_eq!(at("yyyy-MM-dd HH:mm:ssXXX", "2024-01-05 10:00:00+10:00").as_deref(), Some("2024-01-05T00:00:00Z"));
        assert_eq!(at("yyyy-MM-dd HH:mm:ssXXX", "2024-01-05 10:00:00Z").as_deref(), Some("2024-01-05T10:00:00Z"));
        assert_eq!(at("yyyy-MM-dd HH:mm:ssX", "2024-01-05 10:00:00+0530").as_deref(), Some("2024-01-05T04:30:00Z"));
        assert_eq!(at("yyyy-MM-dd HH:mm:ssX", "2024-01-05 10:00:00+05").as_deref(), Some("2024-01-05T05:00:00Z"));
        assert_eq!(at("yyyy-MM-dd HH:mm:ss Z", "2024-01-05 10:00:00 -0800").as_deref(), Some("2024-01-05T18:00:00Z"));
        assert_eq!(at("yyyy-MM-dd HH:mm:ss O", "2024-01-05 10:00:00 GMT+8").as_deref(), Some("2024-01-05T02:00:00Z"));
        assert_eq!(
            at("yyyy-MM-dd HH:mm:ss VV", "2024-07-05 10:00:00 Europe/London").as_deref(),
            Some("2024-07-05T09:00:00Z")
        );
        assert_eq!(
            at("yyyy-MM-dd'T'HH:mm:ss.SSSSSS", "2024-01-05T10:00:00.123456").as_deref(),
            Some("2024-01-04T23:00:00.123456Z")
        );
        assert_eq!(at("yyyy-MM-dd HH:mm:ss.n", "2024-01-05 10:00:00.5").as_deref(), Some("2024-01-04T23:00:00Z"));
        assert_eq!(at("yyyy-MM-dd HH:mm:ss.SSS", "2024-01-05 10:00:00.12"), None, "exactly three fraction digits");
        assert_eq!(at("yyyy-MM-dd HH:mm[:ss]", "2024-01-05 10:00").as_deref(), Some("2024-01-04T23:00:00Z"));
        assert_eq!(at("yyyy-MM-dd HH:mm[:ss]", "2024-01-05 10:00:30").as_deref(), Some("2024-01-04T23:00:30Z"));
        assert_eq!(at("yyyy-MM-dd hh:mm a", "2024-01-05 10:00 pm").as_deref(), Some("2024-01-05T11:00:00Z"));
        assert_eq!(at("yyyy-MM-dd hh:mm", "2024-01-05 10:00"), None, "h needs a");
        assert_eq!(at("yyyy-MM-dd HH:mm:ss[XXX]", "2024-01-05 10:00:00"), None, "a pattern with an offset needs one");
    }

    #[test]
    fn zones_as_java_names_them() {
        assert_eq!(Zone::parse("+1000"), Some(Zone::Fixed(FixedOffset::east_opt(36000).unwrap())));
        assert_eq!(Zone::parse("-03:30"), Some(Zone::Fixed(FixedOffset::west_opt(12600).unwrap())));
        assert_eq!(Zone::parse("UTC+10"), Some(Zone::Fixed(FixedOffset::east_opt(36000).unwrap())));
        assert_eq!(Zone::parse("GMT"), Some(Zone::Region(chrono_tz::UTC)));
        assert!(Zone::parse("Australia/Sydney").is_some());
        assert_eq!(Zone::parse("+25"), None);
        assert_eq!(Zone::parse("Mars/Olympus"), None);
        // `z` also reads English abbreviations, as the region's rules on that date.
        let twitter = "EEE MMM dd HH:mm:ss z yyyy";
        assert_eq!(instant(twitter, "Fri Jan 05 10:00:00 PST 2024", "UTC").as_deref(), Some("2024-01-05T18:00:00Z"));
        assert_eq!(instant(twitter, "Fri Jul 05 10:00:00 PST 2024", "UTC").as_deref(), Some("2024-07-05T17:00:00Z"));
        assert_eq!(instant(twitter, "Fri Jan 05 10:00:00 AEDT 2024", "UTC").as_deref(), Some("2024-01-04T23:00:00Z"));
        assert_eq!(instant(twitter, "Fri Jan 05 10:00:00 UTC 2024", "UTC").as_deref(), Some("2024-01-05T10:00:00Z"));
        assert_eq!(instant(twitter, "Fri Jan 05 10:00:00 XYZ 2024", "UTC"), None);
        assert_eq!(instant("yyyy-MM-dd HH:mm VV", "2024-01-05 10:00 PST", "UTC"), None, "VV takes ids only");
        // A local time in a DST gap moves later by the gap (Sydney, 2024-10-06 02:30 does not exist).
        assert_eq!(
            instant("yyyy-MM-dd HH:mm", "2024-10-06 02:30", "Australia/Sydney").as_deref(),
            Some("2024-10-05T16:30:00Z")
        );
    }

    /// Expected values from Java 17's `LocalDate.parse` in the en_US locale.
    #[test]
    fn week_based_fields_as_java_resolves_them() {
        assert_eq!(date("YYYY-MM-dd", "2020-01-05", false), None, "Y is not the year");
        assert_eq!(date("YYYY-ww-e", "2020-02-1", false).as_deref(), Some("2020-01-05"));
        assert_eq!(date("YYYY-ww-e", "2021-01-1", false).as_deref(), Some("2020-12-27"));
        assert_eq!(date("YYYY-ww-E", "2020-53-Sat", false).as_deref(), Some("2020-12-26"), "week clamped");
        assert_eq!(date("YYYY-ww-e", "2021-53-1", false).as_deref(), Some("2021-12-19"));
        assert_eq!(date("YYYY-ww-c", "2019-52-7", false).as_deref(), Some("2019-12-28"));
        assert_eq!(date("YYYY-ww-cccc", "2020-05-Monday", false).as_deref(), Some("2020-01-27"));
        assert_eq!(date("YYYY-ww-ee", "2020-05-02", false).as_deref(), Some("2020-01-27"));
        assert_eq!(date("YY-ww-e", "20-10-1", false).as_deref(), Some("2020-03-01"));
        assert_eq!(date("Y-w-e", "2020-1-1", false).as_deref(), Some("2019-12-29"));
        assert_eq!(date("YYYY-ww-e", "-2020-05-2", false).as_deref(), Some("-2020-01-28"));
        assert_eq!(date("YYYY-w-e", "2020-54-1", false), None);
        assert_eq!(date("YYYY-ww-e", "2020-00-7", false), None);
        assert_eq!(date("YYYY-ww-e", "2020-05-8", false), None);
        assert_eq!(date("YYYY-ww", "2020-05", false), None, "no day of the week");
        assert_eq!(date("uuuu-ww-e", "2020-05-2", false), None, "w needs Y");
        assert_eq!(date("YYYY-MM-ww-e", "2020-02-05-2", false), None, "month cross-checked");
        // Week of month: SMART leaves the month, STRICT does not.
        assert_eq!(date("yyyy-MM-W-e", "2020-03-2-3", false).as_deref(), Some("2020-03-10"));
        assert_eq!(date("uuuu-MM-W-E", "2020-03-2-Tue", false).as_deref(), Some("2020-03-10"));
        assert_eq!(date("uuuu-MM-W-e", "2020-03-1-1", false).as_deref(), Some("2020-03-01"));
        assert_eq!(date("yyyy-MM-W-e", "2020-03-0-1", false).as_deref(), Some("2020-02-23"));
        assert_eq!(date("uuuu-MM-W-e", "2020-03-0-1", false), None);
        assert_eq!(date("yyyy-MM-W-e", "2020-03-6-7", false).as_deref(), Some("2020-04-11"));
        assert_eq!(date("yyyy-MM-W-e", "2020-03-7-1", false), None);
        // Cross-checks against a year-month-day date.
        assert_eq!(date("yyyy-MM-dd YYYY", "2020-12-31 2021", false).as_deref(), Some("2020-12-31"));
        assert_eq!(date("yyyy-MM-dd YYYY", "2020-12-31 2020", false), None);
        assert_eq!(date("uuuu-MM-dd ww", "2020-12-31 01", false).as_deref(), Some("2020-12-31"));
        assert_eq!(date("uuuu-MM-dd ww", "2020-12-31 02", false), None);
        assert_eq!(date("yyyy-MM-dd e", "2020-12-31 5", false).as_deref(), Some("2020-12-31"));
        assert_eq!(date("uuuu-MM-dd e", "2020-12-31 4", false), None);
        assert_eq!(date("yyyy-MM-dd eee", "2020-12-31 Thu", false).as_deref(), Some("2020-12-31"));
        assert_eq!(date("yyyy-MM-dd W", "2020-12-31 5", false).as_deref(), Some("2020-12-31"));
        assert_eq!(compile("WW").unwrap_err(), "Too many pattern letters: W");
        assert_eq!(compile("www").unwrap_err(), "Too many pattern letters: w");
        assert!(compile("cc").is_err());
    }

    #[test]
    fn pattern_errors_are_javas() {
        assert_eq!(compile("yyyy-MM-ddd").unwrap_err(), "Too many pattern letters: d");
        assert_eq!(compile("yyyy-bb").unwrap_err(), "Unknown pattern letter: b");
        assert_eq!(
            compile("yyyy-MM-dd'T").unwrap_err(),
            "Pattern ends with an incomplete string literal: yyyy-MM-dd'T"
        );
        assert_eq!(compile("yyyy]").unwrap_err(), "Pattern invalid as it contains ] without previous [");
        assert!(compile("V").is_err());
    }
}
