//! What SQLite tells of a statement that does not change from one execution to the next: which
//! argument each parameter takes and the names of its columns. Both are read once per statement
//! text on each thread, not at every execution. SQLite numbers a statement's parameters in the
//! order their names first appear (in `VALUES ($1, $2, $14, $5)`, `$14` is the third), and
//! finding a parameter's name walks the statement's list of names; with the columns' names
//! copied out for every result, that was about 3 % of a message's instructions.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;
use std::sync::Arc;

/// Statement texts remembered per thread; past this many (statements built with varying
/// numbers of placeholders), the thread starts over.
const MAX_STATEMENTS: usize = 1024;

/// A statement's parameters and columns.
pub(crate) struct Shape {
    /// For each parameter, in SQLite's order, the index of the argument it takes (`$3` takes
    /// the third), or `None` for a name that is not `$` and a number.
    pub(crate) positions: Box<[Option<usize>]>,
    /// The names of its result's columns (none for a statement without a result).
    pub(crate) columns: Arc<[Box<str>]>,
}

thread_local! {
    static SHAPES: RefCell<HashMap<Box<str>, Rc<Shape>, BuildHasherDefault<TextHasher>>> =
        RefCell::new(HashMap::default());
}

/// The shape of `statement`, whose text is `sql`.
pub(crate) fn shape(statement: &rusqlite::Statement<'_>, sql: &str) -> Rc<Shape> {
    SHAPES.with_borrow_mut(|known| {
        // A column count that moved means the schema behind a `*` changed: read it again.
        if let Some(shape) = known.get(sql)
            && shape.columns.len() == statement.column_count()
        {
            return Rc::clone(shape);
        }
        let shape = Rc::new(read_shape(statement));
        if known.len() >= MAX_STATEMENTS {
            known.clear();
        }
        known.insert(sql.into(), Rc::clone(&shape));
        shape
    })
}

fn read_shape(statement: &rusqlite::Statement<'_>) -> Shape {
    let positions = (1..=statement.parameter_count())
        .map(|index| {
            statement
                .parameter_name(index)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|number| number.parse::<usize>().ok())
                .and_then(|number| number.checked_sub(1))
        })
        .collect();
    let columns = statement
        .column_names()
        .into_iter()
        .map(Box::from)
        .collect();
    Shape { positions, columns }
}

/// Hashes statement texts a word at a time (the multiply-and-rotate of rustc's `FxHasher`). The
/// standard library's SipHash, built to resist chosen keys, took about half of what the cache
/// saves; the texts are the program's own.
#[derive(Default)]
struct TextHasher(u64);

impl Hasher for TextHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::shape;

    /// A parameter takes the argument its number names, whatever order the names appear in;
    /// a text seen before gives the same shape.
    #[test]
    fn parameters_take_the_arguments_their_numbers_name() -> rusqlite::Result<()> {
        let connection = rusqlite::Connection::open_in_memory()?;
        let sql = "SELECT $2 AS b, $1 AS a, $2 + $3 AS sum, :other AS other";
        let statement = connection.prepare(sql)?;
        let first = shape(&statement, sql);
        assert_eq!(&*first.positions, &[Some(1), Some(0), Some(2), None]);
        assert_eq!(
            first
                .columns
                .iter()
                .map(AsRef::as_ref)
                .collect::<Vec<&str>>(),
            ["b", "a", "sum", "other"]
        );
        let again = shape(&statement, sql);
        assert!(std::rc::Rc::ptr_eq(&first, &again));
        Ok(())
    }

    /// A `*` whose table gained a column since gives the new columns.
    #[test]
    fn a_changed_table_is_read_again() -> rusqlite::Result<()> {
        let connection = rusqlite::Connection::open_in_memory()?;
        connection.execute_batch("CREATE TABLE t (a INTEGER)")?;
        let sql = "SELECT * FROM t";
        assert_eq!(shape(&connection.prepare(sql)?, sql).columns.len(), 1);
        connection.execute_batch("ALTER TABLE t ADD COLUMN b INTEGER")?;
        assert_eq!(shape(&connection.prepare(sql)?, sql).columns.len(), 2);
        Ok(())
    }
}
