//! The CSV import for the fuzz target (`fuzz/`): an input checked as an upload arriving in
//! pieces, then its rows read again from the first one, as the background run reads the stored
//! file, each through the row rules. Not part of the API.

use switchboard_core::Country;

use super::FileError;
use super::records::{Records, Step};
use super::upload;

/// What one file gave.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Rows that passed every rule.
    pub taken: usize,
    /// Rows refused, each with at least one error.
    pub refused: usize,
}

/// Reads `file` as an upload cut into pieces of `piece` bytes (`gzip`: said to be gzipped),
/// then reads its rows as a run does, national numbers read in `country` when it is a known
/// code. Panics where the two readings disagree: the rows counted for progress are the rows
/// run, every row lies past the header, and the run ends at the file's end.
pub fn csv_import(
    file: &[u8],
    piece: usize,
    gzip: bool,
    country: Option<&str>,
) -> Result<Outcome, FileError> {
    let piece = piece.max(1);
    let checked = upload::check_whole(file, piece, gzip, 1024 * 1024)?;
    let country: Option<Country> = country.and_then(|code| code.parse().ok());
    let (first_offset, first_line) = checked.first_row;
    let mut records = Records::starting_at(first_offset, first_line);
    let text = checked.text.as_bytes();
    let mut at = usize::try_from(first_offset).expect("an offset within the file");
    let mut outcome = Outcome::default();
    loop {
        let end = (at + piece).min(text.len());
        let (step, used) = records.read(&text[at..end])?;
        at += used;
        match step {
            Step::Record => {
                let line = records.record_line();
                assert!(
                    line >= first_line,
                    "row on line {line} before the first row"
                );
                match checked.columns.row(line, &records.fields(), country) {
                    Ok(row) => {
                        assert!(row.phone.starts_with('+'), "phone {:?}", row.phone);
                        outcome.taken += 1;
                    }
                    Err(errors) => {
                        assert!(!errors.is_empty());
                        assert!(errors.iter().all(|error| error.line == line));
                        outcome.refused += 1;
                    }
                }
            }
            Step::NeedInput => {}
            Step::End => break,
        }
    }
    assert_eq!(
        (outcome.taken + outcome.refused) as i64,
        checked.rows,
        "rows run against rows counted at upload"
    );
    assert_eq!(
        records.position().0,
        text.len() as i64,
        "the run ends at the end"
    );
    Ok(outcome)
}
