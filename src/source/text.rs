//! Reading inputs: a file or standard input, in whatever encoding people saved
//! it (`parse::encoding`). A whole-file read is capped (a status text, a
//! snapshot, an option file each have a size no real one comes near), and a
//! device or directory is refused before it is opened, so `/dev/zero` or a
//! mistyped path costs an error message, not gigabytes of memory or a hang.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::parse::encoding::{decode, sniff, TextEncoding};

/// The most `deadlock --file` reads whole: InnoDB caps its status text at 1 MB;
/// a longer file is an error log, which `--error-log` streams.
pub const STATUS_TEXT_LIMIT: u64 = 64 << 20;
/// The most a snapshot read back may take (one at 2,000 waiters is about 7 MB).
pub const SNAPSHOT_LIMIT: u64 = 512 << 20;

/// Opens a file to read, refusing what is not one: a character or block device
/// (`/dev/zero` never ends), a directory, a socket. A FIFO is read (process
/// substitution, `<(mysql -e …)`), under the caller's cap.
pub fn open_input(path: &Path) -> Result<File> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let kind = meta.file_type();
    let refused = if kind.is_dir() {
        Some("a directory")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        None
    };
    if let Some(what) = refused {
        bail!("{} is {what}, not a file", path.display());
    }
    File::open(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Reads at most `limit` bytes of a file (`-`: standard input); more is an
/// error naming the limit and `instead`, what to use for larger inputs.
pub fn read_capped(path: &Path, limit: u64, instead: &str) -> Result<Vec<u8>> {
    let reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(io::stdin())
    } else {
        Box::new(open_input(path)?)
    };
    let mut bytes = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > limit {
        bail!(
            "{} is larger than {} MB, more than this input ever is: {instead}",
            path.display(),
            limit >> 20
        );
    }
    Ok(bytes)
}

/// Reads a whole text input (`-` is stdin) of at most [`STATUS_TEXT_LIMIT`]:
/// UTF-8 (with or without BOM) or UTF-16. Bytes that are no valid text are
/// replaced, not fatal.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = read_capped(
        path,
        STATUS_TEXT_LIMIT,
        "an InnoDB status text is at most 1 MB; for an error log use --error-log, which streams any size",
    )?;
    Ok(decode(&bytes).into_owned())
}

/// Opens a file (or stdin) for streaming as UTF-8 bytes. A UTF-8 BOM is
/// skipped; a UTF-16 file (rare for logs) is decoded whole first.
pub fn open_stream(path: &Path) -> Result<Box<dyn Read>> {
    let mut reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(io::stdin())
    } else {
        Box::new(open_input(path)?)
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
