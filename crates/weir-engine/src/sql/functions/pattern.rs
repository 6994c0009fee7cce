//! Spark (Java `DateTimeFormatter`) datetime patterns translated to chrono format strings.

/// Translates a Spark pattern such as `yyyy-MM-dd HH:mm:ss.SSS` to chrono's
/// `%Y-%m-%d %H:%M:%S%.3f`-style items. `for_parsing` uses padded numeric fields, which
/// chrono's parser accepts with or without leading zeros.
pub fn to_chrono(pattern: &str, for_parsing: bool) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal; '' is a single quote.
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                push_literal(&mut out, chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        i += n;
        let pad = |short: &str, long: &str| if n >= 2 || for_parsing { long.to_string() } else { short.to_string() };
        let item = match c {
            'y' | 'u' => {
                if n == 2 {
                    "%y".to_string()
                } else {
                    "%Y".to_string()
                }
            }
            'M' | 'L' => match n {
                1 => pad("%-m", "%m"),
                2 => "%m".to_string(),
                3 => "%b".to_string(),
                _ => "%B".to_string(),
            },
            'd' => pad("%-d", "%d"),
            'D' => {
                if n >= 3 || for_parsing {
                    "%j".to_string()
                } else {
                    "%-j".to_string()
                }
            }
            'H' => pad("%-H", "%H"),
            'h' => pad("%-I", "%I"),
            'k' => pad("%-H", "%H"),
            'K' => pad("%-I", "%I"),
            'm' => pad("%-M", "%M"),
            's' => pad("%-S", "%S"),
            'S' => match n {
                1..=3 => "%3f".to_string(),
                4..=6 => "%6f".to_string(),
                _ => "%9f".to_string(),
            },
            'a' => "%p".to_string(),
            'E' => {
                if n >= 4 {
                    "%A".to_string()
                } else {
                    "%a".to_string()
                }
            }
            'Z' => "%z".to_string(),
            'X' | 'x' => {
                if n == 1 {
                    "%z".to_string()
                } else {
                    "%:z".to_string()
                }
            }
            'z' | 'V' | 'O' => "%Z".to_string(),
            'w' => "%V".to_string(),
            'e' => "%u".to_string(),
            'G' => String::new(),
            other => return Err(format!("unsupported pattern letter '{other}' in '{pattern}'")),
        };
        if c == 'S' && n < 3 {
            return Err(format!("fraction pattern '{}' in '{pattern}': use SSS, SSSSSS or SSSSSSSSS", "S".repeat(n)));
        }
        out.push_str(&item);
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_patterns() {
        assert_eq!(to_chrono("yyyy-MM-dd HH:mm:ss", false).unwrap(), "%Y-%m-%d %H:%M:%S");
        assert_eq!(to_chrono("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", false).unwrap(), "%Y-%m-%dT%H:%M:%S.%3f%:z");
        assert_eq!(to_chrono("d MMM yyyy, EEEE", false).unwrap(), "%-d %b %Y, %A");
        assert_eq!(to_chrono("dd/MM/yy hh:mm a", false).unwrap(), "%d/%m/%y %I:%M %p");
        assert_eq!(to_chrono("'100%' yyyy", false).unwrap(), "100%% %Y");
        assert!(to_chrono("yyyy qq", false).is_err());
    }
}
