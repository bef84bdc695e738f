//! Decoding page bytes to text.
//!
//! Order: the HTTP `Content-Type` charset, then `<meta charset>` / `<meta http-equiv>` in the
//! first 4 KiB, then sniffing (valid UTF-8, else windows-1251, the site's legacy charset).
//! A declaration that lies is corrected: bytes declared UTF-8 that are not valid UTF-8 are
//! read as windows-1251, and bytes declared as any other charset (single-byte, or a legacy
//! multi-byte one such as fmprc.gov.cn's `gb2312` on UTF-8 pages) that are valid UTF-8 with
//! multi-byte sequences are read as UTF-8 (such bytes almost never occur in legacy text).
//! Undecodable bytes become U+FFFD; decoding never fails.

use std::borrow::Cow;
use std::sync::LazyLock;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1251};
use regex::bytes::Regex;

/// Where the charset came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetSource {
    /// The HTTP `Content-Type` header.
    Header,
    /// A `<meta>` declaration in the page.
    Meta,
    /// Guessed from the bytes (or a declaration was corrected by them).
    Sniffed,
}

static META_CHARSET: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i-u)<meta\b[^>]*?charset\s*=\s*["']?\s*([a-z0-9_\-:.]+)"#).ok()
});

/// The charset label in a `Content-Type` value (`text/html; charset=windows-1251`).
pub fn content_type_charset(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(value.trim().trim_matches(['"', '\'']).as_bytes())
    })
}

/// The charset declared by a `<meta>` tag within the first 4 KiB.
pub fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(4096)];
    let caps = META_CHARSET.as_ref()?.captures(head)?;
    Encoding::for_label(caps.get(1)?.as_bytes())
}

/// Picks the encoding of `bytes` given an optional `Content-Type` header.
pub fn detect(bytes: &[u8], content_type: Option<&str>) -> (&'static Encoding, CharsetSource) {
    detect_with(
        bytes,
        content_type,
        simdutf8::basic::from_utf8(bytes).is_ok(),
    )
}

fn detect_with(
    bytes: &[u8],
    content_type: Option<&str>,
    valid_utf8: bool,
) -> (&'static Encoding, CharsetSource) {
    let declared = content_type
        .and_then(content_type_charset)
        .map(|e| (e, CharsetSource::Header))
        .or_else(|| meta_charset(bytes).map(|e| (e, CharsetSource::Meta)));
    match declared {
        Some((enc, source)) => {
            // UTF-16 declarations inside an ASCII-compatible page are always wrong (HTML spec).
            let enc = if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
                UTF_8
            } else {
                enc
            };
            if enc == UTF_8 {
                if valid_utf8 {
                    (UTF_8, source)
                } else {
                    (WINDOWS_1251, CharsetSource::Sniffed)
                }
            } else if valid_utf8 && bytes.iter().any(|b| *b >= 0x80) {
                (UTF_8, CharsetSource::Sniffed)
            } else {
                (enc, source)
            }
        }
        None if valid_utf8 => (UTF_8, CharsetSource::Sniffed),
        None => (WINDOWS_1251, CharsetSource::Sniffed),
    }
}

/// Decodes `bytes` to text (a byte-order mark wins over everything else).
pub fn decode<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        return enc.decode_without_bom_handling(&bytes[bom_len..]).0;
    }
    let utf8 = simdutf8::basic::from_utf8(bytes).ok();
    let (enc, _) = detect_with(bytes, content_type, utf8.is_some());
    match utf8 {
        Some(text) if enc == UTF_8 => Cow::Borrowed(text),
        _ => enc.decode_without_bom_handling(bytes).0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RU: &str = "<html><body><p>Министр иностранных дел</p></body></html>";

    fn cp1251(s: &str) -> Vec<u8> {
        WINDOWS_1251.encode(s).0.into_owned()
    }

    #[test]
    fn header_charset_wins() {
        let bytes = cp1251(RU);
        assert_eq!(
            detect(&bytes, Some("text/html; charset=windows-1251")),
            (WINDOWS_1251, CharsetSource::Header)
        );
        assert_eq!(decode(&bytes, Some("text/html; charset=\"cp1251\"")), RU);
    }

    #[test]
    fn meta_charset_is_read() {
        let page = format!("<head><meta charset=\"windows-1251\"></head>{RU}");
        let bytes = cp1251(&page);
        assert_eq!(detect(&bytes, None).1, CharsetSource::Meta);
        assert_eq!(decode(&bytes, None), page);
        let page = format!(
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\">{RU}"
        );
        assert_eq!(decode(&cp1251(&page), Some("text/html")), page);
    }

    #[test]
    fn sniffing_without_declaration() {
        assert_eq!(decode(RU.as_bytes(), None), RU);
        assert_eq!(decode(&cp1251(RU), None), RU);
    }

    #[test]
    fn lying_declarations_are_corrected() {
        // Declared UTF-8, served windows-1251.
        assert_eq!(decode(&cp1251(RU), Some("text/html; charset=utf-8")), RU);
        // Declared windows-1251, served UTF-8.
        assert_eq!(
            decode(RU.as_bytes(), Some("text/html; charset=windows-1251")),
            RU
        );
        // Declared gb2312 in the page, served UTF-8 (fmprc.gov.cn).
        let page = format!(
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">China’s {RU}"
        );
        assert_eq!(decode(page.as_bytes(), None), page);
        assert_eq!(
            decode(page.as_bytes(), Some("text/html; charset=gbk")),
            page
        );
        let gbk = encoding_rs::GBK.encode("中国外交部").0.into_owned();
        assert_eq!(
            decode(&gbk, Some("text/html; charset=gb2312")),
            "中国外交部"
        );
        // Unknown label: ignored.
        assert_eq!(
            decode(RU.as_bytes(), Some("text/html; charset=klingon")),
            RU
        );
    }

    #[test]
    fn bom_wins() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(RU.as_bytes());
        assert_eq!(decode(&bytes, Some("text/html; charset=windows-1251")), RU);
    }
}
