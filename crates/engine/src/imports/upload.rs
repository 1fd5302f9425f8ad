//! Receiving a file: gunzipped if it is gzip, checked to be UTF-8 text within the size limit,
//! read as CSV once (its header must name a phone column; its rows are counted for progress),
//! and stored in pieces of about a megabyte before the import is opened. Any failure deletes
//! what was stored: the caller hears a 4xx and no row is applied.

use std::io::Write;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use switchboard_core::{Import, ImportKind, TenantId};
use switchboard_store::{ImportChunk, NewImport};

use super::columns::Columns;
use super::records::{Records, Step};
use super::{FileError, ImportRequest, StoredOptions};
use crate::{Engine, EngineError};

/// The size of a stored piece of the file.
const CHUNK_BYTES: usize = 1024 * 1024;

/// Stores the upload as import of `kind`, or refuses it.
pub(super) async fn receive<S, E>(
    engine: &Engine,
    tenant_id: TenantId,
    kind: ImportKind,
    request: ImportRequest,
    mut body: S,
) -> Result<Import, EngineError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    let store = &engine.store;
    let options = serde_json::json!({ "defaultCountry": request.default_country });
    let id = store
        .begin_import(
            tenant_id,
            NewImport {
                kind,
                options,
                file_name: request.file_name.clone(),
            },
        )
        .await?;
    let mut file = Received::new(engine.pipeline.config.imports.max_bytes, request.gzip);
    let result = async {
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|error| FileError::Upload(Box::new(error)))?;
            file.take(&piece)?;
            file.store_full_chunks(engine, id).await?;
        }
        file.finish()?;
        file.store_full_chunks(engine, id).await?;
        file.store_rest(engine, id).await?;
        let columns = file.columns.as_ref().ok_or(FileError::NoHeader)?;
        let options = StoredOptions {
            default_country: request.default_country.clone(),
            header: columns.names().to_vec(),
            campaign_id: request.campaign_id,
        };
        let (first_offset, first_line) = file.first_row;
        Ok::<_, EngineError>(
            store
                .open_import(
                    tenant_id,
                    id,
                    switchboard_store::OpenImport {
                        total_bytes: file.total as i64,
                        rows_total: file.rows,
                        first_offset,
                        first_line,
                        options: serde_json::to_value(options)
                            .map_err(|error| EngineError::Internal(Box::new(error)))?,
                    },
                )
                .await?,
        )
    }
    .await;
    if result.is_err()
        && let Err(error) = store.discard_import(id).await
    {
        tracing::warn!(%id, %error, "could not delete a refused upload; it is removed at the next start");
    }
    result
}

/// A file checked whole as [`receive`] checks it, without storing it.
pub(super) struct Checked {
    pub text: String,
    pub columns: Columns,
    /// The first data row's offset and line.
    pub first_row: (i64, i64),
    pub rows: i64,
}

/// Checks `file` as [`receive`] does when it arrives in pieces of `piece` bytes.
pub(super) fn check_whole(
    file: &[u8],
    piece: usize,
    said_gzip: bool,
    limit: u64,
) -> Result<Checked, FileError> {
    let mut received = Received::new(limit, said_gzip);
    for piece in file.chunks(piece) {
        received.take(piece)?;
    }
    received.finish()?;
    Ok(Checked {
        columns: received.columns.take().ok_or(FileError::NoHeader)?,
        text: received.pending,
        first_row: received.first_row,
        rows: received.rows,
    })
}

/// A file as it arrives: plain text so far, its header and its rows counted.
struct Received {
    limit: u64,
    /// Whether the body is gzip: said by the caller, or seen in its first bytes.
    gzip: Option<flate2::write::GzDecoder<Vec<u8>>>,
    said_gzip: bool,
    /// The body's first bytes, held until there are enough to tell gzip.
    start: Option<Vec<u8>>,
    /// The first bytes of plain text, held until there are [`SIGNATURE_BYTES`] of them.
    head: Option<Vec<u8>>,
    /// Bytes of an incomplete UTF-8 character at the end of what arrived.
    partial: Vec<u8>,
    /// Text not yet stored, and where it starts in the file.
    pending: String,
    pending_offset: usize,
    seq: i64,
    total: u64,
    records: Records,
    columns: Option<Columns>,
    /// The first data row's offset and line.
    first_row: (i64, i64),
    rows: i64,
}

impl Received {
    fn new(limit: u64, said_gzip: bool) -> Self {
        Self {
            limit,
            gzip: None,
            said_gzip,
            start: Some(Vec::new()),
            head: Some(Vec::new()),
            partial: Vec::new(),
            pending: String::new(),
            pending_offset: 0,
            seq: 0,
            total: 0,
            records: Records::starting_at(0, 1),
            columns: None,
            first_row: (0, 2),
            rows: 0,
        }
    }

    /// Takes the next bytes of the body. None is decoded until the first two have said
    /// whether the body is gzip (or the body has ended shorter).
    fn take(&mut self, piece: &[u8]) -> Result<(), FileError> {
        let Some(start) = &mut self.start else {
            return self.decode(piece);
        };
        start.extend_from_slice(piece);
        if start.len() < GZIP_MAGIC.len() {
            return Ok(());
        }
        self.end_start()
    }

    /// Decides whether the body is gzip, from what the caller said and its first bytes, and
    /// decodes those bytes.
    fn end_start(&mut self) -> Result<(), FileError> {
        let Some(start) = self.start.take() else {
            return Ok(());
        };
        if self.said_gzip || start.starts_with(&GZIP_MAGIC) {
            self.gzip = Some(flate2::write::GzDecoder::new(Vec::new()));
        }
        self.decode(&start)
    }

    /// Takes bytes of the body, gunzipped if it is gzip.
    fn decode(&mut self, piece: &[u8]) -> Result<(), FileError> {
        match &mut self.gzip {
            Some(decoder) => {
                let written = decoder.write_all(piece);
                // What decoded before a corruption is read first: it may hold an earlier problem.
                let plain = std::mem::take(decoder.get_mut());
                self.plain(&plain)?;
                written.map_err(FileError::BadGzip)
            }
            None => self.plain(piece),
        }
    }

    /// The body has ended: the rest of the gzip stream, and the file's last row.
    fn finish(&mut self) -> Result<(), FileError> {
        self.end_start()?;
        if let Some(mut decoder) = self.gzip.take() {
            let finished = decoder.try_finish();
            let plain = std::mem::take(decoder.get_mut());
            self.plain(&plain)?;
            finished.map_err(FileError::BadGzip)?;
        }
        self.end_head()?;
        if !self.partial.is_empty() {
            return Err(FileError::NotUtf8 {
                line: self.records.position().1,
            });
        }
        while self.read(&[])? != Step::End {}
        Ok(())
    }

    /// Takes plain bytes: checked, read as CSV, kept for storing. The first problem in the
    /// file is the one reported, however the file was cut into pieces: text before a byte that
    /// is not UTF-8 or is binary is read first, and may hold an earlier problem.
    fn text(&mut self, plain: &[u8]) -> Result<(), FileError> {
        if plain.is_empty() {
            return Ok(());
        }
        self.total += plain.len() as u64;
        if self.total > self.limit {
            return Err(FileError::TooLarge { limit: self.limit });
        }
        let mut bytes = std::mem::take(&mut self.partial);
        bytes.extend_from_slice(plain);
        let (valid, not_utf8) = match std::str::from_utf8(&bytes) {
            Ok(text) => (text.len(), false),
            // An incomplete character at the end: the next piece may complete it.
            Err(error) if error.error_len().is_none() => (error.valid_up_to(), false),
            Err(error) => (error.valid_up_to(), true),
        };
        self.partial = bytes.split_off(valid);
        let text = String::from_utf8(bytes).map_err(|_| FileError::NotUtf8 { line: 0 })?;
        let binary = text.find('\0');
        let readable = &text.as_bytes()[..binary.unwrap_or(text.len())];
        let mut used = 0;
        while used < readable.len() {
            let (_, read) = self.step(&readable[used..])?;
            used += read;
        }
        if binary.is_some() {
            return Err(FileError::NotCsv {
                reason: "it holds binary data",
            });
        }
        if not_utf8 {
            return Err(FileError::NotUtf8 {
                line: self.records.position().1,
            });
        }
        self.pending.push_str(&text);
        Ok(())
    }

    /// Takes plain bytes. None is read until the first [`SIGNATURE_BYTES`] have said whether
    /// the file is text at all (or the file has ended shorter).
    fn plain(&mut self, plain: &[u8]) -> Result<(), FileError> {
        let Some(head) = &mut self.head else {
            return self.text(plain);
        };
        head.extend_from_slice(plain);
        if head.len() < SIGNATURE_BYTES {
            return Ok(());
        }
        self.end_head()
    }

    /// Reads the held first bytes, after checking they do not start another format.
    fn end_head(&mut self) -> Result<(), FileError> {
        let Some(head) = self.head.take() else {
            return Ok(());
        };
        refuse_other_formats(&head)?;
        self.text(&head)
    }

    /// Reads CSV from `input`; returns what it found and how much it used.
    fn step(&mut self, input: &[u8]) -> Result<(Step, usize), FileError> {
        let (step, used) = self.records.read(input)?;
        if step == Step::Record {
            self.record()?;
        }
        Ok((step, used))
    }

    fn read(&mut self, input: &[u8]) -> Result<Step, FileError> {
        Ok(self.step(input)?.0)
    }

    /// A whole record: the header, or one more row.
    fn record(&mut self) -> Result<(), FileError> {
        if self.columns.is_none() {
            self.columns = Some(Columns::from_header(&self.records.fields())?);
            self.first_row = self.records.position();
        } else {
            self.rows += 1;
        }
        Ok(())
    }

    /// Stores each full piece of text waiting.
    async fn store_full_chunks(
        &mut self,
        engine: &Engine,
        id: switchboard_core::ImportId,
    ) -> Result<(), EngineError> {
        while self.pending.len() >= CHUNK_BYTES {
            let mut cut = CHUNK_BYTES;
            while !self.pending.is_char_boundary(cut) {
                cut -= 1;
            }
            let rest = self.pending.split_off(cut);
            let content = std::mem::replace(&mut self.pending, rest);
            self.store(engine, id, content).await?;
        }
        Ok(())
    }

    /// Stores what text is left (the end of the file).
    async fn store_rest(
        &mut self,
        engine: &Engine,
        id: switchboard_core::ImportId,
    ) -> Result<(), EngineError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let content = std::mem::take(&mut self.pending);
        self.store(engine, id, content).await
    }

    async fn store(
        &mut self,
        engine: &Engine,
        id: switchboard_core::ImportId,
        content: String,
    ) -> Result<(), EngineError> {
        let length = content.len();
        let chunk = ImportChunk {
            byte_offset: self.pending_offset as i64,
            content,
        };
        engine
            .store
            .append_import_chunk(id, self.seq, chunk)
            .await?;
        self.seq += 1;
        self.pending_offset += length;
        Ok(())
    }
}

/// What a gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The length of the longest signature [`refuse_other_formats`] knows.
const SIGNATURE_BYTES: usize = 4;

/// Refuses files whose first bytes say they are something else than text.
fn refuse_other_formats(start: &[u8]) -> Result<(), FileError> {
    let reason = if start.starts_with(b"PK\x03\x04") {
        "it is a zip archive (an .xlsx spreadsheet?); export the sheet as CSV"
    } else if start.starts_with(b"%PDF") {
        "it is a PDF document"
    } else if start.starts_with(&[0xd0, 0xcf, 0x11, 0xe0]) {
        "it is an .xls spreadsheet; export the sheet as CSV"
    } else {
        return Ok(());
    };
    Err(FileError::NotCsv { reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file's first problem is the one reported, whatever pieces it arrives in.
    #[test]
    fn the_same_problem_is_found_whatever_the_pieces() {
        let files: [(&[u8], &str); 4] = [
            (b"PK\x03\x04 a zip archive", "zip archive"),
            (b"Phone Number;Name\r\n06\x9a2;x\r\n", "no phone column"),
            (
                b"phone,name\n+15550001,ok\n+1555\x9a",
                "not UTF-8 text (line 3)",
            ),
            (b"name\n\0", "no phone column"),
        ];
        for (file, expected) in files {
            for piece in [1, 2, 3, 5, file.len()] {
                let Err(error) = check_whole(file, piece, false, 1 << 20) else {
                    panic!("{file:?} in pieces of {piece} was accepted");
                };
                assert!(
                    error.to_string().contains(expected),
                    "{file:?} in pieces of {piece}: {error}"
                );
            }
        }
    }

    /// A gzip stream cut short is refused for the first problem of what it decoded to, if it
    /// has one, however the stream arrives.
    #[test]
    fn what_a_broken_gzip_stream_decoded_to_is_read_first() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder
            .write_all(b"name,email\nAda,a@example.com\n")
            .expect("in memory");
        let mut gzipped = encoder.finish().expect("in memory");
        gzipped.truncate(gzipped.len() - 6);
        for piece in [1, 7, gzipped.len()] {
            let Err(error) = check_whole(&gzipped, piece, false, 1 << 20) else {
                panic!("a broken gzip stream was accepted");
            };
            assert!(
                error.to_string().contains("no phone column"),
                "{piece}: {error}"
            );
        }
    }

    /// A gzipped body is recognised by its first two bytes even when they arrive apart.
    #[test]
    fn gzip_is_recognised_in_pieces_of_one_byte() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder
            .write_all(b"phone,name\n+15550001,Ada\n")
            .expect("in memory");
        let gzipped = encoder.finish().expect("in memory");
        let checked = check_whole(&gzipped, 1, false, 1 << 20).expect("a gzipped CSV file");
        assert_eq!(checked.rows, 1);
        assert_eq!(checked.text, "phone,name\n+15550001,Ada\n");
    }
}
