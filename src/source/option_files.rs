//! Option files read as the mysql/mariadb client reads them: the files in
//! order, `!include` and `!includedir` followed in place (the included lines
//! count where the directive stands), only the wanted groups, every
//! occurrence kept in order so that the last one wins.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::parse::option_file::{parse_option_file, OptionFileError, OptionLine};

/// The largest option file read: real ones are a few kilobytes.
const OPTION_FILE_LIMIT: u64 = 1 << 20;

/// An option file's bytes: a device, directory or socket refused, at most
/// [`OPTION_FILE_LIMIT`] read (`--defaults-file /dev/zero` must not fill memory).
fn read_option_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::metadata(path)?.file_type();
    if kind.is_dir() || kind.is_char_device() || kind.is_block_device() || kind.is_socket() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(OPTION_FILE_LIMIT + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > OPTION_FILE_LIMIT {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "larger than {} KB: not an option file",
                OPTION_FILE_LIMIT >> 10
            ),
        ));
    }
    Ok(bytes)
}

/// The client library's include depth limit.
const MAX_INCLUDE_DEPTH: usize = 10;

/// One option as read: the key as written, the value (`None` for a bare key), and its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOption {
    pub key: String,
    pub value: Option<String>,
    pub file: PathBuf,
}

/// What was read, and the problems the client would only warn about.
#[derive(Debug, Clone, Default)]
pub struct OptionFiles {
    pub options: Vec<ReadOption>,
    pub warnings: Vec<String>,
}

impl OptionFiles {
    /// The last value of `key` (`_` and `-` are the same in option names).
    pub fn last(&self, key: &str) -> Option<&ReadOption> {
        let wanted = normalise(key);
        self.options
            .iter()
            .rev()
            .find(|o| normalise(&o.key) == wanted)
    }
}

fn normalise(key: &str) -> String {
    key.replace('_', "-")
}

#[derive(Debug, Error)]
pub enum OptionFilesError {
    #[error("cannot read option file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("option file {path}, {error} (the mysql client refuses this file too)")]
    Invalid {
        path: PathBuf,
        error: OptionFileError,
    },
    #[error("option files include each other in a cycle: {}", chain.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" → "))]
    Cycle { chain: Vec<PathBuf> },
    #[error("option file {path}: includes nested deeper than {MAX_INCLUDE_DEPTH} levels")]
    TooDeep { path: PathBuf },
}

/// The groups the client reads: `[client]`, `[client-server]`,
/// `[client-mariadb]`, `[lockdiag]`, each also with `suffix` appended
/// (`--defaults-group-suffix`).
pub fn client_groups(suffix: Option<&str>) -> Vec<String> {
    let base = ["client", "client-server", "client-mariadb", "lockdiag"];
    let mut groups: Vec<String> = base.iter().map(|g| g.to_string()).collect();
    if let Some(suffix) = suffix.filter(|s| !s.is_empty()) {
        groups.extend(base.iter().map(|g| format!("{g}{suffix}")));
    }
    groups
}

/// The files the client reads, in its order: `defaults_file` alone when
/// given; else `/etc/my.cnf`, `/etc/mysql/my.cnf`, `extra_file`, then
/// `~/.my.cnf`. The flag-named files must exist; the others may not.
pub fn default_files(
    defaults_file: Option<&Path>,
    extra_file: Option<&Path>,
    home: Option<&Path>,
) -> Vec<(PathBuf, bool)> {
    if let Some(file) = defaults_file {
        return vec![(file.to_path_buf(), true)];
    }
    let mut files = vec![
        (PathBuf::from("/etc/my.cnf"), false),
        (PathBuf::from("/etc/mysql/my.cnf"), false),
    ];
    files.extend(extra_file.map(|f| (f.to_path_buf(), true)));
    files.extend(home.map(|h| (h.join(".my.cnf"), false)));
    files
}

/// Reads `files` in order; a `required` file that cannot be read is an error,
/// another one is skipped (as the client skips a missing `~/.my.cnf`).
pub fn read_option_files(
    files: &[(PathBuf, bool)],
    groups: &[String],
) -> Result<OptionFiles, OptionFilesError> {
    let mut read = OptionFiles::default();
    for (path, required) in files {
        let mut stack = Vec::new();
        read_file(path, *required, true, groups, &mut stack, &mut read)?;
    }
    Ok(read)
}

fn read_file(
    path: &Path,
    required: bool,
    top_level: bool,
    groups: &[String],
    stack: &mut Vec<PathBuf>,
    read: &mut OptionFiles,
) -> Result<(), OptionFilesError> {
    let identity = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if stack.contains(&identity) {
        let mut chain = stack.clone();
        chain.push(identity);
        return Err(OptionFilesError::Cycle { chain });
    }
    if stack.len() > MAX_INCLUDE_DEPTH {
        return Err(OptionFilesError::TooDeep {
            path: path.to_path_buf(),
        });
    }
    let text = match read_option_file(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if required => {
            return Err(OptionFilesError::Read {
                path: path.to_path_buf(),
                source: e,
            })
        }
        Err(_) => return Ok(()),
    };
    let parsed = parse_option_file(&text);
    stack.push(identity);
    let mut wanted = false;
    for (_, line) in parsed.lines {
        match line {
            OptionLine::Group(name) => {
                wanted = groups.iter().any(|g| g.eq_ignore_ascii_case(&name));
            }
            OptionLine::Option { key, value } if wanted => read.options.push(ReadOption {
                key,
                value,
                file: path.to_path_buf(),
            }),
            OptionLine::Option { .. } => {}
            // The included lines count here; this file's group goes on after them.
            OptionLine::Include(include) => {
                read_file(Path::new(&include), false, false, groups, stack, read)?;
            }
            OptionLine::IncludeDir(dir) => {
                for file in cnf_files(Path::new(&dir)) {
                    read_file(&file, false, false, groups, stack, read)?;
                }
            }
        }
    }
    stack.pop();
    match parsed.error {
        Some(error) if top_level => Err(OptionFilesError::Invalid {
            path: path.to_path_buf(),
            error,
        }),
        Some(error) => {
            read.warnings.push(format!(
                "option file {}, {error}: the rest of it is ignored (as the mysql client does)",
                path.display()
            ));
            Ok(())
        }
        None => Ok(()),
    }
}

/// The `*.cnf` files of an `!includedir`, sorted by name (a missing directory has none).
fn cnf_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "cnf") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}
