//! The window of the figures: `from`/`to` (RFC 3339) or `window` (seconds
//! back from `to`, default now).

/// The window when none is given: the last day.
pub const DEFAULT_WINDOW_SECS: i64 = 86_400;
/// The longest window: 31 days, so that one request reads a bounded range.
pub const MAX_WINDOW_SECS: i64 = 31 * 86_400;

/// `[from, to)` in ms since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: i64,
    pub to: i64,
}

/// Reads `from`, `to` and `window` from `params` (other names are
/// ignored); `now` in ms. The message says what is wrong.
pub fn parse<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    now: i64,
) -> Result<Window, String> {
    let (mut from, mut to, mut window) = (None, None, None);
    for (name, value) in params {
        let slot = match name {
            "from" => &mut from,
            "to" => &mut to,
            "window" => &mut window,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(format!("{name} is given twice"));
        }
    }
    let instant = |name: &str, text: &str| -> Result<i64, String> {
        let t = motp_core::Timestamp::parse(text)
            .ok_or_else(|| format!("{name} must be RFC 3339 UTC, e.g. 2027-01-15T08:00:00Z"))?;
        let ms =
            t.0.duration_since(std::time::SystemTime::UNIX_EPOCH)
                .map_err(|_| format!("{name} is before 1970"))?
                .as_millis();
        i64::try_from(ms).map_err(|_| format!("{name} is too far in the future"))
    };
    let to = match to {
        Some(text) => instant("to", text)?,
        None => now,
    };
    let from = match (from, window) {
        (Some(_), Some(_)) => return Err("give from or window, not both".into()),
        (Some(text), None) => instant("from", text)?,
        (None, window) => {
            let secs = match window {
                None => DEFAULT_WINDOW_SECS,
                Some(text) => text
                    .parse::<i64>()
                    .ok()
                    .filter(|s| (1..=MAX_WINDOW_SECS).contains(s))
                    .ok_or_else(|| {
                        format!("window must be whole seconds from 1 to {MAX_WINDOW_SECS}")
                    })?,
            };
            to - secs * 1000
        }
    };
    if from >= to {
        return Err("from must be before to".into());
    }
    if to - from > MAX_WINDOW_SECS * 1000 {
        return Err(format!(
            "the window is longer than {MAX_WINDOW_SECS} s (31 days)"
        ));
    }
    Ok(Window { from, to })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000; // 2027-01-15T08:00:00Z

    #[test]
    fn defaults_to_the_last_day() {
        assert_eq!(
            parse([], NOW),
            Ok(Window {
                from: NOW - 86_400_000,
                to: NOW
            })
        );
    }

    #[test]
    fn from_to_and_window() {
        let w = parse(
            [
                ("from", "2027-01-15T07:00:00Z"),
                ("to", "2027-01-15T08:00:00Z"),
            ],
            0,
        )
        .unwrap();
        assert_eq!(w.to - w.from, 3_600_000);
        assert_eq!(w.to, NOW);
        let w = parse([("window", "60"), ("other", "x")], NOW).unwrap();
        assert_eq!((w.from, w.to), (NOW - 60_000, NOW));
    }

    #[test]
    fn refuses_nonsense() {
        for params in [
            vec![("from", "yesterday")],
            vec![("window", "0")],
            vec![("window", "-5")],
            vec![("window", "2678401")],
            vec![("window", "60"), ("from", "2027-01-15T07:00:00Z")],
            vec![("from", "2027-01-15T09:00:00Z")],
            vec![("from", "2026-01-15T09:00:00Z")],
            vec![("window", "1"), ("window", "2")],
        ] {
            assert!(parse(params.clone(), NOW).is_err(), "{params:?}");
        }
    }
}
