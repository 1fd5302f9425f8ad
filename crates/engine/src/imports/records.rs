//! CSV records read from a file that arrives in pieces, with each record's line and the byte
//! offset after it (where a resumed import starts again). Blank lines are skipped; a record may
//! span pieces; quoted fields may hold commas, quotes and line breaks.

use csv_core::ReadRecordResult;

use super::FileError;

/// The longest record accepted: a larger one is not a row of contacts.
const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// The most fields accepted in one record.
const MAX_FIELDS: usize = 1000;

/// What one call to [`Records::read`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// A whole record: see [`Records::fields`] and [`Records::line`].
    Record,
    /// The input is used up before the record ends: call again with the next piece.
    NeedInput,
    /// The end of the file (after a call with empty input).
    End,
}

/// A CSV reader that keeps its place in the file.
pub(super) struct Records {
    reader: csv_core::Reader,
    output: Vec<u8>,
    ends: Vec<usize>,
    output_len: usize,
    field_count: usize,
    /// The absolute offset of the next byte to read, and its line (1-based).
    offset: i64,
    line: i64,
    /// The line the current (or last complete) record starts on.
    record_line: i64,
    /// Between records: blank lines are skipped here, and the next record's buffers reset.
    between: bool,
}

impl Records {
    /// A reader starting at `offset`, the start of a record on `line`.
    pub(super) fn starting_at(offset: i64, line: i64) -> Self {
        Self {
            reader: csv_core::Reader::new(),
            output: vec![0; 4096],
            ends: vec![0; 64],
            output_len: 0,
            field_count: 0,
            offset,
            line,
            record_line: line,
            between: true,
        }
    }

    /// Reads from `input` (empty: the file has ended); returns what it found and how many
    /// bytes of `input` it used.
    pub(super) fn read(&mut self, input: &[u8]) -> Result<(Step, usize), FileError> {
        let mut used = 0;
        if self.between {
            while let Some(&byte) = input
                .get(used)
                .filter(|&&byte| byte == b'\n' || byte == b'\r')
            {
                self.line += i64::from(byte == b'\n');
                used += 1;
            }
            self.offset += used as i64;
            if used == input.len() && !input.is_empty() {
                return Ok((Step::NeedInput, used));
            }
            self.between = false;
            self.record_line = self.line;
            self.output_len = 0;
            self.field_count = 0;
        }
        loop {
            let (result, read, written, ended) = self.reader.read_record(
                &input[used..],
                &mut self.output[self.output_len..],
                &mut self.ends[self.field_count..],
            );
            let newlines = input[used..used + read]
                .iter()
                .filter(|&&byte| byte == b'\n')
                .count();
            self.line += newlines as i64;
            self.offset += read as i64;
            used += read;
            self.output_len += written;
            self.field_count += ended;
            match result {
                ReadRecordResult::InputEmpty => return Ok((Step::NeedInput, used)),
                ReadRecordResult::OutputFull => {
                    if self.output.len() >= MAX_RECORD_BYTES {
                        return Err(FileError::RecordTooLong {
                            line: self.record_line,
                        });
                    }
                    self.output.resize(self.output.len() * 2, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    if self.ends.len() >= MAX_FIELDS {
                        return Err(FileError::TooManyFields {
                            line: self.record_line,
                        });
                    }
                    self.ends.resize(self.ends.len() * 2, 0);
                }
                ReadRecordResult::Record => {
                    self.between = true;
                    return Ok((Step::Record, used));
                }
                ReadRecordResult::End => return Ok((Step::End, used)),
            }
        }
    }

    /// The fields of the last complete record, as text.
    pub(super) fn fields(&self) -> Vec<&str> {
        let mut start = 0;
        self.ends[..self.field_count]
            .iter()
            .map(|&end| {
                let field = &self.output[start..end];
                start = end;
                // The file was checked to be UTF-8 and fields split only at ASCII bytes.
                std::str::from_utf8(field).unwrap_or_default()
            })
            .collect()
    }

    /// The line the last complete record starts on.
    pub(super) fn record_line(&self) -> i64 {
        self.record_line
    }

    /// The offset just past the last record read, and the line there.
    pub(super) fn position(&self) -> (i64, i64) {
        (self.offset, self.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of `text` fed in pieces of `piece` bytes: (line, fields, offset after).
    fn read_all(text: &str, piece: usize) -> Vec<(i64, Vec<String>, i64)> {
        let mut records = Records::starting_at(0, 1);
        let mut found = Vec::new();
        let bytes = text.as_bytes();
        let mut at = 0;
        loop {
            // Past the end, an empty piece: the end of the file.
            let end = (at + piece).min(bytes.len());
            let (step, used) = records.read(&bytes[at..end]).expect("readable");
            at += used;
            match step {
                Step::Record => {
                    let fields = records.fields().iter().map(|f| (*f).to_owned()).collect();
                    found.push((records.record_line(), fields, records.position().0));
                }
                Step::NeedInput => {}
                Step::End => return found,
            }
        }
    }

    #[test]
    fn lines_and_offsets_survive_any_split() {
        let text = "phone,name\r\n+15550001,\"Ada, \"\"the\"\"\nLovelace\"\n\n+15550002,Bob";
        for piece in [1, 2, 3, 7, 100] {
            let records = read_all(text, piece);
            assert_eq!(records.len(), 3, "piece {piece}: {records:?}");
            assert_eq!(records[0].0, 1);
            assert_eq!(records[1].0, 2);
            assert_eq!(records[1].1[1], "Ada, \"the\"\nLovelace");
            assert_eq!(
                records[2].0, 5,
                "after a quoted line break and a blank line"
            );
            assert_eq!(records[2].1, ["+15550002", "Bob"]);
            assert_eq!(records[2].2, text.len() as i64);
        }
    }
}
