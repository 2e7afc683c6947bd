//! MySQL's JSON error log (`log_sink_json`, 8.0+) read as the traditional text
//! log, so that one parser reads both.
//!
//! The JSON sink writes one object per log event, pretty-printed over several
//! lines or not: `{ "prio": 3, "err_code": 12469, "subsystem": "InnoDB", "msg":
//! "*** (1) TRANSACTION:", "time": "…Z", "ts": 1589…, "thread": 9, "label": "Note" }`.
//! A deadlock print reaches it only as its header events (MY-012468 "Transactions
//! deadlock detected", MY-012469 "*** (1) TRANSACTION:", …): InnoDB writes the
//! transactions and locks straight to the server's stderr, which only the
//! traditional log file receives. So a JSON log gives each deadlock's time and
//! count, never its transactions.

use std::io::{self, Read};

use serde::Deserialize;
use serde_json::Value;

/// One event of the JSON sink; every field optional (a log filter can drop any).
#[derive(Debug, Default, Deserialize)]
struct JsonLogEvent {
    time: Option<String>,
    /// Milliseconds since the epoch (8.0.20+).
    ts: Option<i64>,
    thread: Option<Value>,
    label: Option<String>,
    err_code: Option<Value>,
    subsystem: Option<String>,
    msg: Option<String>,
}

/// Whether the start of a log is the JSON sink's: its first character (after a
/// BOM and blank space) opens an object that names JSON-sink fields.
pub fn is_json_sink(head: &[u8]) -> bool {
    // The first event says it; a whole file passed in is not scanned.
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    text.starts_with('{') && (text.contains("\"err_code\"") || text.contains("\"msg\""))
}

/// A reader of the traditional text log over a JSON-sink log: each event becomes
/// `TIME THREAD [Label] [MY-NNNNNN] [Subsystem] msg`. Reading stops at the first
/// text that is no JSON object; [`JsonSinkText::stopped`] then says where and why.
pub struct JsonSinkText<R: Read> {
    events: serde_json::StreamDeserializer<'static, serde_json::de::IoRead<R>, JsonLogEvent>,
    line: Vec<u8>,
    at: usize,
    stopped: Option<String>,
    events_read: u64,
}

impl<R: Read> JsonSinkText<R> {
    pub fn new(reader: R) -> Self {
        JsonSinkText {
            events: serde_json::Deserializer::from_reader(reader).into_iter(),
            line: Vec::new(),
            at: 0,
            stopped: None,
            events_read: 0,
        }
    }

    /// Why reading ended before the end of the input, if it did.
    pub fn stopped(&self) -> Option<&str> {
        self.stopped.as_deref()
    }

    /// Log events read.
    pub fn events_read(&self) -> u64 {
        self.events_read
    }
}

/// The traditional-format line of one event.
fn text_line(event: &JsonLogEvent) -> String {
    let time = match (&event.time, event.ts) {
        (Some(time), _) => time.clone(),
        (None, Some(ms)) => chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
            .unwrap_or_default(),
        (None, None) => String::new(),
    };
    let thread = match &event.thread {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => "0".into(),
    };
    let code = match &event.err_code {
        Some(Value::Number(n)) => format!("MY-{:06}", n.as_u64().unwrap_or(0)),
        Some(Value::String(s)) if s.starts_with("MY-") => s.clone(),
        Some(Value::String(s)) => format!("MY-{s:0>6}"),
        _ => "MY-000000".into(),
    };
    let label = event.label.as_deref().unwrap_or("Note");
    let subsystem = event.subsystem.as_deref().unwrap_or("Server");
    let msg = event.msg.as_deref().unwrap_or("");
    format!("{time} {thread} [{label}] [{code}] [{subsystem}] {msg}\n")
}

impl<R: Read> Read for JsonSinkText<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at >= self.line.len() {
            if self.stopped.is_some() {
                return Ok(0);
            }
            match self.events.next() {
                None => return Ok(0),
                Some(Ok(event)) => {
                    self.events_read += 1;
                    self.line = text_line(&event).into_bytes();
                    self.at = 0;
                }
                Some(Err(e)) if e.is_io() => return Err(io::Error::other(e)),
                Some(Err(e)) => {
                    self.stopped = Some(format!(
                        "not a JSON log event at line {}, column {}: {e}",
                        e.line(),
                        e.column()
                    ));
                    return Ok(0);
                }
            }
        }
        let n = out.len().min(self.line.len() - self.at);
        out[..n].copy_from_slice(&self.line[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::ErrorLogDeadlocks;

    /// Two deadlocks as the JSON sink writes them (objects over several lines,
    /// as in the manual's example; the second on one line each, `ts` without
    /// `time`), between server events.
    const JSON_LOG: &str = r#"{ "prio" : 0, "err_code" : 10116, "source_line" : 4340, "source_file" : "mysqld.cc",
  "function" : "init_common_variables", "msg" : "/usr/sbin/mysqld (mysqld 8.0.36) starting as process 1",
  "time" : "2025-11-10T08:50:00.000001Z", "ts" : 1762764600000, "err_symbol" : "ER_STARTING_AS",
  "SQL_state" : "HY000", "subsystem" : "Server", "label" : "System" }
{ "prio" : 3, "err_code" : 12468, "subsystem" : "InnoDB", "msg" : "Transactions deadlock detected, dumping detailed information.",
  "time" : "2025-11-10T08:52:25.728850+08:00", "thread" : 21, "err_symbol" : "ER_IB_MSG_643", "SQL_state" : "HY000", "label" : "Note" }
{ "prio" : 3, "err_code" : 12469, "subsystem" : "InnoDB", "msg" : "\n*** (1) TRANSACTION:\n",
  "time" : "2025-11-10T08:52:25.728871+08:00", "thread" : 21, "label" : "Note" }
{ "prio" : 3, "err_code" : 12469, "subsystem" : "InnoDB", "msg" : "*** (1) HOLDS THE LOCK(S):\n", "time" : "2025-11-10T08:52:25.728890+08:00", "thread" : 21, "label" : "Note" }
{ "prio" : 3, "err_code" : 12469, "subsystem" : "InnoDB", "msg" : "*** (1) WAITING FOR THIS LOCK TO BE GRANTED:\n", "time" : "2025-11-10T08:52:25.728901+08:00", "thread" : 21, "label" : "Note" }
{ "prio" : 3, "err_code" : 12469, "subsystem" : "InnoDB", "msg" : "*** (2) TRANSACTION:\n", "time" : "2025-11-10T08:52:25.728912+08:00", "thread" : 21, "label" : "Note" }
{ "prio" : 3, "err_code" : 12469, "subsystem" : "InnoDB", "msg" : "*** (2) HOLDS THE LOCK(S):\n", "time" : "2025-11-10T08:52:25.728920+08:00", "thread" : 21, "label" : "Note" }
{ "prio" : 3, "err_code" : 12469, "subsystem" : "InnoDB", "msg" : "*** (2) WAITING FOR THIS LOCK TO BE GRANTED:\n", "time" : "2025-11-10T08:52:25.728931+08:00", "thread" : 21, "label" : "Note" }
{ "prio" : 3, "err_code" : 12469, "subsystem" : "InnoDB", "msg" : "*** WE ROLL BACK TRANSACTION (2)\n", "time" : "2025-11-10T08:52:25.728940+08:00", "thread" : 21, "label" : "Note" }
{ "prio" : 3, "err_code" : 12468, "subsystem" : "InnoDB", "msg" : "Transactions deadlock detected, dumping detailed information.", "ts" : 1762765000123, "thread" : 30, "label" : "Note" }
{ "prio" : 3, "err_code" : 12469, "subsystem" : "InnoDB", "msg" : "*** (1) TRANSACTION:\n", "ts" : 1762765000124, "thread" : 30, "label" : "Note" }
{ "prio" : 3, "err_code" : 12469, "subsystem" : "InnoDB", "msg" : "*** WE ROLL BACK TRANSACTION (1)\n", "ts" : 1762765000125, "thread" : 30, "label" : "Note" }
"#;

    #[test]
    fn json_sink_gives_each_deadlock_with_its_time_and_no_transactions() {
        assert!(is_json_sink(JSON_LOG.as_bytes()));
        assert!(!is_json_sink(
            b"2025-11-10T08:52:25Z 0 [Note] [MY-012468] [InnoDB] x"
        ));
        let mut text = JsonSinkText::new(JSON_LOG.as_bytes());
        let deadlocks: Vec<_> = ErrorLogDeadlocks::new(&mut text)
            .map(Result::unwrap)
            .collect();
        assert_eq!(text.stopped(), None);
        assert_eq!(text.events_read(), 12);
        assert_eq!(deadlocks.len(), 2, "{deadlocks:#?}");
        assert_eq!(
            deadlocks[0].timestamp.as_deref(),
            Some("2025-11-10T08:52:25+08:00")
        );
        assert_eq!(
            deadlocks[1].timestamp.as_deref(),
            Some("2025-11-10T08:56:40Z")
        );
        // The headers number the transactions; nothing about them is there to read.
        assert_eq!(deadlocks[0].transactions.len(), 2);
        assert!(deadlocks
            .iter()
            .flat_map(|d| &d.transactions)
            .all(|t| t.trx_id.is_none() && t.thread_id.is_none()));
    }

    #[test]
    fn garbage_after_events_stops_with_where_and_keeps_what_was_read() {
        let cut = format!(
            "{}{{ \"prio\" : 3, \"msg\" : \"*** (1) TRA",
            &JSON_LOG[..JSON_LOG.len() - 1]
        );
        let garbled = format!("{}\nnot json at all\n", &JSON_LOG[..JSON_LOG.len() - 1]);
        for input in [cut, garbled] {
            let mut text = JsonSinkText::new(input.as_bytes());
            let found = ErrorLogDeadlocks::new(&mut text).count();
            assert_eq!(found, 2);
            assert!(text.stopped().is_some(), "{input}");
        }
    }

    #[test]
    fn odd_field_types_never_panic() {
        for input in [
            r#"{"err_code": "12468", "thread": "7", "msg": null}"#,
            r#"{"err_code": -1, "ts": -99999999999999999, "thread": [1]}"#,
            r#"{"ts": 9223372036854775807}"#,
            r#"[1, 2]"#,
            "{",
            "",
        ] {
            let mut out = String::new();
            let _ = JsonSinkText::new(input.as_bytes()).read_to_string(&mut out);
        }
    }
}
