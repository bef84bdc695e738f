//! Search vectors in PostgreSQL's binary `tsvector` format (what the server's `tsvectorsend`
//! writes and `tsvectorrecv` reads), bound to statements as `tsvector` values: the server
//! reads them without parsing text (`tsvectorin` was an eighth of a write's server time).
//!
//! The format: the number of lexemes (i32), then per lexeme its UTF-8 bytes and a NUL, the
//! number of its positions (u16) and each position (u16: the weight in the top two bits, A = 3
//! … D = 0, the position in the other fourteen), all big-endian. Lexemes come in byte order
//! and positions ascending, as the server keeps them (it would sort them otherwise).

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo};
use sqlx::{Encode, Postgres, Type};

/// `pg_type.oid` of `tsvector` (fixed in PostgreSQL's catalog).
const TSVECTOR_OID: Oid = Oid(3614);
/// `pg_type.oid` of `tsvector[]`.
const TSVECTOR_ARRAY_OID: Oid = Oid(3643);

/// A `tsvector` weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Weight {
    /// The title's words.
    A,
    /// The body's words.
    B,
}

impl Weight {
    /// The weight's bits in a binary position.
    fn bits(self) -> u16 {
        match self {
            Weight::A => 3 << 14,
            Weight::B => 2 << 14,
        }
    }
}

/// A record's search vector, in the server's binary format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsVector(Vec<u8>);

/// Writes a [`TsVector`]: [`Writer::lexeme`] in byte order, each followed by its
/// [`Writer::position`]s, ascending.
pub(super) struct Writer {
    out: Vec<u8>,
    /// Where the current lexeme's position count goes, and the count so far.
    count_at: Option<(usize, u16)>,
}

impl Writer {
    /// A vector of `lexemes` lexemes, with room for about `bytes` bytes.
    pub(super) fn new(lexemes: usize, bytes: usize) -> Writer {
        let mut out = Vec::with_capacity(bytes + 4);
        out.extend_from_slice(&i32::try_from(lexemes).unwrap_or(i32::MAX).to_be_bytes());
        Writer {
            out,
            count_at: None,
        }
    }

    /// Begins the next lexeme (greater in byte order than the one before).
    pub(super) fn lexeme(&mut self, lexeme: &str) {
        self.end_lexeme();
        self.out.extend_from_slice(lexeme.as_bytes());
        self.out.push(0);
        self.count_at = Some((self.out.len(), 0));
        self.out.extend_from_slice(&[0, 0]);
    }

    /// Adds a position (1..=16383, greater than the lexeme's one before) of the lexeme.
    pub(super) fn position(&mut self, position: u16, weight: Weight) {
        if let Some((_, count)) = &mut self.count_at {
            *count += 1;
            self.out
                .extend_from_slice(&(weight.bits() | (position & 0x3fff)).to_be_bytes());
        }
    }

    /// The vector.
    pub(super) fn finish(mut self) -> TsVector {
        self.end_lexeme();
        TsVector(self.out)
    }

    fn end_lexeme(&mut self) {
        if let Some((at, count)) = self.count_at.take() {
            self.out[at..at + 2].copy_from_slice(&count.to_be_bytes());
        }
    }
}

impl Type<Postgres> for TsVector {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(TSVECTOR_OID)
    }
}

impl PgHasArrayType for TsVector {
    fn array_type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(TSVECTOR_ARRAY_OID)
    }
}

impl Encode<'_, Postgres> for TsVector {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        buf.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }
}

#[cfg(test)]
impl TsVector {
    /// The vector as `tsvector` text (`'lexeme':1A,2B …`; no quotes escaped), for tests.
    pub(super) fn to_text(&self) -> String {
        let bytes = &self.0;
        let u16_at = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        let count = i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let mut i = 4;
        let mut entries = Vec::new();
        for _ in 0..count {
            let end = i + bytes[i..].iter().position(|&b| b == 0).unwrap_or(0);
            let mut entry = format!("'{}'", String::from_utf8_lossy(&bytes[i..end]));
            i = end + 1;
            let positions = u16_at(i);
            i += 2;
            for p in 0..positions {
                let value = u16_at(i);
                i += 2;
                let weight = ["", "C", "B", "A"][usize::from(value >> 14)];
                let separator = if p == 0 { ':' } else { ',' };
                entry.push_str(&format!("{separator}{}{weight}", value & 0x3fff));
            }
            entries.push(entry);
        }
        entries.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_format_is_the_servers() {
        let mut writer = Writer::new(2, 32);
        writer.lexeme("lavrov");
        writer.position(1, Weight::A);
        writer.lexeme("remark");
        writer.position(3, Weight::A);
        writer.position(7, Weight::B);
        let vector = writer.finish();
        let mut expected = vec![0, 0, 0, 2];
        expected.extend_from_slice(b"lavrov\0");
        expected.extend_from_slice(&[0, 1, 0xc0, 1]);
        expected.extend_from_slice(b"remark\0");
        expected.extend_from_slice(&[0, 2, 0xc0, 3, 0x80, 7]);
        assert_eq!(vector.0, expected);
        assert_eq!(vector.to_text(), "'lavrov':1A 'remark':3A,7B");
        assert_eq!(Writer::new(0, 0).finish().to_text(), "");
    }
}
