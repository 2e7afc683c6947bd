//! A deadlock's printed time placed in time: the one parse every use shares
//! (filters, identities, RFC 3339 in JSON, the Prometheus timestamp).

use chrono::{DateTime, FixedOffset, NaiveDateTime};

/// A deadlock timestamp as the parser keeps it, placed in time: `…T…Z` is UTC,
/// `…T…+08:00` carries its offset, and the plain `YYYY-MM-DD HH:MM:SS` is the
/// *server's* local time, placed only with the server's UTC offset (read live, or
/// `--server-tz`); without it, `None`. The one parse every use of the time shares.
pub fn deadlock_time(
    ts: &str,
    server_utc_offset_secs: Option<i64>,
) -> Option<DateTime<FixedOffset>> {
    if let Ok(zoned) = DateTime::parse_from_rfc3339(ts) {
        return Some(zoned);
    }
    // No zone (`T` or space between date and time): server time.
    let naive = NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S"))
        .ok()?;
    let zone = FixedOffset::east_opt(i32::try_from(server_utc_offset_secs?).ok()?)?;
    naive.and_local_timezone(zone).single()
}

/// Seconds since the epoch of a deadlock timestamp (see [`deadlock_time`]).
pub fn timestamp_epoch(ts: &str, server_utc_offset_secs: Option<i64>) -> Option<i64> {
    deadlock_time(ts, server_utc_offset_secs).map(|t| t.timestamp())
}

/// A placed time as RFC 3339 with its offset, to the second.
pub fn rfc3339_text(at: &DateTime<FixedOffset>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// A deadlock timestamp as RFC 3339 with its offset: the zone it was printed with,
/// or the server's for a zone-less print; `None` when that zone is unknown.
pub fn timestamp_rfc3339(ts: &str, server_utc_offset_secs: Option<i64>) -> Option<String> {
    deadlock_time(ts, server_utc_offset_secs).map(|t| rfc3339_text(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_keeps_the_printed_zone_or_takes_the_servers() {
        assert_eq!(
            timestamp_rfc3339("2025-11-10T08:52:25+08:00", None).as_deref(),
            Some("2025-11-10T08:52:25+08:00")
        );
        assert_eq!(
            timestamp_rfc3339("2025-11-10T00:52:25Z", Some(3600)).as_deref(),
            Some("2025-11-10T00:52:25+00:00"),
            "a printed zone wins over the server's"
        );
        assert_eq!(timestamp_rfc3339("2025-11-10 08:52:25", None), None);
        assert_eq!(
            timestamp_rfc3339("2025-11-10 08:52:25", Some(-5 * 3600 - 1800)).as_deref(),
            Some("2025-11-10T08:52:25-05:30")
        );
        for bad in ["", "2025-13-40 99:99:99", "yesterday"] {
            assert_eq!(timestamp_rfc3339(bad, Some(0)), None);
        }
        // An offset no zone has is refused, not wrapped.
        assert_eq!(
            timestamp_rfc3339("2025-11-10 08:52:25", Some(i64::MAX)),
            None
        );
    }

    #[test]
    fn zones_are_honoured_and_server_time_needs_the_offset() {
        let utc = timestamp_epoch("2025-11-10T00:52:25Z", None).unwrap();
        assert_eq!(
            timestamp_epoch("2025-11-10T08:52:25+08:00", None),
            Some(utc)
        );
        assert_eq!(
            timestamp_epoch("2025-11-09T19:22:25-05:30", None),
            Some(utc)
        );
        assert_eq!(timestamp_epoch("2025-11-10 08:52:25", None), None);
        assert_eq!(
            timestamp_epoch("2025-11-10 08:52:25", Some(8 * 3600)),
            Some(utc)
        );
        assert_eq!(
            timestamp_epoch("2025-11-10T08:52:25", Some(8 * 3600)),
            Some(utc)
        );
        assert!(
            timestamp_epoch("2025-11-10T00:52:25Z", None).is_some()
                && timestamp_epoch("2025-11-10 08:52:25", None).is_none()
        );
        assert_eq!(timestamp_epoch("2025-13-99 é", Some(0)), None);
    }
}
