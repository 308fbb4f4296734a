//! Working days (工作日): deadlines in the rules count working days, which
//! skip weekends and public holidays but include make-up workdays (调休上班).
//! Each jurisdiction configures its own lists.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};

/// A working-day calendar: weekends off, plus listed holidays and make-up
/// workdays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingCalendar {
    holidays: BTreeSet<NaiveDate>,
    makeup_workdays: BTreeSet<NaiveDate>,
}

impl WorkingCalendar {
    /// A calendar with the given holidays and make-up workdays. A day listed
    /// as both is a working day: the make-up list is the more specific one.
    pub fn new(
        holidays: impl IntoIterator<Item = NaiveDate>,
        makeup_workdays: impl IntoIterator<Item = NaiveDate>,
    ) -> Self {
        WorkingCalendar {
            holidays: holidays.into_iter().collect(),
            makeup_workdays: makeup_workdays.into_iter().collect(),
        }
    }

    /// Whether `day` is a working day.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.makeup_workdays.contains(&day) {
            return true;
        }
        if self.holidays.contains(&day) {
            return false;
        }
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The `n`-th working day after `start` (`start` itself does not count,
    /// as in "within 5 working days of receipt"). `n == 0` gives `start`.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut day = start;
        let mut remaining = n;
        while remaining > 0 {
            day = day.succ_opt().expect("dates stay far from chrono's limits");
            if self.is_working_day(day) {
                remaining -= 1;
            }
        }
        day
    }

    /// Working days in `(from, to]`: how many working days passed after
    /// `from` up to and including `to`; zero when `to <= from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut count = 0;
        let mut day = from;
        while day < to {
            day = day.succ_opt().expect("dates stay far from chrono's limits");
            if self.is_working_day(day) {
                count += 1;
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn weekends_holidays_and_makeup_days() {
        // National Day 2025: 1–8 October off, Sunday 28 September and
        // Saturday 11 October worked.
        let holidays = (1..=8).map(|d| date(2025, 10, d));
        let calendar = WorkingCalendar::new(holidays, [date(2025, 9, 28), date(2025, 10, 11)]);
        assert!(calendar.is_working_day(date(2025, 9, 28)));
        assert!(!calendar.is_working_day(date(2025, 10, 3)));
        assert!(calendar.is_working_day(date(2025, 10, 11)));
        // Friday 26 September + 3 working days: Sun 28, Mon 29, Tue 30.
        assert_eq!(calendar.add_working_days(date(2025, 9, 26), 3), date(2025, 9, 30));
        // Tue 30 September + 2: Thu 9, Fri 10 October.
        assert_eq!(calendar.add_working_days(date(2025, 9, 30), 2), date(2025, 10, 10));
        assert_eq!(calendar.add_working_days(date(2025, 9, 30), 0), date(2025, 9, 30));
    }

    proptest! {
        #[test]
        fn adding_then_counting_working_days_round_trips(offset in 0i64..3000, n in 0u32..40, holiday_offsets in proptest::collection::vec(0i64..400, 0..30)) {
            let base = date(2024, 1, 1);
            let start = base + chrono::Duration::days(offset);
            let holidays = holiday_offsets.iter().map(|o| start + chrono::Duration::days(*o));
            let calendar = WorkingCalendar::new(holidays, []);
            let deadline = calendar.add_working_days(start, n);
            prop_assert_eq!(calendar.working_days_between(start, deadline), n);
            prop_assert!(n == 0 || calendar.is_working_day(deadline));
        }
    }
}
