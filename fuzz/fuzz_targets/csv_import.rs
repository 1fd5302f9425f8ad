//! CSV imports: a file checked as an upload arriving in pieces, then its rows read as the
//! background run reads them, through the row rules. The first byte chooses the piece size
//! (its low six bits), whether the file is sent gzipped (bit 6) and whether national numbers
//! are read as US ones (bit 7). Whatever the pieces or the compression, the outcome must be the
//! one of the whole plain file (for a corrupt gzip stream: a refusal).
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use switchboard_engine::fuzzing::csv_import;

fuzz_target!(|data: &[u8]| {
    let Some((mode, file)) = data.split_first() else { return };
    let piece = usize::from(mode & 0x3f) + 1;
    let country = (mode & 0x80 != 0).then_some("US");
    let whole = csv_import(file, file.len().max(1), false, country).map_err(|error| error.to_string());
    // A file that starts as gzip does is read as gzip already: it is sent as it is.
    let sent = if mode & 0x40 != 0 && !file.starts_with(&[0x1f, 0x8b]) {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(file).expect("writing to memory");
        let gzipped = encoder.finish().expect("writing to memory");
        csv_import(&gzipped, piece, true, country)
    } else {
        csv_import(file, piece, false, country)
    };
    let sent = sent.map_err(|error| error.to_string());
    // A corrupt gzip stream is refused however it arrives; how much of it decoded before the
    // corruption showed (and so which problem is met first) depends on the pieces.
    let corrupt = |result: &Result<_, String>| matches!(result, Err(error) if error.contains("gzip"));
    if corrupt(&sent) || corrupt(&whole) {
        assert!(sent.is_err() && whole.is_err(), "{sent:?} against {whole:?}");
    } else {
        assert_eq!(sent, whole);
    }
});
