//! Streams every deadlock out of a server error log written with
//! `innodb_print_all_deadlocks=ON`, in bounded memory — and every lock wait
//! timeout Percona Server logs with `innodb_print_lock_wait_timeout_info=ON`.
//!
//! The section headers of a deadlock print carry the log's line prefix
//! (`2026-11-22 15:55:23 6 [Note] InnoDB: `, MySQL 8: `…Z 12 [Note] [MY-012469] [InnoDB] `)
//! while the transaction, lock and record lines do not. Outside a deadlock
//! the reader does not split lines at all: it searches the raw bytes for the
//! `deadlock detected` and `Lock wait timeout info:` markers, which is what
//! makes big logs cheap to scan.

use std::collections::VecDeque;
use std::io::{self, Read};

use memchr::memmem;

use crate::model::{Deadlock, LockWaitTimeout};

use super::deadlock::DeadlockBuilder;
use super::lines::{self, LineKind};
use super::lock_wait_timeout::{Fed, LockWaitTimeoutBuilder, TIMEOUT_MARKER};

/// Printed by MySQL 5.5–9.x and MariaDB before each deadlock
/// (`Transactions deadlock detected, dumping detailed information.`).
const MARKER: &[u8] = b"deadlock detected";
/// Opens every section of a print (`*** (1) TRANSACTION:`, `*** WE ROLL BACK …`):
/// where an excerpt that starts inside a print, without the marker line, is found.
const SECTION: &[u8] = b"***";
const READ_SIZE: usize = 1 << 20;
/// A longer line is cut: no real deadlock line is near this size.
const MAX_LINE: usize = 4 << 20;

/// A log line split into its prefix timestamp (if any) and its message.
struct LogLine<'a> {
    prefixed: bool,
    /// The prefixed line when it starts with a timestamp, read only where needed.
    stamped: Option<&'a str>,
    message: &'a str,
}

impl<'a> LogLine<'a> {
    fn plain(line: &'a str) -> Self {
        LogLine {
            prefixed: false,
            stamped: None,
            message: line,
        }
    }
}

/// Reads one `[…]` tag at the start of `text` (after any spaces): its content and the rest.
fn bracket_tag(text: &str) -> Option<(&str, &str)> {
    let (tag, rest) = text.trim_start().strip_prefix('[')?.split_once(']')?;
    Some((tag, rest))
}

/// Skips what stands between the thread id and the message, token by token with
/// any spacing: `[Note] InnoDB: ` (5.6/5.7, MariaDB) or `[Note] [MY-012469] [InnoDB] `
/// (MySQL 8, which writes two spaces before a deadlock's `***`). A line with
/// neither a level tag nor `InnoDB:` is not a log prefix.
fn skip_level_and_subsystem(rest: &str) -> Option<&str> {
    let mut rest = rest.trim_start();
    let mut recognised = false;
    if let Some((level, after)) = bracket_tag(rest) {
        if !level.starts_with("MY-") {
            rest = after;
            recognised = true;
        }
    }
    if let Some((code, after)) = bracket_tag(rest) {
        if code.starts_with("MY-") {
            rest = after;
            recognised = true;
            // The subsystem: [InnoDB], [Server], [Repl], …
            if let Some((_, after)) = bracket_tag(rest) {
                rest = after;
            }
        }
    }
    let trimmed = rest.trim_start();
    if let Some(msg) = trimmed.strip_prefix("InnoDB:") {
        return Some(msg.trim_start());
    }
    recognised.then(|| rest.trim_start())
}

/// The message of a line that carries an error-log prefix, or `None` for a line
/// without one: lets every reader of deadlock prints take `*** WE ROLL BACK …`
/// with its log prefix as the victim line, wherever the text came from.
pub fn log_message(line: &str) -> Option<&str> {
    let line = split_prefix(line);
    line.prefixed.then_some(line.message)
}

/// Splits the error-log prefix off a line, by hand (every line of a deadlock
/// print passes here), with any spacing: `2026-11-22 15:55:23 6 [Note] InnoDB: …`,
/// `2024-05-02T10:20:07.000020Z 21 [Note] [MY-012469] [InnoDB]  …`,
/// `2025-11-10T08:52:25.728850+08:00 9 [Note] …` (`log_timestamps=SYSTEM`),
/// `131030 11:00:00 InnoDB: …` and `InnoDB: …` (5.5).
fn split_prefix(line: &str) -> LogLine<'_> {
    let original = line;
    // Pasted logs come indented (tabs, spaces); the prefix is still a prefix.
    let line = line.trim_start();
    if let Some(msg) = line.strip_prefix("InnoDB:") {
        return LogLine {
            prefixed: true,
            stamped: None,
            message: msg.trim_start(),
        };
    }
    if !line.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return LogLine::plain(original);
    }
    // `split_timestamp` takes the thread id after the timestamp with it (a number,
    // like a status text's thread handle).
    let Some(rest) = lines::skip_timestamp(line) else {
        return LogLine::plain(original);
    };
    // MySQL 5.6 starts each deadlock section with a line of timestamp and thread only.
    if rest.trim().is_empty() {
        return LogLine {
            prefixed: true,
            stamped: Some(line),
            message: "",
        };
    }
    match skip_level_and_subsystem(rest) {
        Some(message) => LogLine {
            prefixed: true,
            stamped: Some(line),
            message,
        },
        None => LogLine::plain(original),
    }
}

/// What an error log holds that lockdiag reads, in the order it was logged.
#[derive(Debug, Clone, PartialEq)]
pub enum LogEntry {
    Deadlock(Deadlock),
    LockWaitTimeout(LockWaitTimeout),
}

/// An iterator over the deadlocks and logged lock wait timeouts of an error log, oldest first.
pub struct ErrorLogEntries<R: Read> {
    reader: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    finder: memmem::Finder<'static>,
    sections: memmem::Finder<'static>,
    timeouts: memmem::Finder<'static>,
    /// The line before the one `seek_marker` stopped at is an InnoDB log line, or there
    /// is none (MariaDB prints `*** (1) TRANSACTION:` bare after an empty `[Note] InnoDB:`).
    previous_prefixed: bool,
    current: Option<DeadlockBuilder>,
    /// The thread that writes the print being read (the id after its lines' timestamp).
    print_thread: Option<u64>,
    /// The start of a print line another thread's log line was written into the middle
    /// of: the rest of it is the next line.
    split_head: Option<String>,
    timeout: Option<LockWaitTimeoutBuilder>,
    /// Entries completed and not yet handed out (one line can end one and open another).
    ready: VecDeque<LogEntry>,
    /// Bytes consumed so far (for progress and benchmarks).
    pub bytes_scanned: u64,
}

/// An iterator over the deadlocks of an error log only, oldest first.
pub struct ErrorLogDeadlocks<R: Read>(ErrorLogEntries<R>);

impl<R: Read> ErrorLogDeadlocks<R> {
    pub fn new(reader: R) -> Self {
        ErrorLogDeadlocks(ErrorLogEntries::new(reader))
    }
}

impl<R: Read> Iterator for ErrorLogDeadlocks<R> {
    type Item = io::Result<Deadlock>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.find_map(|entry| match entry {
            Ok(LogEntry::Deadlock(d)) => Some(Ok(d)),
            Ok(LogEntry::LockWaitTimeout(_)) => None,
            Err(e) => Some(Err(e)),
        })
    }
}

/// The longest marker: a read boundary may cut this many bytes of one.
const MARKER_SPAN: usize = if MARKER.len() > TIMEOUT_MARKER.len() {
    MARKER.len()
} else {
    TIMEOUT_MARKER.len()
};

impl<R: Read> ErrorLogEntries<R> {
    pub fn new(reader: R) -> Self {
        ErrorLogEntries {
            reader,
            buf: vec![0; READ_SIZE],
            start: 0,
            end: 0,
            eof: false,
            finder: memmem::Finder::new(MARKER),
            sections: memmem::Finder::new(SECTION),
            timeouts: memmem::Finder::new(TIMEOUT_MARKER.as_bytes()),
            previous_prefixed: false,
            current: None,
            print_thread: None,
            split_head: None,
            timeout: None,
            ready: VecDeque::new(),
            bytes_scanned: 0,
        }
    }

    /// Moves unread bytes to the front and reads more. Returns false at end of input.
    fn refill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).min(MAX_LINE + READ_SIZE);
            if grown == self.buf.len() {
                // A line longer than MAX_LINE: drop its head, keep scanning.
                self.start = self.end - MARKER_SPAN;
                return self.refill_after_drop();
            }
            self.buf.resize(grown, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn refill_after_drop(&mut self) -> io::Result<bool> {
        self.bytes_scanned += self.start as u64;
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        self.refill()
    }

    /// Skips to the start of the line holding the next marker or section opening
    /// (`***`). False at end of input.
    fn seek_marker(&mut self) -> io::Result<bool> {
        loop {
            let window = &self.buf[self.start..self.end];
            let marker = self.finder.find(window);
            // Each searched only up to the one found before: together, about one pass.
            let timeout = self
                .timeouts
                .find(&window[..marker.unwrap_or(window.len())]);
            let section = self
                .sections
                .find(&window[..timeout.or(marker).unwrap_or(window.len())]);
            if let Some(hit) = section.or(timeout).or(marker) {
                let line_start = memchr::memrchr(b'\n', &window[..hit]).map_or(0, |p| p + 1);
                // The first line of the input has no line before it: nothing to mistake.
                let first_line = self.bytes_scanned == 0 && self.start + line_start == 0;
                self.previous_prefixed = section.is_some()
                    && (first_line
                        || line_start > 0 && {
                            let before = &window[..line_start - 1];
                            let from = memchr::memrchr(b'\n', before).map_or(0, |p| p + 1);
                            // MariaDB's empty `[Note] InnoDB:` line, not a monitor output's
                            // timestamp line (which a MySQL 5.6 section line also looks like).
                            let text = String::from_utf8_lossy(&before[from..]);
                            text.contains("InnoDB")
                                && split_prefix(text.trim_end_matches('\r')).prefixed
                        });
                self.bytes_scanned += line_start as u64;
                self.start += line_start;
                return Ok(true);
            }
            // Keep the partial last line: the marker may straddle the read boundary.
            let keep_from = match memchr::memrchr(b'\n', window) {
                Some(p) => p + 1,
                None => window.len().saturating_sub(MARKER_SPAN),
            };
            self.bytes_scanned += keep_from as u64;
            self.start += keep_from;
            if !self.refill()? {
                self.bytes_scanned += (self.end - self.start) as u64;
                self.start = self.end;
                return Ok(false);
            }
        }
    }

    /// The byte range of the next whole line (without its newline) in `buf`,
    /// valid until the next call; `None` at end of input. No copy is made.
    fn next_line(&mut self) -> io::Result<Option<(usize, usize)>> {
        loop {
            let window = &self.buf[self.start..self.end];
            if let Some(p) = memchr::memchr(b'\n', window) {
                let range = (self.start, self.start + p);
                self.start += p + 1;
                self.bytes_scanned += (p + 1) as u64;
                return Ok(Some(range));
            }
            if !self.refill()? {
                if self.start == self.end {
                    return Ok(None);
                }
                let range = (self.start, self.end);
                self.bytes_scanned += (self.end - self.start) as u64;
                self.start = self.end;
                return Ok(Some(range));
            }
        }
    }

    fn read_next(&mut self) -> io::Result<Option<LogEntry>> {
        loop {
            if let Some(entry) = self.ready.pop_front() {
                return Ok(Some(entry));
            }
            if self.current.is_none() && self.timeout.is_none() && !self.seek_marker()? {
                return Ok(None);
            }
            let Some((from, to)) = self.next_line()? else {
                // The text ended: what was open is handed out as read (cut).
                end_timeout(&mut self.timeout, &mut self.ready);
                end_deadlock(&mut self.current, &mut self.ready);
                return Ok(self.ready.pop_front());
            };
            let text = utf8_line(&self.buf[from..to]);
            let mut raw = text.trim_end_matches('\r');
            let joined;
            if let Some(head) = self.split_head.take() {
                joined = head + raw;
                raw = &joined;
            } else if self.current.is_some() {
                // The server writes a record field in pieces: another thread's whole log
                // line can land inside it (seen live, even inside the hex). Its head waits
                // for its tail on the next line; the foreign line is dropped.
                if let Some(at) = foreign_line_inside(raw) {
                    self.split_head = Some(raw[..at].to_string());
                    continue;
                }
            }
            let log_line = split_prefix(raw);
            if let Some(builder) = self.timeout.as_mut() {
                match builder.feed(log_line.message, log_line.prefixed) {
                    Fed::Taken => continue,
                    Fed::Complete => {
                        end_timeout(&mut self.timeout, &mut self.ready);
                        continue;
                    }
                    // The entry ended before this line, which is read as any other.
                    Fed::NotMine => end_timeout(&mut self.timeout, &mut self.ready),
                }
            }
            // The prepared searcher: `str::contains` would build one for every line.
            if self.timeouts.find(log_line.message.as_bytes()).is_some() {
                // A new log message: it ends a deadlock print being read.
                end_deadlock(&mut self.current, &mut self.ready);
                // MySQL 5.6 writes `2019-11-14 18:32:11 7f…` before it, no level tag.
                let stamp = log_line.stamped.unwrap_or(raw);
                self.timeout = Some(LockWaitTimeoutBuilder::new(lines::parse_timestamp(stamp)));
                continue;
            }
            if self.finder.find(log_line.message.as_bytes()).is_some() {
                self.print_thread = log_line.stamped.and_then(log_thread);
                let mut builder = DeadlockBuilder::new();
                builder.set_timestamp_if_missing(log_line.stamped.and_then(lines::parse_timestamp));
                // A new print began before the last one ended: that one was cut.
                if let Some(previous) = self.current.replace(builder) {
                    if previous.has_transactions() {
                        self.ready.push_back(LogEntry::Deadlock(previous.finish()));
                    }
                }
                continue;
            }
            let Some(builder) = self.current.as_mut() else {
                // An excerpt that starts inside a print: its first section header
                // with a log prefix (or bare right after a prefixed line) opens it.
                if self.opens_fragment(&log_line) {
                    self.print_thread = log_line.stamped.and_then(log_thread);
                    let mut builder = DeadlockBuilder::new();
                    builder.mark_start_missing();
                    builder.set_timestamp_if_missing(
                        log_line.stamped.and_then(lines::parse_timestamp),
                    );
                    builder.feed(log_line.message);
                    self.current = Some(builder);
                }
                continue;
            };
            if log_line.prefixed && !is_deadlock_message(log_line.message) {
                // Another thread's message written in the middle of the print (a client's
                // `Aborted connection` warning, seen live): skipped, the print goes on.
                let thread = log_line.stamped.and_then(log_thread);
                if thread.is_some() && self.print_thread.is_some() && thread != self.print_thread {
                    continue;
                }
                end_deadlock(&mut self.current, &mut self.ready);
                continue;
            }
            if !builder.has_timestamp() {
                builder.set_timestamp_if_missing(log_line.stamped.and_then(lines::parse_timestamp));
            }
            builder.feed(log_line.message);
            if builder.is_complete() {
                end_deadlock(&mut self.current, &mut self.ready);
            }
        }
    }
}

/// Where another log line (`2026-12-01 17:33:00 2295 [Warning] …`) begins inside
/// `line`, after its start; `None` when there is none. Looked for only at a `[` (a
/// level tag) that a timestamp and a thread id come right before.
fn foreign_line_inside(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    memchr::memchr_iter(b'[', bytes).find_map(|tag| {
        // The timestamp begins at most ~40 bytes before the tag, with its year.
        let from = tag.saturating_sub(48);
        memchr::memchr_iter(b'-', &bytes[from..tag]).find_map(|dash| {
            let start = (from + dash).checked_sub(4)?;
            let candidate = line.get(start..)?;
            let rest = lines::skip_timestamp(candidate)?;
            // After something (an indented line's own prefix is no foreign line).
            let inside = !line[..start].trim().is_empty();
            (inside && rest.trim_start().starts_with('[') && line.len() - rest.len() <= tag + 1)
                .then_some(start)
        })
    })
}

/// The thread id a prefixed log line names after its timestamp (`2026-12-01 17:31:20 485
/// [Warning] …`, `2024-05-02T10:20:07.000020Z 21 [Note] …`); `None` for a prefix without one.
fn log_thread(stamped: &str) -> Option<u64> {
    let mut words = stamped.split_whitespace();
    // The time is the first word with a `:` (a word of its own, or the ISO form's tail).
    words.find(|w| w.contains(':'))?;
    words.next()?.parse().ok()
}

/// A line as text: borrowed when its bytes are UTF-8 (they almost always are; the
/// validation is the fast one), else with U+FFFD for what is not.
fn utf8_line(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.into(),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Hands out the deadlock being read, if any.
fn end_deadlock(current: &mut Option<DeadlockBuilder>, ready: &mut VecDeque<LogEntry>) {
    if let Some(builder) = current.take() {
        ready.push_back(LogEntry::Deadlock(builder.finish()));
    }
}

/// Hands out the lock wait timeout being read, if any.
fn end_timeout(timeout: &mut Option<LockWaitTimeoutBuilder>, ready: &mut VecDeque<LogEntry>) {
    if let Some(builder) = timeout.take() {
        ready.push_back(LogEntry::LockWaitTimeout(builder.finish()));
    }
}

impl<R: Read> ErrorLogEntries<R> {
    /// Whether `line`, met outside any print, is a section header of one whose start
    /// is not in the text. Bare headers count only after a prefixed line, so the
    /// LATEST DETECTED DEADLOCK section of a monitor output in the log is no deadlock.
    fn opens_fragment(&self, line: &LogLine<'_>) -> bool {
        if !line.message.trim_start().starts_with("***") {
            return false;
        }
        match lines::classify(line.message.trim_start()) {
            LineKind::TransactionHeader(_) => line.prefixed || self.previous_prefixed,
            LineKind::WaitingHeader(_)
            | LineKind::HoldsHeader(_)
            | LineKind::ConflictingHeader
            | LineKind::RollBack(_) => line.prefixed,
            _ => false,
        }
    }
}

/// A prefixed message that still belongs to the deadlock print.
fn is_deadlock_message(message: &str) -> bool {
    let m = message.trim();
    m.is_empty()
        || m.starts_with("***")
        || m.contains("TOO DEEP OR LONG SEARCH")
        || lines::parse_timestamp(m).is_some()
}

impl<R: Read> Iterator for ErrorLogEntries<R> {
    type Item = io::Result<LogEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        self.read_next().transpose()
    }
}

/// How much of `text` — a log still being written — holds only complete entries:
/// up to the end of the last deadlock print's victim line (`*** WE ROLL BACK
/// TRANSACTION (N)`, the last line InnoDB writes of a print, in the text and the
/// JSON sink alike) or of the last lock wait timeout entry whose every announced
/// blocker is there. `None` while nothing is complete yet.
pub fn complete_entries_len(text: &[u8]) -> Option<usize> {
    let printed = memmem::rfind(text, b"WE ROLL BACK TRANSACTION")
        .and_then(|at| memchr::memchr(b'\n', &text[at..]).map(|nl| at + nl + 1));
    let Some(at) = memmem::rfind(text, TIMEOUT_MARKER.as_bytes()) else {
        return printed;
    };
    let opens = memchr::memrchr(b'\n', &text[..at]).map_or(0, |p| p + 1);
    if printed.is_some_and(|end| end > opens) {
        return printed;
    }
    // The last timeout comes after the last print: complete once its last blocker is there.
    let mut builder = LockWaitTimeoutBuilder::new(None);
    let body_from = memchr::memchr(b'\n', &text[at..])? + at + 1;
    let mut from = body_from;
    while let Some(nl) = memchr::memchr(b'\n', &text[from..]) {
        let line = utf8_line(&text[from..from + nl]);
        let log_line = split_prefix(line.trim_end_matches('\r'));
        match builder.feed(log_line.message, log_line.prefixed) {
            Fed::Taken => from += nl + 1,
            Fed::Complete => return Some(from + nl + 1),
            // Something else was logged after it: the entry ended (cut) there.
            Fed::NotMine => return Some(from),
        }
    }
    (opens > 0).then_some(opens)
}

/// One row of MySQL's `performance_schema.error_log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorLogRow {
    /// `LOGGED`, server time: `YYYY-MM-DD HH:MM:SS.ffffff`.
    pub logged: String,
    pub thread_id: u64,
    pub prio: String,
    pub error_code: String,
    pub subsystem: String,
    pub data: String,
}

/// The rows as the server writes them to its error log file
/// (`TIME THREAD [Prio] [CODE] [Subsystem] DATA`, DATA's own lines after it),
/// so that the one error-log parser reads both.
pub fn error_log_text(rows: &[ErrorLogRow]) -> String {
    let mut text = String::new();
    for row in rows {
        text.push_str(&format!(
            "{} {} [{}] [{}] [{}] {}\n",
            row.logged, row.thread_id, row.prio, row.error_code, row.subsystem, row.data
        ));
    }
    text
}

/// Whether `text` looks like an error log (as opposed to a status text).
pub fn looks_like_error_log(text: &str) -> bool {
    text.lines().take(100_000).any(|l| {
        let line = split_prefix(l);
        // Percona 5.6 writes a timeout's line after a bare timestamp: no level, no `InnoDB:`.
        line.message.contains(TIMEOUT_MARKER) && lines::parse_timestamp(l).is_some()
            || line.prefixed
                && (line.message.contains("deadlock detected")
                // An excerpt from inside a print: its section headers keep their prefix.
                || (line.message.starts_with("***")
                    && !matches!(lines::classify(line.message), LineKind::Other)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GapMode;

    /// MySQL 8.0.18+ shape, written by hand from the format (no MySQL 8 server
    /// is available to capture from): every header line carries the
    /// `[Note] [MY-012469] [InnoDB]` prefix, (1) prints HOLDS THE LOCK(S),
    /// index names are unquoted, partitions are a comment.
    const MYSQL8_LOG: &str = "\
2024-05-02T10:15:01.123456Z 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections.
2024-05-02T10:20:07.000001Z 21 [Note] [MY-012468] [InnoDB] Transactions deadlock detected, dumping detailed information. (lock0lock.cc:6482)
2024-05-02T10:20:07.000020Z 21 [Note] [MY-012469] [InnoDB] *** (1) TRANSACTION:

TRANSACTION 5641, ACTIVE 8 sec starting index read
mysql tables in use 1, locked 1
LOCK WAIT 3 lock struct(s), heap size 1128, 2 row lock(s)
MySQL thread id 19, OS thread handle 140001, query id 88 10.1.2.3 app updating
UPDATE paid_events SET state='done' WHERE order_id=7

2024-05-02T10:20:07.000030Z 21 [Note] [MY-012469] [InnoDB] *** (1) HOLDS THE LOCK(S):

RECORD LOCKS space id 4 page no 5 n bits 72 index PRIMARY of table `shop`.`orders` /* Partition `p2024` */ trx id 5641 lock_mode X locks rec but not gap
Record lock, heap no 2 PHYSICAL RECORD: n_fields 4; compact format; info bits 0
 0: len 4; hex 80000007; asc     ;;
 1: len 6; hex 000000001609; asc       ;;
 2: len 7; hex 02000001230151; asc     # Q;;
 3: len 4; hex 80000001; asc     ;;

2024-05-02T10:20:07.000040Z 21 [Note] [MY-012469] [InnoDB] *** (1) WAITING FOR THIS LOCK TO BE GRANTED:

RECORD LOCKS space id 5 page no 4 n bits 72 index uk_paid_events_order_payment of table `shop`.`paid_events` trx id 5641 lock_mode X locks rec but not gap waiting
Record lock, heap no 3 PHYSICAL RECORD: n_fields 3; compact format; info bits 0
 0: len 4; hex 80000007; asc     ;;
 1: len 6; hex 706b5f616263; asc pk_abc;;
 2: len 4; hex 80000002; asc     ;;

2024-05-02T10:20:07.000050Z 21 [Note] [MY-012469] [InnoDB] *** (2) TRANSACTION:

TRANSACTION 5642, ACTIVE 6 sec inserting
mysql tables in use 1, locked 1
LOCK WAIT 4 lock struct(s), heap size 1128, 3 row lock(s), undo log entries 1
MySQL thread id 20, OS thread handle 140002, query id 90 10.1.2.4 app update
INSERT INTO orders_audit SELECT * FROM orders WHERE order_id=7

2024-05-02T10:20:07.000060Z 21 [Note] [MY-012469] [InnoDB] *** (2) HOLDS THE LOCK(S):

RECORD LOCKS space id 5 page no 4 n bits 72 index uk_paid_events_order_payment of table `shop`.`paid_events` trx id 5642 lock_mode X locks rec but not gap
Record lock, heap no 3 PHYSICAL RECORD: n_fields 3; compact format; info bits 0
 0: len 4; hex 80000007; asc     ;;
 1: len 6; hex 706b5f616263; asc pk_abc;;
 2: len 4; hex 80000002; asc     ;;

2024-05-02T10:20:07.000070Z 21 [Note] [MY-012469] [InnoDB] *** (2) WAITING FOR THIS LOCK TO BE GRANTED:

RECORD LOCKS space id 4 page no 5 n bits 72 index PRIMARY of table `shop`.`orders` /* Partition `p2024` */ trx id 5642 lock mode S locks rec but not gap waiting
Record lock, heap no 2 PHYSICAL RECORD: n_fields 4; compact format; info bits 0
 0: len 4; hex 80000007; asc     ;;
 1: len 6; hex 000000001609; asc       ;;
 2: len 7; hex 02000001230151; asc     # Q;;
 3: len 4; hex 80000001; asc     ;;

2024-05-02T10:20:07.000080Z 21 [Note] [MY-012469] [InnoDB] *** WE ROLL BACK TRANSACTION (2)
2024-05-02T10:21:00.000000Z 30 [Warning] [MY-010055] [Server] IP address '10.1.2.9' could not be resolved
";

    #[test]
    fn performance_schema_error_log_rows_read_as_the_file() {
        // The file's entries as performance_schema.error_log holds them: one row per entry,
        // LOGGED in server time with a space, DATA the message with its own lines.
        let mut rows: Vec<ErrorLogRow> = Vec::new();
        for line in MYSQL8_LOG.lines() {
            match line.split_once(" [InnoDB] ") {
                Some((head, data)) if head.contains("[MY-01246") => {
                    let mut fields = head.split_whitespace();
                    let logged = fields
                        .next()
                        .unwrap()
                        .trim_end_matches('Z')
                        .replace('T', " ");
                    let thread_id = fields.next().unwrap().parse().unwrap();
                    let code = head
                        .split('[')
                        .nth(2)
                        .unwrap()
                        .trim_end_matches("] ")
                        .trim_end_matches(']');
                    rows.push(ErrorLogRow {
                        logged,
                        thread_id,
                        prio: "Note".into(),
                        error_code: code.into(),
                        subsystem: "InnoDB".into(),
                        data: data.to_string(),
                    });
                }
                _ if line.starts_with("2024-") => {}
                _ => {
                    if let Some(row) = rows.last_mut() {
                        row.data.push('\n');
                        row.data.push_str(line);
                    }
                }
            }
        }
        assert!(rows.len() >= 6, "{rows:?}");
        let text = error_log_text(&rows);
        let all: Vec<Deadlock> = ErrorLogDeadlocks::new(text.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(all.len(), 1, "{text}");
        let d = &all[0];
        assert_eq!(d.timestamp.as_deref(), Some("2024-05-02 10:20:07"));
        assert_eq!(
            (d.victim, d.truncated, d.transactions.len()),
            (Some(2), false, 2)
        );
        assert_eq!(d.transactions[0].thread_id, Some(19));
        assert!(d
            .transactions
            .iter()
            .all(|t| t.holds_printed && t.waits_for.is_some()));
    }

    #[test]
    fn mysql8_log_with_holds_for_both_and_partitions() {
        let all: Vec<Deadlock> = ErrorLogDeadlocks::new(MYSQL8_LOG.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(all.len(), 1);
        let d = &all[0];
        assert_eq!(d.timestamp.as_deref(), Some("2024-05-02T10:20:07Z"));
        assert_eq!((d.victim, d.truncated), (Some(2), false));
        let (t1, t2) = (&d.transactions[0], &d.transactions[1]);
        assert!(t1.holds_printed && t2.holds_printed);
        assert_eq!(
            (
                t1.thread_id,
                t1.host.as_deref(),
                t1.ip.as_deref(),
                t1.user.as_deref()
            ),
            (Some(19), Some("10.1.2.3"), Some("10.1.2.3"), Some("app"))
        );
        assert_eq!(t1.holds[0].partition.as_deref(), Some("p2024"));
        assert_eq!(t1.holds[0].table, "orders");
        let w1 = t1.waits_for.as_ref().unwrap();
        assert_eq!(
            (w1.index.as_deref(), w1.gap_mode),
            (Some("uk_paid_events_order_payment"), GapMode::RecNotGap)
        );
        assert_eq!(
            t2.waits_for.as_ref().unwrap().mode,
            crate::model::LockMode::S
        );
        assert!(t1
            .query
            .as_deref()
            .unwrap()
            .starts_with("UPDATE paid_events"));
        let a = crate::analyze::analyze_deadlock(d);
        assert_eq!(a.cycle, vec![1, 2]);
        assert!(a.edges.iter().all(|e| !e.inferred));
    }

    #[test]
    fn a_cut_log_yields_a_truncated_deadlock_and_the_next_one() {
        let cut = MYSQL8_LOG.find("*** (2) HOLDS").unwrap();
        let text = format!("{}\n{}", &MYSQL8_LOG[..cut], MYSQL8_LOG);
        let all: Vec<Deadlock> = ErrorLogDeadlocks::new(text.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(all.len(), 2);
        assert!(all[0].truncated && !all[1].truncated);
    }

    #[test]
    fn markers_across_read_boundaries_are_found() {
        // Pad so that the marker straddles the 1 MiB read size.
        let marker_at = MYSQL8_LOG.find("deadlock detected").unwrap();
        let pad = "x".repeat(READ_SIZE - marker_at - 5) + "\n";
        let text = format!("{pad}{MYSQL8_LOG}{pad}{MYSQL8_LOG}");
        let mut reader = ErrorLogEntries::new(text.as_bytes());
        assert_eq!(reader.by_ref().filter_map(Result::ok).count(), 2);
        assert_eq!(reader.bytes_scanned, text.len() as u64);
    }

    /// A client's warning from another thread lands inside a print (seen in a live run:
    /// `Aborted connection 485` between `*** (3) TRANSACTION:` and its lock): the print
    /// is read whole; a message of the printing thread itself still ends it.
    #[test]
    fn another_threads_message_inside_a_print_is_skipped() {
        let at = LIVE_LOG.find("*** WE ROLL BACK").unwrap();
        let at = LIVE_LOG[..at].rfind("*** (2) TRANSACTION").unwrap();
        let line_start = LIVE_LOG[..at].rfind('\n').unwrap() + 1;
        let print_thread =
            log_thread(&LIVE_LOG[LIVE_LOG[..line_start - 1].rfind('\n').unwrap() + 1..])
                .expect("the capture's lines name their thread");
        for (thread, whole) in [(print_thread + 1, true), (print_thread, false)] {
            let warning = format!(
                "2026-11-23 12:43:22 {thread} [Warning] Aborted connection {thread} to db: 'shop' user: 'root' host: 'localhost' (Got an error reading communication packets)\n"
            );
            let log = format!(
                "{}{warning}{}",
                &LIVE_LOG[..line_start],
                &LIVE_LOG[line_start..]
            );
            let first = ErrorLogDeadlocks::new(log.as_bytes())
                .next()
                .unwrap()
                .unwrap();
            assert_eq!(
                first.transactions.len() == 2 && first.victim.is_some(),
                whole,
                "thread {thread}"
            );
        }
    }

    /// Another thread's warning written into the middle of a record field line (seen
    /// live twice: after the `asc` text, and inside the hex): the field is joined again
    /// and read whole; the deadlock has no unread line.
    #[test]
    fn a_log_line_written_inside_a_field_is_taken_out() {
        let warning = "2026-12-01 17:33:00 2295 [Warning] Aborted connection 2295 to db: 'shop' user: 'root' host: 'localhost' (Got an error reading communication packets)\n";
        let field = LIVE_LOG.find(" 2: len 7; hex ").unwrap();
        let whole = ErrorLogDeadlocks::new(LIVE_LOG.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        for cut in [
            field + 20,
            LIVE_LOG[field..].find(";;").unwrap() + field - 1,
        ] {
            let log = format!("{}{warning}{}", &LIVE_LOG[..cut], &LIVE_LOG[cut..]);
            let first = ErrorLogDeadlocks::new(log.as_bytes())
                .next()
                .unwrap()
                .unwrap();
            assert_eq!(first.first_unread_line(), None, "cut at {cut}");
            assert_eq!(first, whole, "cut at {cut}");
        }
        assert_eq!(
            foreign_line_inside(warning.trim_end()),
            None,
            "a line's own prefix is no foreign line"
        );
        assert_eq!(foreign_line_inside(" 2: len 7; hex 08000003c604"), None);
    }

    const TIMEOUTS_LOG: &str = include_str!("../../fixtures/percona/lock-wait-timeouts.log");
    const LIVE_LOG: &str = include_str!("../../fixtures/live/error.log");

    fn timeouts(entries: &[LogEntry]) -> Vec<&LockWaitTimeout> {
        entries
            .iter()
            .filter_map(|e| match e {
                LogEntry::LockWaitTimeout(t) => Some(t),
                LogEntry::Deadlock(_) => None,
            })
            .collect()
    }

    /// What fixtures/percona/NOTES.md says a correct parse finds.
    #[test]
    fn percona_lock_wait_timeouts_in_every_prefix_form() {
        let entries: Vec<LogEntry> = ErrorLogEntries::new(TIMEOUTS_LOG.as_bytes())
            .collect::<io::Result<_>>()
            .unwrap();
        let found = timeouts(&entries);
        assert_eq!((entries.len(), found.len()), (5, 5));
        let threads: Vec<Option<u64>> = found.iter().map(|t| t.thread_id).collect();
        assert_eq!(threads, [Some(41), Some(42), Some(44), Some(45), Some(46)]);
        let stamps: Vec<&str> = found
            .iter()
            .filter_map(|t| t.timestamp.as_deref())
            .collect();
        assert_eq!(
            stamps,
            [
                "2026-11-30T09:14:02Z",
                "2026-11-30T09:14:03Z",
                "2026-11-30T09:15:40Z",
                "2026-11-30 09:16:01",
                "2026-11-30T09:17:00Z"
            ]
        );
        assert_eq!(found[1].blockers.len(), 2);
        assert_eq!(found[1].blockers[1].trx_id.as_deref(), Some("5127"));
        assert_eq!(
            found[2].query.as_deref(),
            Some("UPDATE payments\n   SET state = 'refunded'\n WHERE id = 3")
        );
        assert_eq!(found[2].blockers[0].thread_id, None);
        assert!(found[3].blockers.is_empty() && !found[3].truncated);
        assert!(found[4].truncated && found[4].blockers.len() == 1);
        assert!(found[..4]
            .iter()
            .all(|t| !t.truncated && t.unparsed_lines.is_empty()));
    }

    /// Timeouts between deadlock prints, the whole log pasted indented and read in
    /// small pieces: every entry, in log order, none swallowing another.
    #[test]
    fn timeouts_and_deadlocks_interleaved_keep_their_order() {
        let log = format!("{LIVE_LOG}{TIMEOUTS_LOG}\n{LIVE_LOG}");
        let indented: String = log.lines().map(|l| format!("\t{l}\n")).collect();
        for text in [&log, &indented] {
            let entries: Vec<LogEntry> =
                ErrorLogEntries::new(std::io::BufReader::with_capacity(7, text.as_bytes()))
                    .collect::<io::Result<_>>()
                    .unwrap();
            let kinds: String = entries
                .iter()
                .map(|e| match e {
                    LogEntry::Deadlock(d) => {
                        assert!(!d.truncated && d.victim.is_some());
                        'D'
                    }
                    LogEntry::LockWaitTimeout(_) => 'T',
                })
                .collect();
            assert_eq!(kinds, "DDDTTTTTDDD");
            assert_eq!(ErrorLogDeadlocks::new(text.as_bytes()).count(), 6);
        }
    }
}
