//! Fire times of a schedule: cron matches on the wall clock of the job's time zone, mapped to
//! instants with fixed daylight-saving rules.
//!
//! The cron expression is matched against civil (wall-clock) date-times, never against instants,
//! so every pattern follows the same rules on a night when the clocks change:
//!
//! - a wall-clock time that happens twice (clocks go back) fires once, at its first instant;
//! - a wall-clock time that does not exist (clocks go forward) fires once, at the instant the
//!   clocks jump: in `Europe/Paris`, `30 2 * * *` fires at 03:00 CEST (01:00 UTC) on the last
//!   Sunday of March. Several skipped times of one gap collapse into that one fire.
//!
//! Mapping a civil time to an instant this way never decreases as the civil time grows, which
//! is what lets the searches below walk civil matches and stop at the first instant in range.

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, Zoned};

use crate::manifest::schedule::ParsedSchedule;

/// Slack added around a search's start, larger than any UTC offset change (the largest in the
/// IANA database is 2 hours, in `Antarctica/Troll`), so that no civil match that maps into range is missed.
const OFFSET_SLACK: SignedDuration = SignedDuration::from_hours(3);

/// Maximum number of civil matches one search inspects; an every-minute pattern has 180 in the
/// slack.
const MAX_STEPS: usize = 5_000;

/// Returns the latest fire at or before `now`, or `None` when the schedule did not fire in the
/// year before `now` (the search range of the cron library).
pub fn latest_fire(schedule: &ParsedSchedule, now: Timestamp) -> Option<Zoned> {
    let zone = &schedule.zone;
    let start = civil_at(zone, now.checked_add(OFFSET_SLACK).ok()?);
    let mut cursor = schedule.cron.find_previous_occurrence(&start, true).ok()?;
    for _ in 0..MAX_STEPS {
        let instant = instant_of(zone, cursor)?;
        if instant <= now {
            return Some(instant.to_zoned(zone.clone()));
        }
        cursor = schedule
            .cron
            .find_previous_occurrence(&cursor, false)
            .ok()?;
    }
    None
}

/// Returns up to `count` fires strictly after `after`, earliest first.
pub fn fires_after(schedule: &ParsedSchedule, after: Timestamp, count: usize) -> Vec<Zoned> {
    fires_in(schedule, after, None, count)
}

/// Returns up to `limit` fires strictly after `after` and strictly before `before`.
pub fn fires_between(
    schedule: &ParsedSchedule,
    after: Timestamp,
    before: Timestamp,
    limit: usize,
) -> Vec<Zoned> {
    fires_in(schedule, after, Some(before), limit)
}

fn fires_in(
    schedule: &ParsedSchedule,
    after: Timestamp,
    before: Option<Timestamp>,
    limit: usize,
) -> Vec<Zoned> {
    let zone = &schedule.zone;
    let mut fires: Vec<Zoned> = Vec::new();
    let Ok(start) = after.checked_sub(OFFSET_SLACK) else {
        return fires;
    };
    let mut cursor = civil_at(zone, start);
    let mut steps = 0;
    while fires.len() < limit && steps < MAX_STEPS + limit {
        steps += 1;
        let Ok(next) = schedule.cron.find_next_occurrence(&cursor, false) else {
            break;
        };
        cursor = next;
        let Some(instant) = instant_of(zone, next) else {
            break;
        };
        if before.is_some_and(|before| instant >= before) {
            break;
        }
        let repeated = fires.last().is_some_and(|last| last.timestamp() == instant);
        if instant > after && !repeated {
            fires.push(instant.to_zoned(zone.clone()));
        }
    }
    fires
}

/// Returns the wall-clock time of `instant` in `zone`.
fn civil_at(zone: &TimeZone, instant: Timestamp) -> DateTime {
    instant.to_zoned(zone.clone()).datetime()
}

/// Maps a wall-clock time to the instant it fires: its only instant, the first of two in a
/// fold, or the end of the gap it falls in.
fn instant_of(zone: &TimeZone, civil: DateTime) -> Option<Timestamp> {
    match zone.to_ambiguous_timestamp(civil).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(civil).ok(),
        // `before` is the offset in force before the clocks went back, so it names the first
        // of the two instants.
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(civil).ok(),
        // Read with the offset in force after the jump, the time lies before the gap; the next
        // transition from there is the jump itself.
        AmbiguousOffset::Gap { after, .. } => {
            let before_gap = after.to_timestamp(civil).ok()?;
            let transition = zone.following(before_gap).next()?;
            Some(transition.timestamp())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::schedule::parse_schedule;
    use crate::manifest::types::Schedule;

    fn parsed(cron: &str, timezone: &str) -> ParsedSchedule {
        parse_schedule(&Schedule {
            cron: cron.to_owned(),
            timezone: timezone.to_owned(),
            period: None,
            catch_up: None,
        })
        .expect("valid schedule")
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    fn utc(fires: &[Zoned]) -> Vec<String> {
        fires
            .iter()
            .map(|fire| fire.timestamp().to_string())
            .collect()
    }

    #[test]
    fn paris_skipped_time_fires_at_jump() {
        // 2027-03-28: Paris clocks jump from 02:00 CET to 03:00 CEST (01:00 UTC).
        let schedule = parsed("30 2 * * *", "Europe/Paris");
        let fires = fires_after(&schedule, at("2027-03-27T00:00:00Z"), 3);
        assert_eq!(
            utc(&fires),
            [
                "2027-03-27T01:30:00Z",
                "2027-03-28T01:00:00Z",
                "2027-03-29T00:30:00Z"
            ]
        );
        let latest = latest_fire(&schedule, at("2027-03-28T01:00:00Z")).expect("fired");
        assert_eq!(latest.timestamp(), at("2027-03-28T01:00:00Z"));
        let before_jump = latest_fire(&schedule, at("2027-03-28T00:59:59Z")).expect("fired");
        assert_eq!(before_jump.timestamp(), at("2027-03-27T01:30:00Z"));
    }

    #[test]
    fn paris_repeated_time_fires_once() {
        // 2027-10-31: Paris clocks go back from 03:00 CEST to 02:00 CET, so 02:30 happens at
        // 00:30 UTC and again at 01:30 UTC.
        let schedule = parsed("30 2 * * *", "Europe/Paris");
        let fires = fires_after(&schedule, at("2027-10-30T12:00:00Z"), 2);
        assert_eq!(
            utc(&fires),
            ["2027-10-31T00:30:00Z", "2027-11-01T01:30:00Z"]
        );
        let latest = latest_fire(&schedule, at("2027-10-31T01:45:00Z")).expect("fired");
        assert_eq!(latest.timestamp(), at("2027-10-31T00:30:00Z"));
    }

    #[test]
    fn interval_pattern_follows_same_rules() {
        // An interval pattern fires at each matching wall-clock time once, and the skipped
        // quarter hours of the spring gap collapse into one fire at the jump.
        let schedule = parsed("*/30 2 * * *", "Europe/Paris");
        let spring = fires_after(&schedule, at("2027-03-28T00:00:00Z"), 2);
        assert_eq!(
            utc(&spring),
            ["2027-03-28T01:00:00Z", "2027-03-29T00:00:00Z"]
        );
        let autumn = fires_after(&schedule, at("2027-10-30T23:00:00Z"), 3);
        assert_eq!(
            utc(&autumn),
            [
                "2027-10-31T00:00:00Z",
                "2027-10-31T00:30:00Z",
                "2027-11-01T01:00:00Z"
            ]
        );
    }

    #[test]
    fn month_end_patterns_skip_short_months() {
        let schedule = parsed("0 9 31 * *", "Africa/Abidjan");
        let fires = fires_after(&schedule, at("2027-01-01T00:00:00Z"), 3);
        assert_eq!(
            utc(&fires),
            [
                "2027-01-31T09:00:00Z",
                "2027-03-31T09:00:00Z",
                "2027-05-31T09:00:00Z"
            ]
        );
        let leap = parsed("0 9 29 2 *", "Africa/Abidjan");
        let fires = fires_after(&leap, at("2027-06-01T00:00:00Z"), 1);
        assert_eq!(utc(&fires), ["2028-02-29T09:00:00Z"]);
    }

    #[test]
    fn latest_fire_includes_exact_instant() {
        let schedule = parsed("0 9 25 * *", "Africa/Abidjan");
        let exact = latest_fire(&schedule, at("2026-12-25T09:00:00Z")).expect("fired");
        assert_eq!(exact.timestamp(), at("2026-12-25T09:00:00Z"));
        let before = latest_fire(&schedule, at("2026-12-25T08:59:59Z")).expect("fired");
        assert_eq!(before.timestamp(), at("2026-11-25T09:00:00Z"));
    }

    #[test]
    fn sunday_is_zero_or_seven() {
        let zero = parsed("0 8 * * 0", "UTC");
        let seven = parsed("0 8 * * 7", "UTC");
        let named = parsed("0 8 * * SUN", "UTC");
        let start = at("2026-12-01T00:00:00Z");
        let expected = ["2026-12-06T08:00:00Z", "2026-12-13T08:00:00Z"];
        assert_eq!(utc(&fires_after(&zero, start, 2)), expected);
        assert_eq!(utc(&fires_after(&seven, start, 2)), expected);
        assert_eq!(utc(&fires_after(&named, start, 2)), expected);
    }

    #[test]
    fn day_of_month_or_day_of_week() {
        // As in standard cron, a pattern that restricts both days fires on either.
        let schedule = parsed("0 9 13 * FRI", "UTC");
        let fires = fires_after(&schedule, at("2026-12-01T00:00:00Z"), 3);
        assert_eq!(
            utc(&fires),
            [
                "2026-12-04T09:00:00Z",
                "2026-12-11T09:00:00Z",
                "2026-12-13T09:00:00Z"
            ]
        );
    }

    #[test]
    fn fires_between_excludes_both_ends() {
        let schedule = parsed("0 9 25 * *", "Africa/Abidjan");
        let missed = fires_between(
            &schedule,
            at("2026-09-25T09:00:00Z"),
            at("2026-12-25T09:00:00Z"),
            10,
        );
        assert_eq!(
            utc(&missed),
            ["2026-10-25T09:00:00Z", "2026-11-25T09:00:00Z"]
        );
    }
}
