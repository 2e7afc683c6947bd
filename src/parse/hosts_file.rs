//! Where servers are: a target as `/probe` and the hosts file take it (`host`,
//! `host:port`, `[v6]:port`, a socket path, `mysql://user:pass@host:port/`), and the
//! hosts file of `status --hosts` / `snapshot --hosts`: one target a line, `#`
//! comments, blank lines, `group=NAME` after the target. Pure: text in, targets out;
//! a URL's password is kept for connecting and never in a name.

use thiserror::Error;

/// Where a connection goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetAddress {
    Tcp { host: String, port: Option<u16> },
    Socket(String),
}

/// `host`, `host:port`, `[v6]:port` or a socket path (mysqld_exporter's `target`).
pub fn parse_target(target: &str) -> Result<TargetAddress, String> {
    let target = target.trim();
    if target.starts_with('/') {
        return Ok(TargetAddress::Socket(target.to_string()));
    }
    let (host, port) = match target.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("{target:?}: an IPv6 address without its closing ]"))?;
            if !after.is_empty() && !after.starts_with(':') {
                return Err(format!("{target:?}: {after:?} after the IPv6 address"));
            }
            (host, after.strip_prefix(':'))
        }
        None => match target.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port)),
            _ => (target, None),
        },
    };
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .map_err(|_| format!("{target:?}: {p:?} is not a port"))
        })
        .transpose()?;
    if host.is_empty() {
        return Err(format!("{target:?}: no host"));
    }
    Ok(TargetAddress::Tcp {
        host: host.to_string(),
        port,
    })
}

/// One server of a hosts file.
#[derive(Clone, PartialEq, Eq)]
pub struct HostsEntry {
    /// Its line in the file (from 1), for messages.
    pub line: usize,
    /// The target as written, a URL's password replaced by `****`: what output shows.
    pub name: String,
    pub address: TargetAddress,
    /// A URL's user and password (they win over the group's and the command line's).
    pub user: Option<String>,
    pub password: Option<String>,
    /// `group=NAME`: the account of `[client.NAME]` in the option files.
    pub group: Option<String>,
}

impl std::fmt::Debug for HostsEntry {
    // The password never appears, not even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostsEntry")
            .field("line", &self.line)
            .field("name", &self.name)
            .field("address", &self.address)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "****"))
            .field("group", &self.group)
            .finish()
    }
}

impl HostsEntry {
    /// A directory name for this server's files: `host_port` (or the socket path with
    /// `_` for `/`), `_group` when one is named; only `[A-Za-z0-9._@-]`, never `.` or
    /// `..`, never hidden.
    pub fn dir_name(&self) -> String {
        let base = match &self.address {
            TargetAddress::Tcp { host, port } => format!("{host}_{}", port.unwrap_or(3306)),
            TargetAddress::Socket(path) => path.trim_start_matches('/').to_string(),
        };
        let named = match &self.group {
            Some(group) => format!("{base}_{group}"),
            None => base,
        };
        let mut safe: String = named
            .chars()
            .map(|c| match c {
                'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '-' | '@' => c,
                _ => '_',
            })
            .collect();
        if safe.is_empty() || safe.starts_with('.') {
            safe.insert(0, '_');
        }
        safe
    }
}

/// A line of the hosts file that says no target lockdiag can reach.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {message}")]
pub struct HostsFileError {
    pub line: usize,
    pub message: String,
}

/// Every target of a hosts file, in file order; the first bad line is an error.
pub fn parse_hosts_file(text: &str) -> Result<Vec<HostsEntry>, HostsFileError> {
    let mut entries: Vec<HostsEntry> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let error = |message: String| HostsFileError { line, message };
        // `#` starts a comment at the start of a word (a URL's password may hold one).
        let words: Vec<&str> = raw
            .split_whitespace()
            .take_while(|w| !w.starts_with('#'))
            .collect();
        let Some((target, options)) = words.split_first() else {
            continue;
        };
        let mut entry = parse_entry(target).map_err(error)?;
        entry.line = line;
        for option in options {
            match option.split_once('=') {
                Some(("group", name)) if entry.group.is_some() => {
                    return Err(error(format!("group={name}: a second group")));
                }
                Some(("group", name)) if valid_group(name) => entry.group = Some(name.into()),
                Some(("group", name)) => {
                    return Err(error(format!(
                        "group={name:?}: a group name is letters, digits, `_`, `-` and `.`"
                    )))
                }
                _ => {
                    return Err(error(format!(
                        "{option:?}: after the target only group=NAME is read"
                    )))
                }
            }
        }
        if let Some(first) = entries
            .iter()
            .find(|e| e.name == entry.name && e.group == entry.group)
        {
            return Err(error(format!(
                "{} is already on line {}",
                entry.name, first.line
            )));
        }
        entries.push(entry);
    }
    Ok(entries)
}

fn valid_group(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn parse_entry(target: &str) -> Result<HostsEntry, String> {
    let entry = |name: String, address, user, password| HostsEntry {
        line: 0,
        name,
        address,
        user,
        password,
        group: None,
    };
    let Some(rest) = target.strip_prefix("mysql://") else {
        if target.contains("://") {
            return Err("a URL starts with mysql://".into());
        }
        return Ok(entry(target.to_string(), parse_target(target)?, None, None));
    };
    // The user info first, up to the last `@`: a password may hold `/`, `?` or `@` itself
    // (base64), and nothing of it may be read as a host, a port or a path — or printed.
    let (user_info, after_at) = match rest.rsplit_once('@') {
        Some((info, after)) => (Some(info), after),
        None => (None, rest),
    };
    let (host_port, path) = match after_at.find(['/', '?']) {
        Some(at) => after_at.split_at(at),
        None => (after_at, ""),
    };
    if path.contains('?') {
        return Err("mysql://… options (after ?) are not read in a hosts file".into());
    }
    let (user, password) = match user_info.map(|i| i.split_once(':').unwrap_or((i, ""))) {
        Some((user, password)) => (
            Some(percent_decoded(user)?).filter(|u| !u.is_empty()),
            user_info
                .is_some_and(|i| i.contains(':'))
                .then(|| percent_decoded(password))
                .transpose()?,
        ),
        None => (None, None),
    };
    // Redacted by structure: whatever stood between `:` and `@`.
    let name = match (&user, &password) {
        (_, Some(_)) => format!(
            "mysql://{}:****@{host_port}{path}",
            user_info.and_then(|i| i.split(':').next()).unwrap_or("")
        ),
        _ => target.to_string(),
    };
    let address = match parse_target(host_port).map_err(|e| format!("mysql://…: {e}"))? {
        TargetAddress::Socket(_) => return Err("a mysql:// URL names a host".into()),
        tcp => tcp,
    };
    Ok(entry(name, address, user, password))
}

/// `%XX` escapes of a URL's user info, as the client decodes them.
fn percent_decoded(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("mysql://…: a % in the user info that is no %XX escape")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "mysql://…: the user info is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A password holding `/`, `?` or `@` (base64) is never taken for a host, port or path,
    /// and appears in no name or error.
    #[test]
    fn url_passwords_with_slashes_never_leak() {
        for target in [
            "mysql://app:Ab3/x@db1",
            "mysql://app:1234/x@db1:3307",
            "mysql://app:p?q@r@db1/",
        ] {
            let entry = parse_entry(target).unwrap_or_else(|e| panic!("{target}: {e}"));
            assert!(entry.password.is_some(), "{target}");
            assert!(
                !entry.name.contains("Ab3")
                    && !entry.name.contains("1234/x")
                    && !entry.name.contains("p?q"),
                "{}",
                entry.name
            );
            assert!(
                matches!(entry.address, TargetAddress::Tcp { ref host, .. } if host == "db1"),
                "{target}"
            );
        }
        let bad = parse_entry("mysql://app:s3cr/et@").unwrap_err();
        assert!(!bad.contains("s3cr"), "{bad}");
    }

    fn tcp(host: &str, port: Option<u16>) -> TargetAddress {
        TargetAddress::Tcp {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn every_kind_of_target_comments_and_groups() {
        let text = "\
# production
db1:3307
  db2   group=ro   # replica, read-only account

[::1]:3306
/run/mysqld/mysqld.sock group=local
mysql://app:p%40ss#w@db3:3310/
mysql://mon@db4
";
        let entries = parse_hosts_file(text).unwrap();
        let seen: Vec<(usize, &str, &TargetAddress, Option<&str>)> = entries
            .iter()
            .map(|e| (e.line, e.name.as_str(), &e.address, e.group.as_deref()))
            .collect();
        assert_eq!(
            seen,
            [
                (2, "db1:3307", &tcp("db1", Some(3307)), None),
                (3, "db2", &tcp("db2", None), Some("ro")),
                (5, "[::1]:3306", &tcp("::1", Some(3306)), None),
                (
                    6,
                    "/run/mysqld/mysqld.sock",
                    &TargetAddress::Socket("/run/mysqld/mysqld.sock".into()),
                    Some("local")
                ),
                (
                    7,
                    "mysql://app:****@db3:3310/",
                    &tcp("db3", Some(3310)),
                    None
                ),
                (8, "mysql://mon@db4", &tcp("db4", None), None),
            ]
        );
        assert_eq!(entries[4].user.as_deref(), Some("app"));
        assert_eq!(entries[4].password.as_deref(), Some("p@ss#w"));
        assert!(!format!("{:?}", entries[4]).contains("p@ss"));
        assert_eq!(
            (entries[5].user.as_deref(), entries[5].password.as_deref()),
            (Some("mon"), None)
        );
        let dirs: Vec<String> = entries.iter().map(HostsEntry::dir_name).collect();
        assert_eq!(
            dirs,
            [
                "db1_3307",
                "db2_3306_ro",
                "__1_3306",
                "run_mysqld_mysqld.sock_local",
                "db3_3310",
                "db4_3306"
            ]
        );
    }

    #[test]
    fn a_bad_line_is_an_error_naming_it_and_never_its_password() {
        let bad = |text: &str| parse_hosts_file(text).unwrap_err();
        assert_eq!(bad("db1\ndb2:http\n").line, 2);
        assert_eq!(bad("db1 port=3306").line, 1);
        assert_eq!(bad("\n\n[::1:3306").line, 3);
        assert_eq!(bad("db1 group=").line, 1);
        assert_eq!(bad("db1 group=a group=b").line, 1);
        assert!(bad("db1\n# x\ndb1\n")
            .to_string()
            .contains("already on line 1"));
        let url = bad("mysql://u:S3cret@db1:notaport/").to_string();
        assert!(
            url.starts_with("line 1:") && !url.contains("S3cret"),
            "{url}"
        );
        assert!(bad("postgres://db1").to_string().contains("mysql://"));
        assert!(bad("mysql://u:S3cret@db1/?socket=/x")
            .to_string()
            .contains("not read"));
        // The same server under two accounts is two targets.
        assert_eq!(parse_hosts_file("db1\ndb1 group=ro").unwrap().len(), 2);
    }

    #[test]
    fn a_directory_name_is_one_safe_component() {
        let entry = |address| HostsEntry {
            line: 1,
            name: String::new(),
            address,
            user: None,
            password: None,
            group: None,
        };
        for address in [
            tcp("..", None),
            tcp("../../etc", Some(1)),
            TargetAddress::Socket("/..".into()),
            TargetAddress::Socket("/".into()),
        ] {
            let name = entry(address).dir_name();
            assert!(
                !name.contains('/') && name != ".." && name != "." && !name.starts_with('.'),
                "{name}"
            );
        }
    }
}
