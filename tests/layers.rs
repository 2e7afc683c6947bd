//! The layers as the imports say them: data flows one way (README "Layout"), and
//! only one file of the command line connects to a server. Read from the source
//! text, so a new import against the flow fails here, not in a review.

use std::path::{Path, PathBuf};

/// The top-level modules each layer may use (`crate::NAME`).
fn allowed(layer: &str) -> &'static [&'static str] {
    match layer {
        "model" => &["model"],
        "parse" => &["parse", "model"],
        "analyze" => &["analyze", "parse", "model"],
        "source" => &["source", "parse", "model"],
        "render" => &["render", "analyze", "parse", "model"],
        "act" => &["act", "source", "analyze", "render", "parse", "model"],
        "cli" => &[
            "cli", "act", "source", "analyze", "render", "parse", "model",
        ],
        other => {
            panic!("a module {other} that no layer rule names: add it to README's Layout and here")
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments and its `#[cfg(test)]` module (tests may
/// build values from any layer).
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::NAME` a text uses.
fn used_modules(code: &str) -> Vec<String> {
    code.match_indices("crate::")
        .map(|(at, _)| {
            code[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn imports_follow_the_flow() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut against = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let Some(layer) = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .filter(|_| relative.components().count() > 1)
        else {
            continue; // lib.rs, main.rs
        };
        let text = std::fs::read_to_string(file).unwrap();
        for used in used_modules(&code(&text)) {
            checked += 1;
            if !allowed(layer).contains(&used.as_str()) {
                against.push(format!("{}: crate::{used}", relative.display()));
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} imports read: is the source tree there?"
    );
    assert!(
        against.is_empty(),
        "imports against the flow:\n{}",
        against.join("\n")
    );
}

#[test]
fn one_command_line_file_connects() {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli");
    let mut files = Vec::new();
    rust_files(&cli, &mut files);
    let connecting: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = code(&std::fs::read_to_string(f).unwrap());
            text.contains("Server::open") || text.contains("connect::connect")
        })
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(connecting, ["mod.rs"], "cli files that open connections");
}

#[test]
fn the_checker_sees_an_import_against_the_flow() {
    let code = code("use crate::model::Session;\n// crate::cli in a comment\nuse crate::source::server::Server;\n");
    assert_eq!(used_modules(&code), ["model", "source"]);
    assert!(!allowed("analyze").contains(&"source"));
}
