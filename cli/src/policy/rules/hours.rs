//! Working hours: a window of the day at a fixed UTC offset, on some days of the week.
//!
//! A window whose `end` is before its `start` is a night shift, and belongs to the day it starts, as people
//! speak of shifts: Friday's `22:00`-`06:00` covers Saturday 02:00, and Friday 03:00 is Thursday's night.

use chrono::{DateTime, Datelike, FixedOffset, Offset, Timelike, Utc, Weekday};

use super::RawHours;

/// A checked `working_hours` table.
pub(super) struct Hours {
    days: Vec<Weekday>,
    /// Minutes since midnight, `0..=1440`.
    start: u32,
    end: u32,
    offset: FixedOffset,
}

impl Hours {
    /// Checks a `working_hours` table; the error says which value is wrong.
    pub(super) fn from_raw(raw: RawHours) -> Result<Self, String> {
        let days = match raw.days {
            None => {
                vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun]
            }
            Some(days) => days
                .iter()
                .map(|d| d.parse::<Weekday>().map_err(|_| format!("{d:?} is not a day (mon, tue, ...)")))
                .collect::<Result<_, _>>()?,
        };
        let offset = match raw.utc_offset.as_deref().map(str::trim) {
            None | Some("Z" | "UTC" | "utc") => Utc.fix(),
            Some(text) => {
                let wrong = || format!("utc_offset {text:?} is not like +01:00, -03:30 or +05:45");
                let (sign, rest) = match text.as_bytes().first() {
                    Some(b'+') => (1, &text[1..]),
                    Some(b'-') => (-1, &text[1..]),
                    _ => return Err(wrong()),
                };
                let at = minutes(rest).map_err(|_| wrong())?;
                let seconds =
                    i32::try_from(at).ok().and_then(|at| at.checked_mul(60)).and_then(|s| s.checked_mul(sign));
                seconds.and_then(FixedOffset::east_opt).ok_or_else(|| format!("utc_offset {text:?} is out of range"))?
            }
        };
        let (start, end) = (minutes(&raw.start)?, minutes(&raw.end)?);
        if start == end {
            return Err(format!("start and end are both {}: the window is empty", raw.start));
        }
        Ok(Self { days, start, end, offset })
    }

    /// The day whose window holds `now`'s time of day (`None` when no window of any day does), and `now` at
    /// the window's offset.
    fn window_day(&self, now: DateTime<Utc>) -> (Option<Weekday>, DateTime<FixedOffset>) {
        let local = now.with_timezone(&self.offset);
        // At most 23 * 60 + 59: a time of day cannot overflow.
        let minute = local.hour().saturating_mul(60).saturating_add(local.minute());
        let day = if self.start < self.end {
            (self.start..self.end).contains(&minute).then(|| local.weekday())
        } else if minute >= self.start {
            Some(local.weekday())
        } else {
            // After midnight: the night shift that started the evening before.
            (minute < self.end).then(|| local.weekday().pred())
        };
        (day, local)
    }

    /// `None` when `now` is in a window of one of the days; else why not, in words, naming the day whose
    /// window was checked.
    pub(super) fn why_not(&self, now: DateTime<Utc>) -> Option<String> {
        let (start, end) = (hhmm(self.start), hhmm(self.end));
        let (day, local) = self.window_day(now);
        let at = local.format("%H:%M");
        let Some(day) = day else {
            return Some(format!("outside working hours {start}-{end} {} (request at {at})", self.offset));
        };
        if self.days.contains(&day) {
            return None;
        }
        let days: Vec<String> = self.days.iter().map(|d| name(*d)).collect();
        Some(format!(
            "not a working day ({}) at {} (request on {} at {at}, in the {start}-{end} window of {})",
            days.join(", "),
            self.offset,
            name(local.weekday()),
            name(day)
        ))
    }

    /// When `now` is in a window: which one, in words (`the 22:00-06:00 window of fri at +01:00`).
    pub(super) fn matched(&self, now: DateTime<Utc>) -> Option<String> {
        let (day, _) = self.window_day(now);
        let day = day.filter(|d| self.days.contains(d))?;
        Some(format!("the {}-{} window of {} at {}", hhmm(self.start), hhmm(self.end), name(day), self.offset))
    }
}

fn name(day: Weekday) -> String {
    day.to_string().to_lowercase()
}

/// `HH:MM` as minutes since midnight, up to `24:00`.
fn minutes(text: &str) -> Result<u32, String> {
    let wrong = || format!("{text:?} is not HH:MM");
    let (h, m) = text.split_once(':').ok_or_else(wrong)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| wrong())?, m.parse().map_err(|_| wrong())?);
    // Checked: `start = "99999999:00"` must be refused, not wrap into a valid-looking time.
    match h.checked_mul(60).and_then(|hm| hm.checked_add(m)) {
        Some(total) if m <= 59 && total <= 24 * 60 => Ok(total),
        _ => Err(format!("{text:?} is not a time of day")),
    }
}

/// Minutes since midnight as `HH:MM` (`24:00` for the end of the day).
fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}
