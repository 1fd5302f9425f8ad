//! One node per SQLite file: `serve` takes an exclusive lock on a file beside the database and
//! holds it until the process ends, so a second `serve` on the same file stops at once with a
//! message, instead of two queues running the same conversations. (The lock goes with the
//! process, `kill -9` included.) Several nodes share a PostgreSQL database instead.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use anyhow::{Context, bail};

/// Locks the SQLite database of `url` for this process; `None` for PostgreSQL.
pub fn lock_sqlite_file(url: &str) -> anyhow::Result<Option<File>> {
    let Some(path) = sqlite_path(url) else {
        return Ok(None);
    };
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    if let Some(parent) = lock_path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => bail!(
            "another switchboard serve is running on {}: one node per SQLite file (several \
             nodes share a PostgreSQL database and a Redis, --redis-url)",
            path.display()
        ),
        Err(TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("locking {}", lock_path.display()))
        }
    }
}

/// The file of a `sqlite://` URL, without its query.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_file_is_refused_with_a_message() -> anyhow::Result<()> {
        let directory = tempfile::tempdir()?;
        let url = format!(
            "sqlite://{}/switchboard.db?mode=rwc",
            directory.path().display()
        );
        let first = lock_sqlite_file(&url)?;
        assert!(first.is_some());
        let refused = lock_sqlite_file(&url).expect_err("one node per file");
        assert!(
            refused.to_string().contains("one node per SQLite file"),
            "{refused}"
        );
        drop(first);
        assert!(
            lock_sqlite_file(&url)?.is_some(),
            "free again once the first is gone"
        );
        assert!(lock_sqlite_file("postgres://app@db/switchboard")?.is_none());
        Ok(())
    }
}
