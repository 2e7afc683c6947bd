//! Text as people save it: UTF-8 with or without a byte-order mark, UTF-16
//! (PowerShell's `>` writes UTF-16 LE with a BOM), CRLF line ends. Bytes that
//! are no valid text are replaced, never fatal.

use std::borrow::Cow;

/// The encodings lockdiag reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Utf16Le,
    Utf16Be,
}

/// The encoding of a text from its first bytes, and the length of its byte-order mark.
/// UTF-16 without a mark is recognised by NUL bytes in every other position of
/// mostly-ASCII text (what a status or log is).
pub fn sniff(head: &[u8]) -> (TextEncoding, usize) {
    match head {
        [0xEF, 0xBB, 0xBF, ..] => (TextEncoding::Utf8, 3),
        [0xFF, 0xFE, ..] => (TextEncoding::Utf16Le, 2),
        [0xFE, 0xFF, ..] => (TextEncoding::Utf16Be, 2),
        _ => {
            let pairs = head.len().min(512) / 2;
            if pairs < 2 {
                return (TextEncoding::Utf8, 0);
            }
            let odd_nuls = (0..pairs).filter(|i| head[2 * i + 1] == 0).count();
            let even_nuls = (0..pairs).filter(|i| head[2 * i] == 0).count();
            if odd_nuls * 10 >= pairs * 9 && even_nuls == 0 {
                (TextEncoding::Utf16Le, 0)
            } else if even_nuls * 10 >= pairs * 9 && odd_nuls == 0 {
                (TextEncoding::Utf16Be, 0)
            } else {
                (TextEncoding::Utf8, 0)
            }
        }
    }
}

/// Decodes a whole text input to UTF-8.
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let (encoding, bom) = sniff(bytes);
    let body = &bytes[bom..];
    match encoding {
        TextEncoding::Utf8 => String::from_utf8_lossy(body),
        TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
            let units = body.chunks(2).map(|pair| {
                let (a, b) = (pair[0], pair.get(1).copied().unwrap_or(0));
                if encoding == TextEncoding::Utf16Le {
                    u16::from_le_bytes([a, b])
                } else {
                    u16::from_be_bytes([a, b])
                }
            });
            Cow::Owned(
                char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(text: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        out
    }

    #[test]
    fn boms_and_utf16_are_read() {
        let text = "LATEST DETECTED DEADLOCK\r\n*** (1) TRANSACTION:\r\nnaïve";
        assert_eq!(decode(&utf16le(text, true)), text);
        assert_eq!(decode(&utf16le(text, false)), text);
        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode(&be), text);
        let mut bom8 = vec![0xEF, 0xBB, 0xBF];
        bom8.extend_from_slice(text.as_bytes());
        assert_eq!(decode(&bom8), text);
        assert_eq!(decode(b"plain \xff bytes"), "plain \u{FFFD} bytes");
        assert_eq!(decode(&[0xFF, 0xFE, 0x41]), "A");
    }
}
