//! The time context each question carries in its system prompt: local date, weekday, time and
//! time zone, in the question's language, so "几点了" or "what day is it" is answered from fact
//! rather than guessed, and "at 7" or "tomorrow" has a reference.
//!
//! Pure: the time is an argument (`jiff::Zoned`, whose zone came from `$TZ` or /etc/localtime
//! through `app::system_zone()` at the caller), so tests fix it, DST changes included.
//!
//! No lunar date (农历) for Chinese: the established converters (`lunardate`,
//! `chinese-lunisolar-calendar`) are single-author year tables built on chrono, a second time
//! library beside jiff, and the newer `lunar-lite` has no track record yet; a hand-written table
//! is not cheap. The model still gets the Gregorian date, which is what timers and alarms need.

use jiff::Zoned;
use jiff::civil::Weekday;

/// The context block for a question in `lang` ("zh", "en", "vi", "ja"; a region such as
/// "zh-tw" counts as its language, Cantonese reads Chinese; anything else gets English).
pub fn context(now: &Zoned, lang: &str) -> String {
    let (y, mo, d) = (now.year(), now.month(), now.day());
    let hm = format!("{:02}:{:02}", now.hour(), now.minute());
    let zone = zone(now);
    let w = now.weekday();
    match lang.split('-').next().unwrap_or(lang) {
        "zh" | "yue" => format!(
            "当前本地时间：{y}年{mo}月{d}日 {} {hm}，时区 {zone}。问到时间或日期时，直接用这个回答。",
            weekday_zh(w)
        ),
        "ja" => format!(
            "現在の日時：{y}年{mo}月{d}日（{}）{hm}、タイムゾーン {zone}。時刻や日付を聞かれたら、これを使って答えてください。",
            weekday_ja(w)
        ),
        "vi" => format!(
            "Bây giờ là {hm}, {}, ngày {d} tháng {mo} năm {y}, múi giờ {zone}. Khi được hỏi giờ hay ngày, hãy trả lời theo thông tin này.",
            weekday_vi(w)
        ),
        _ => format!(
            "The local time now is {hm} on {}, {d} {} {y} ({}), time zone {zone}. Answer questions about the time or date from this.",
            weekday_en(w),
            MONTHS_EN[usize::try_from(mo - 1).unwrap_or(0) % 12],
            now.date()
        ),
    }
}

/// `system_prompt` followed by the time context (a blank line between them).
pub fn system_prompt(base: &str, now: &Zoned, lang: &str) -> String {
    let block = context(now, lang);
    if base.trim().is_empty() {
        block
    } else {
        format!("{base}\n\n{block}")
    }
}

/// "Asia/Shanghai (UTC+08:00)"; a zone without an IANA name (a POSIX `TZ` such as
/// "EST5EDT") shows its abbreviation in force.
fn zone(now: &Zoned) -> String {
    let secs = now.offset().seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
    let offset = format!("UTC{sign}{h:02}:{m:02}");
    let tz = now.time_zone();
    let name = match tz.iana_name() {
        Some(n) => n.to_string(),
        None => tz
            .to_offset_info(now.timestamp())
            .abbreviation()
            .to_string(),
    };
    if name.is_empty() || name == "UTC" && secs == 0 {
        offset
    } else {
        format!("{name} ({offset})")
    }
}

const MONTHS_EN: [&str; 12] = [
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

fn weekday_en(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

fn weekday_zh(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "星期一",
        Weekday::Tuesday => "星期二",
        Weekday::Wednesday => "星期三",
        Weekday::Thursday => "星期四",
        Weekday::Friday => "星期五",
        Weekday::Saturday => "星期六",
        Weekday::Sunday => "星期日",
    }
}

fn weekday_ja(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "月曜日",
        Weekday::Tuesday => "火曜日",
        Weekday::Wednesday => "水曜日",
        Weekday::Thursday => "木曜日",
        Weekday::Friday => "金曜日",
        Weekday::Saturday => "土曜日",
        Weekday::Sunday => "日曜日",
    }
}

fn weekday_vi(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "Thứ Hai",
        Weekday::Tuesday => "Thứ Ba",
        Weekday::Wednesday => "Thứ Tư",
        Weekday::Thursday => "Thứ Năm",
        Weekday::Friday => "Thứ Sáu",
        Weekday::Saturday => "Thứ Bảy",
        Weekday::Sunday => "Chủ Nhật",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use jiff::tz::TimeZone;

    fn at(utc: &str, zone: &str) -> Zoned {
        let ts: Timestamp = utc.parse().unwrap();
        ts.to_zoned(TimeZone::get(zone).unwrap())
    }

    #[test]
    fn shanghai_in_chinese_and_english() {
        // 2026-12-06 04:30 UTC is 12:30 in Shanghai, a Sunday.
        let now = at("2026-12-06T04:30:59Z", "Asia/Shanghai");
        assert_eq!(
            context(&now, "zh"),
            "当前本地时间：2026年12月6日 星期日 12:30，时区 Asia/Shanghai (UTC+08:00)。问到时间或日期时，直接用这个回答。"
        );
        assert_eq!(context(&now, "zh-tw"), context(&now, "zh"));
        assert_eq!(
            context(&now, "en"),
            "The local time now is 12:30 on Sunday, 6 December 2026 (2026-12-06), time zone Asia/Shanghai (UTC+08:00). Answer questions about the time or date from this."
        );
        // A language without its own block gets English.
        assert_eq!(context(&now, "ko"), context(&now, "en"));
        assert!(context(&now, "ja").contains("2026年12月6日（日曜日）12:30"));
        assert!(context(&now, "vi").contains("12:30, Chủ Nhật, ngày 6 tháng 12 năm 2026"));
    }

    #[test]
    fn the_date_changes_at_local_midnight_not_utc() {
        // 16:05 UTC on the 5th is already 00:05 on the 6th in Shanghai.
        let now = at("2026-12-05T16:05:00Z", "Asia/Shanghai");
        assert!(context(&now, "zh").contains("12月6日 星期日 00:05"));
        let now = at("2026-12-05T16:05:00Z", "UTC");
        assert!(context(&now, "en").contains("16:05 on Saturday, 5 December 2026"));
        assert!(context(&now, "en").contains("time zone UTC+00:00."));
    }

    #[test]
    fn daylight_saving_changes_the_clock_and_the_offset() {
        // Berlin leaves summer time on 2026-10-25 at 03:00 CEST (01:00 UTC).
        let before = at("2026-10-25T00:30:00Z", "Europe/Berlin");
        let after = at("2026-10-25T01:30:00Z", "Europe/Berlin");
        assert!(
            context(&before, "en").contains("02:30 on Sunday, 25 October 2026"),
            "{}",
            context(&before, "en")
        );
        assert!(context(&before, "en").contains("Europe/Berlin (UTC+02:00)"));
        // An hour later by the world, the same 02:30 on the wall, in winter time.
        assert!(context(&after, "en").contains("02:30 on Sunday, 25 October 2026"));
        assert!(context(&after, "en").contains("Europe/Berlin (UTC+01:00)"));
        // New York springs forward on 2026-03-08: 01:59 EST, then 03:00 EDT.
        let ny = at("2026-03-08T07:00:00Z", "America/New_York");
        assert!(
            context(&ny, "zh")
                .contains("2026年3月8日 星期日 03:00，时区 America/New_York (UTC-04:00)")
        );
        // Half-hour and quarter-hour zones.
        assert!(
            context(&at("2026-01-01T00:00:00Z", "Asia/Kathmandu"), "en").contains("(UTC+05:45)")
        );
    }

    #[test]
    fn a_posix_zone_shows_its_abbreviation() {
        let tz = TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").unwrap();
        let ts: Timestamp = "2026-07-01T12:00:00Z".parse().unwrap();
        let now = ts.to_zoned(tz);
        assert!(
            context(&now, "en").contains(
                "08:00 on Wednesday, 1 July 2026 (2026-07-01), time zone EDT (UTC-04:00)"
            ),
            "{}",
            context(&now, "en")
        );
    }

    #[test]
    fn the_block_follows_the_configured_prompt() {
        let now = at("2026-12-06T04:30:00Z", "Asia/Shanghai");
        assert_eq!(
            system_prompt("Be brief.", &now, "en"),
            format!("Be brief.\n\n{}", context(&now, "en"))
        );
        assert_eq!(system_prompt("  ", &now, "zh"), context(&now, "zh"));
    }
}
