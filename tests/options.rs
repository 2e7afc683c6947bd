//! Option files judged by the client library itself: for every case, the
//! options lockdiag reads (in order, every occurrence) must equal what
//! `my_print_defaults` (shipped with mariadb-server) prints for the same files
//! and groups. Where a file is one the client refuses, both must refuse it.

use std::path::{Path, PathBuf};
use std::process::Command;

use lockdiag::source::option_files::{
    client_groups, default_files, read_option_files, OptionFilesError,
};

const GROUPS: [&str; 4] = ["client", "client-server", "client-mariadb", "lockdiag"];

struct Case {
    dir: PathBuf,
}

impl Case {
    fn new(name: &str) -> Case {
        let dir =
            std::env::temp_dir().join(format!("lockdiag-options-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Case { dir }
    }

    /// Writes `text` to `name` in the case's directory; `@` stands for that directory.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text.replace('@', self.dir.to_str().unwrap())).unwrap();
        path
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `my_print_defaults`' lines, or `None` when it refused the files (exit ≠ 0).
fn oracle(args: &[String], home: &Path) -> Option<Vec<String>> {
    let out = Command::new("my_print_defaults")
        .args(args)
        .args(GROUPS)
        .env("HOME", home)
        .env_remove("MYSQL_GROUP_SUFFIX")
        .output()
        .expect("my_print_defaults runs (tools/test.sh installs mariadb-server)");
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

fn ours(files: &[(PathBuf, bool)], suffix: Option<&str>) -> Result<Vec<String>, OptionFilesError> {
    let read = read_option_files(files, &client_groups(suffix))?;
    Ok(read
        .options
        .iter()
        .map(|o| match &o.value {
            Some(v) => format!("--{}={v}", o.key),
            None => format!("--{}", o.key),
        })
        .collect())
}

fn agree(case: &str, top: &Path, suffix: Option<&str>) -> Vec<String> {
    let mut args = vec![format!("--defaults-file={}", top.display())];
    if let Some(s) = suffix {
        args.push(format!("--defaults-group-suffix={s}"));
    }
    let expected = oracle(&args, Path::new("/nonexistent"));
    let got = ours(&[(top.to_path_buf(), true)], suffix);
    match (&expected, &got) {
        (Some(e), Ok(g)) => assert_eq!(g, e, "{case}: lockdiag read other options than the client"),
        (None, Err(_)) => {}
        _ => panic!("{case}: the client says {expected:?}, lockdiag {got:?}"),
    }
    expected.unwrap_or_default()
}

#[test]
fn option_files_read_as_my_print_defaults_reads_them() {
    if Command::new("my_print_defaults")
        .arg("--help")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "my_print_defaults is missing: install mariadb-server (tools/test.sh does)"
        );
        eprintln!("note: my_print_defaults is not installed: option files NOT checked against it");
        return;
    }

    // Includes in place: the included lines count where the directive stands,
    // the includer's group goes on after them; includedir reads *.cnf sorted.
    let c = Case::new("includes");
    c.file(
        "b.cnf",
        "[client]\nhost=from_b\nuser=from_b\n[mysqld]\nport=1\n",
    );
    c.file("d/2.cnf", "[client]\nuser=d2\n");
    c.file("d/1.cnf", "[lockdiag]\nuser=d1\n");
    c.file("d/0.ini", "[client]\nuser=ini_is_not_read\n");
    c.file("d/00.txt", "[client]\nuser=txt_is_not_read\n");
    let top = c.file(
        "a.cnf",
        "[client]\nhost=first\n!include @/b.cnf\nuser=after_include\n!includedir @/d\nsocket=/after/dir.sock\n\
         !include @/missing.cnf\nport=3307\n",
    );
    let lines = agree("includes", &top, None);
    assert!(
        lines.contains(&"--user=after_include".to_string()),
        "{lines:?}"
    );

    // Group precedence is file order, whatever the group: [lockdiag] before [client] loses.
    let c = Case::new("groups");
    let top = c.file(
        "a.cnf",
        "[lockdiag]\nuser=diag\n[client]\nuser=app\n[CLIENT]\nhost=upper_group\n[client ]\nport=1\n\
         [ client]\nport=2\n[client-server]\nsocket=/run/mysqld/mysqld.sock\n[client-mariadb]\nhost=db-primary\n\
         [mysql]\nuser=mysql_only\n[client_ops]\nuser=suffixed\n",
    );
    agree("groups", &top, None);
    agree("groups with suffix", &top, Some("_ops"));

    // Quoting, escapes and comments.
    let c = Case::new("quoting");
    let top = c.file(
        "a.cnf",
        "[client]\nuser = a=b \npassword = \"p\\\"w d#x\"\nport = 3307 # comment\nq=\"a#b\" #c\nqq=\"a\"b\"\n\
         sq=''\nraw=\"x\" trailing\nz=a\\qb\nesc=/x\\ty\\\\z\\s\nskip-ssl\nsemi=1;x\n  indented = 1\nnum=1#x\n\
         crlf=yes\r\nempty=\n",
    );
    agree("quoting", &top, None);

    // Files the client refuses at the top level, and the same errors inside an
    // include (the client warns, drops the rest of that file, and goes on).
    for (name, bad) in [
        ("no-group", "user=x\n[client]\nhost=h\n"),
        ("open-group", "[client]\nuser=x\n[client\nhost=h\n"),
        ("empty-include", "[client]\nuser=x\n!include\n"),
    ] {
        let c = Case::new(name);
        let top = c.file("a.cnf", bad);
        agree(name, &top, None);
        let outer = c.file(
            "outer.cnf",
            "[client]\nuser=before\n!include @/a.cnf\nhost=after\n",
        );
        agree(&format!("{name} included"), &outer, None);
    }

    // The default order with --defaults-extra-file: the global files, the extra file, ~/.my.cnf.
    let c = Case::new("extra");
    let extra = c.file("extra.cnf", "[client]\nuser=extra\nhost=extra_host\n");
    c.file("home/.my.cnf", "[client]\nuser=home\n");
    let home = c.dir.join("home");
    let expected = oracle(
        &[format!("--defaults-extra-file={}", extra.display())],
        &home,
    )
    .unwrap();
    let files = default_files(None, Some(&extra), Some(&home));
    assert_eq!(
        ours(&files, None).unwrap(),
        expected,
        "default files with an extra file"
    );
    assert_eq!(expected.last().map(String::as_str), Some("--user=home"));
}

#[test]
fn include_cycles_are_an_error() {
    let c = Case::new("cycle");
    c.file("b.cnf", "[client]\nuser=b\n!include @/a.cnf\n");
    let top = c.file("a.cnf", "[client]\nuser=a\n!include @/b.cnf\n");
    let err = ours(&[(top, true)], None).unwrap_err().to_string();
    assert!(
        err.contains("cycle") && err.contains("a.cnf → ") && err.contains("b.cnf"),
        "{err}"
    );
}
