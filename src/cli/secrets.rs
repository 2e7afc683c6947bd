//! Passwords given on the command line: scrubbed from the process's argument
//! memory at start (as the mysql client does, so `ps` and `/proc/PID/cmdline`
//! stop showing them while `record` runs for days), a warning like mysql's, and
//! redaction of messages by structure — only where a password can stand as a
//! value (a URL's user info, `password=…`) — never by searching ordinary text for
//! the password's characters (a one-letter password would spell itself in the gaps).

use std::ffi::OsString;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;

use regex::Regex;

/// The password of `scheme://user:password@host…`, as a byte range.
pub fn url_password(url: &[u8]) -> Option<Range<usize>> {
    let start = memchr::memmem::find(url, b"://")? + 3;
    let authority_end = url[start..]
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .map_or(url.len(), |p| start + p);
    let at = memchr::memrchr(b'@', &url[start..authority_end])? + start;
    let colon = memchr::memchr(b':', &url[start..at])? + start;
    (colon + 1 < at).then_some(colon + 1..at)
}

/// Overwrites every password in the process's own argument memory with `x`, as
/// the mysql client does: `/proc/self/cmdline` (what `ps` shows) then holds no
/// password. `args` must be the arguments as read at start (this process's
/// `argv`), `secrets` where passwords stand in them (`config::rewrite_password_args`).
/// Returns whether anything was scrubbed; where the argument memory cannot be
/// found or does not hold exactly `args`, nothing is written.
pub fn scrub_process_arguments(args: &[OsString], secrets: &[(usize, Range<usize>)]) -> bool {
    if secrets.is_empty() {
        return false;
    }
    let Some((start, end)) = argument_memory() else {
        return false;
    };
    // The memory must hold exactly these arguments, NUL-separated, before anything is written.
    let mut expected = Vec::new();
    let mut offsets = Vec::with_capacity(args.len());
    for arg in args {
        offsets.push(expected.len());
        expected.extend_from_slice(arg.as_bytes());
        expected.push(0);
    }
    if end < start || end - start < expected.len() {
        return false;
    }
    let base = start as *mut u8;
    // SAFETY: [arg_start, arg_end) of /proc/self/stat is this process's own argument area
    // (the initial stack, mapped read-write for its whole life); only bytes inside the
    // part that was just compared equal to `args` are read and written.
    let memory = unsafe { std::slice::from_raw_parts_mut(base, expected.len()) };
    if memory != expected.as_slice() {
        return false;
    }
    for (i, range) in secrets {
        let (Some(offset), Some(arg)) = (offsets.get(*i), args.get(*i)) else {
            continue;
        };
        if range.end <= arg.len() {
            memory[offset + range.start..offset + range.end].fill(b'x');
        }
    }
    true
}

/// The process's argument area, `[arg_start, arg_end)` from `/proc/self/stat`
/// (fields 48 and 49, Linux 3.5+).
fn argument_memory() -> Option<(usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3.
    let start = fields.get(48 - 3)?.parse().ok()?;
    let end = fields.get(49 - 3)?.parse().ok()?;
    Some((start, end))
}

/// mysql's warning, with the safer ways.
pub const COMMAND_LINE_PASSWORD_WARNING: &str = "warning: using a password on the command line can be insecure (other users may see it before it is scrubbed, and it stays in shell history); prefer -p alone (prompt), an option file (--defaults-file naming a file only you can read, its [client] section holding the password) or the LOCKDIAG_URL environment variable";

/// Replaces passwords where they can stand as values: the user info of a URL
/// (`mysql://user:…@`) and `password=…` (an option echoed, a connection string).
/// Ordinary text — the server's "(using password: YES)" too — is left as it is.
pub fn redact(text: &str) -> String {
    static PATTERNS: OnceLock<[(Regex, &str); 2]> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        [
            (
                Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*):\S*@").expect("valid"),
                "$1:****@",
            ),
            (
                Regex::new(r#"(?i)(\bpassword\s*=\s*)("[^"]*"|'[^']*'|[^\s,;'"]+)"#)
                    .expect("valid"),
                "$1****",
            ),
        ]
    });
    let mut text = std::borrow::Cow::Borrowed(text);
    for (pattern, replacement) in patterns {
        if let std::borrow::Cow::Owned(replaced) = pattern.replace_all(&text, *replacement) {
            text = std::borrow::Cow::Owned(replaced);
        }
    }
    text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords() {
        let pw = |url: &str| url_password(url.as_bytes()).map(|r| url[r].to_string());
        assert_eq!(pw("mysql://u:p@ss@db:3306/shop").as_deref(), Some("p@ss"));
        assert_eq!(pw("mysql://u:pw@db/a@b").as_deref(), Some("pw"));
        assert_eq!(pw("mysql://u@db/shop"), None);
        assert_eq!(pw("mysql://u:@db"), None);
    }

    #[test]
    fn redaction_is_by_structure_not_by_substring() {
        assert_eq!(
            redact("cannot connect to mysql://app:a@db:3306/shop"),
            "cannot connect to mysql://app:****@db:3306/shop"
        );
        // A password holding '@': everything up to the last '@' of the URL goes.
        assert_eq!(redact("mysql://u:p@ss@db/x"), "mysql://u:****@db/x");
        assert_eq!(
            redact("unexpected argument '--password=hunter2' found"),
            "unexpected argument '--password=****' found"
        );
        assert_eq!(redact("password = \"x y\"; next"), "password = ****; next");
        let denied = "Access denied for user 'diag'@'127.0.0.1' (using password: YES)";
        assert_eq!(redact(denied), denied);
        // A password that is also ordinary text ("a") leaves ordinary text alone.
        let path = "snapshot written to /tmp/nc/a-snap/lockdiag-20261201T000000.000Z.json";
        assert_eq!(redact(path), path);
    }

    #[test]
    fn argument_memory_is_found() {
        let (start, end) = argument_memory().expect("/proc/self/stat has arg_start, arg_end");
        assert!(end > start);
    }
}
