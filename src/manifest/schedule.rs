//! Checks and evaluation of a manifest's `schedule`, shared by `validate` and `payroll run`.

use std::str::FromStr;

use croner::Cron;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

use super::types::Schedule;

/// Period pattern used when a schedule sets none.
pub const DEFAULT_PERIOD_FORMAT: &str = "%Y-%m-%d";
/// How late a missed fire may still run when a schedule sets no `catch_up`.
pub const DEFAULT_CATCH_UP: SignedDuration = SignedDuration::from_hours(24);
/// The longest `catch_up` accepted: 31 days.
pub const MAX_CATCH_UP: SignedDuration = SignedDuration::from_hours(31 * 24);

/// A schedule whose every field was checked.
#[derive(Clone, Debug)]
pub struct ParsedSchedule {
    pub cron: Cron,
    pub zone: TimeZone,
    /// strftime pattern that turns a fire time into the run's period.
    pub period_format: String,
    pub catch_up: SignedDuration,
}

/// Checks every field of a schedule, returning the first problem as a message.
pub fn parse_schedule(schedule: &Schedule) -> Result<ParsedSchedule, String> {
    let cron = parse_cron(&schedule.cron)?;
    let zone = parse_zone(&schedule.timezone)?;
    let period_format = schedule
        .period
        .clone()
        .unwrap_or_else(|| DEFAULT_PERIOD_FORMAT.to_owned());
    check_period_format(&period_format)?;
    let catch_up = match &schedule.catch_up {
        Some(text) => parse_catch_up(text)?,
        None => DEFAULT_CATCH_UP,
    };
    Ok(ParsedSchedule {
        cron,
        zone,
        period_format,
        catch_up,
    })
}

/// Parses a five-field cron expression: minute, hour, day of month, month, day of week.
pub fn parse_cron(expression: &str) -> Result<Cron, String> {
    let fields = expression.split_whitespace().count();
    if fields == 6 || fields == 7 {
        return Err(format!(
            "cron `{expression}` has {fields} fields, but seconds and years are not supported; \
             write five fields: minute hour day-of-month month day-of-week, such as `0 9 25 * *`"
        ));
    }
    if fields != 5 {
        return Err(format!(
            "cron `{expression}` has {fields} field(s); write five fields: minute hour \
             day-of-month month day-of-week, such as `0 9 25 * *`"
        ));
    }
    let cron = Cron::from_str(expression).map_err(|error| {
        format!(
            "cron `{expression}` is invalid ({error}); the fields take minute 0-59, hour \
                 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-7 or SUN-SAT"
        )
    })?;
    // A date that never exists, such as `0 9 31 2 *`, parses but would silently never pay.
    let start = Zoned::new(Timestamp::now(), TimeZone::UTC);
    if cron.find_next_occurrence(&start, false).is_err() {
        return Err(format!(
            "cron `{expression}` never fires: no date matches its day-of-month and month fields"
        ));
    }
    Ok(cron)
}

/// Parses an IANA time zone name such as `Africa/Abidjan`.
pub fn parse_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| {
        format!(
            "`{name}` is not an IANA time zone name; write one such as `Africa/Abidjan` or `UTC`"
        )
    })
}

/// Checks that a strftime pattern formats a time into a valid period: 1 to 32 characters of
/// `A-Z a-z 0-9 - _ .`.
pub fn check_period_format(pattern: &str) -> Result<(), String> {
    let sample = Zoned::new(Timestamp::UNIX_EPOCH, TimeZone::UTC);
    let formatted = format_period(pattern, &sample)?;
    super::check_period(&formatted).map_err(|reason| {
        format!(
            "period pattern `{pattern}` gives `{formatted}`, which is not a valid period: {reason}"
        )
    })
}

/// Formats a fire time into a period with a strftime pattern.
pub fn format_period(pattern: &str, time: &Zoned) -> Result<String, String> {
    jiff::fmt::strtime::format(pattern, time)
        .map_err(|error| format!("period pattern `{pattern}` is invalid: {error}"))
}

/// Parses a duration written as whole numbers of days, hours and minutes, largest unit first,
/// such as `1d`, `6h`, `1d12h` or `90m`. The maximum is 31 days.
pub fn parse_catch_up(text: &str) -> Result<SignedDuration, String> {
    let invalid = || {
        format!(
            "catch-up `{text}` is invalid; write whole days, hours and minutes such as `1d`, \
             `6h`, `1d12h` or `90m`"
        )
    };
    let mut total = SignedDuration::ZERO;
    let mut digits = String::new();
    let mut last_unit = usize::MAX;
    for ch in text.trim().chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let (rank, minutes) = match ch {
            'd' => (2, 24 * 60),
            'h' => (1, 60),
            'm' => (0, 1),
            _ => return Err(invalid()),
        };
        if digits.is_empty() || rank >= last_unit {
            return Err(invalid());
        }
        let count: i64 = digits.parse().map_err(|_| invalid())?;
        let part = SignedDuration::from_mins(count.checked_mul(minutes).ok_or_else(invalid)?);
        total = total.checked_add(part).ok_or_else(invalid)?;
        digits.clear();
        last_unit = rank;
    }
    if !digits.is_empty() || last_unit == usize::MAX {
        return Err(invalid());
    }
    if total > MAX_CATCH_UP {
        return Err(format!(
            "catch-up `{text}` is longer than the maximum of 31 days"
        ));
    }
    Ok(total)
}

impl ParsedSchedule {
    /// Returns the next `count` fire times strictly after `after`, in the schedule's zone.
    pub fn next_fires(&self, after: Timestamp, count: usize) -> Vec<Zoned> {
        let start = after.to_zoned(self.zone.clone());
        self.cron.iter_after(start).take(count).collect()
    }

    /// Returns the latest fire time at or before `now`, or `None` when croner finds none.
    pub fn previous_fire(&self, now: Timestamp) -> Option<Zoned> {
        let start = now.to_zoned(self.zone.clone());
        self.cron.find_previous_occurrence(&start, true).ok()
    }

    /// Returns the period a fire time pays.
    pub fn period_of(&self, fire: &Zoned) -> Result<String, String> {
        format_period(&self.period_format, fire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(cron: &str, timezone: &str) -> Schedule {
        Schedule {
            cron: cron.to_owned(),
            timezone: timezone.to_owned(),
            period: Some("%Y-%m".to_owned()),
            catch_up: None,
        }
    }

    #[test]
    fn monthly_schedule_fires_on_25th() {
        let parsed = parse_schedule(&schedule("0 9 25 * *", "Africa/Abidjan")).expect("valid");
        let after: Timestamp = "2026-12-04T00:00:00Z".parse().expect("timestamp");
        let fires = parsed.next_fires(after, 3);
        let shown: Vec<String> = fires.iter().map(|fire| fire.to_string()).collect();
        assert_eq!(
            shown,
            [
                "2026-12-25T09:00:00+00:00[Africa/Abidjan]",
                "2027-01-25T09:00:00+00:00[Africa/Abidjan]",
                "2027-02-25T09:00:00+00:00[Africa/Abidjan]",
            ]
        );
        assert_eq!(parsed.period_of(&fires[0]).expect("formats"), "2026-12");
    }

    #[test]
    fn six_field_cron_is_rejected() {
        let error = parse_cron("0 0 9 25 * *").expect_err("six fields");
        assert!(
            error.contains("seconds and years are not supported"),
            "{error}"
        );
    }

    #[test]
    fn cron_that_never_fires_is_rejected() {
        let error = parse_cron("0 9 31 2 *").expect_err("31 February");
        assert!(error.contains("never fires"), "{error}");
    }

    #[test]
    fn unknown_zone_is_rejected() {
        let error = parse_zone("Africa/Abijan").expect_err("typo");
        assert!(error.contains("`Africa/Abijan`"), "{error}");
    }

    #[test]
    fn catch_up_accepts_units() {
        assert_eq!(parse_catch_up("1d"), Ok(SignedDuration::from_hours(24)));
        assert_eq!(parse_catch_up("1d12h"), Ok(SignedDuration::from_hours(36)));
        assert_eq!(parse_catch_up("90m"), Ok(SignedDuration::from_mins(90)));
    }

    #[test]
    fn catch_up_rejects_bad_forms() {
        for text in ["", "1", "h", "1x", "6h1d", "1h1h", "32d", "-1d"] {
            assert!(parse_catch_up(text).is_err(), "`{text}` should be rejected");
        }
    }

    #[test]
    fn period_format_must_give_valid_period() {
        assert!(check_period_format("%Y-%m").is_ok());
        let error = check_period_format("%Y/%m").expect_err("slash");
        assert!(error.contains("`1970/01`"), "{error}");
    }
}
