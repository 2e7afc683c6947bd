//! Reading text inputs: a file or standard input, in whatever encoding people
//! saved it (`parse::encoding`).

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;

use anyhow::{Context, Result};

use crate::parse::encoding::{decode, sniff, TextEncoding};

fn read_all(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        io::stdin()
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
    } else {
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(bytes)
}

/// Reads a whole text input (`-` is stdin): UTF-8 (with or without BOM) or
/// UTF-16. Bytes that are no valid text are replaced, not fatal.
pub fn read_text(path: &Path) -> Result<String> {
    Ok(decode(&read_all(path)?).into_owned())
}

/// Opens a file (or stdin) for streaming as UTF-8 bytes. A UTF-8 BOM is
/// skipped; a UTF-16 file (rare for logs) is decoded whole first.
pub fn open_stream(path: &Path) -> Result<Box<dyn Read>> {
    let mut reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(path).with_context(|| format!("cannot open {}", path.display()))?)
    };
    let mut head = Vec::with_capacity(512);
    (&mut reader)
        .take(512)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    match sniff(&head) {
        (TextEncoding::Utf8, bom) => {
            head.drain(..bom);
            Ok(Box::new(Cursor::new(head).chain(reader)))
        }
        _ => {
            reader
                .read_to_end(&mut head)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok(Box::new(Cursor::new(
                decode(&head).into_owned().into_bytes(),
            )))
        }
    }
}
