//! The master key that seals secrets in the database: `secrets.master_key`
//! (`SWITCHBOARD_MASTER_KEY`), or else a key file created on first start beside the database
//! (mode 0600); and `switchboard keys rotate`, which re-seals every secret under a new key.
//!
//! A rotation with a key file is safe to interrupt: the new key is written to
//! `<key file>.next` (and synced) before any row changes, every row is re-sealed in one
//! transaction under it, and only then does it replace the key file, the old one kept as
//! `<key file>.retired-<key id>` for backups made before. A start that finds `.next` opens rows
//! under either key; running the rotation again finishes it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use switchboard_engine::{Keyring, MasterKey, Resealed, Store};

use crate::Config;

/// Name of the key file beside a SQLite database, and in `./data/` with PostgreSQL.
const KEY_FILE_NAME: &str = "switchboard.key";

/// The keys this configuration seals and opens with; creates the key file on first start when
/// no key is configured.
pub fn keyring(config: &Config) -> anyhow::Result<Keyring> {
    let previous = configured_previous_keys(config)?;
    if let Some(key) = &config.secrets.master_key {
        let key = MasterKey::parse(key.expose()).context("secrets.master_key")?;
        return Ok(Keyring::new(key, previous));
    }
    let Some(path) = key_file_path(config) else {
        // An in-memory database lives no longer than this process; neither need its key.
        return Ok(Keyring::ephemeral()?);
    };
    let current = match read_key_file(&path)? {
        Some(key) => key,
        None => create_key_file(&path)?,
    };
    let mut opening = previous;
    if let Some(next) = read_key_file(&next_path(&path))? {
        tracing::warn!(
            key_id = %next.id(),
            "a key rotation did not finish: run `switchboard keys rotate` again"
        );
        opening.push(next);
    }
    Ok(Keyring::new(current, opening))
}

/// A new key in a new key file at `path`; the key of the file another process made at the same
/// moment, if one did.
fn create_key_file(path: &Path) -> anyhow::Result<MasterKey> {
    let key = MasterKey::generate()?;
    match write_key_file(path, &key) {
        Ok(()) => {
            tracing::warn!(
                path = %path.display(),
                key_id = %key.id(),
                "created the master key file that seals secrets in the database: back it up \
                 apart from the database, or set SWITCHBOARD_MASTER_KEY"
            );
            Ok(key)
        }
        Err(error) => match read_key_file(path)? {
            Some(theirs) => Ok(theirs),
            None => Err(error),
        },
    }
}

/// Where the key file is: `secrets.key_file`, else beside the SQLite database, else
/// `./data/switchboard.key`; `None` for an in-memory database.
pub fn key_file_path(config: &Config) -> Option<PathBuf> {
    if let Some(path) = &config.secrets.key_file {
        return Some(path.clone());
    }
    let url = config.database.url.expose();
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Some(Path::new("data").join(KEY_FILE_NAME));
    };
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || path.contains("mode=memory") {
        return None;
    }
    let directory = Path::new(path).parent().unwrap_or(Path::new(""));
    Some(directory.join(KEY_FILE_NAME))
}

/// What a rotation did.
pub struct Rotation {
    pub from: Option<String>,
    pub to: String,
    pub resealed: Resealed,
    /// Where the retired key was kept, when it came from a key file.
    pub retired: Option<PathBuf>,
}

/// Re-seals every secret under a new key. With a key file: a new key replaces it. With a
/// configured key: everything is re-sealed under `secrets.master_key`, opening what
/// `secrets.previous_keys` sealed (set the new key there first).
pub async fn rotate(config: &Config) -> anyhow::Result<Rotation> {
    if config.secrets.master_key.is_some() {
        let keyring = keyring(config)?;
        let resealed = reseal(config, keyring.clone()).await?;
        return Ok(Rotation {
            from: None,
            to: keyring.current().id().to_string(),
            resealed,
            retired: None,
        });
    }
    let path = key_file_path(config).context("an in-memory database has no key file to rotate")?;
    let current = read_key_file(&path)?.with_context(|| {
        format!(
            "no key file at {}: start the server once first, or configure secrets.key_file",
            path.display()
        )
    })?;
    let next_path = next_path(&path);
    let next = match read_key_file(&next_path)? {
        Some(next) => next,
        None => {
            let next = MasterKey::generate()?;
            write_key_file(&next_path, &next)?;
            next
        }
    };
    let mut opening = configured_previous_keys(config)?;
    opening.push(current.clone());
    let resealed = reseal(config, Keyring::new(next.clone(), opening)).await?;
    let retired = path.with_file_name(format!("{}.retired-{}", file_name(&path), current.id()));
    std::fs::rename(&path, &retired)
        .with_context(|| format!("keeping the old key as {}", retired.display()))?;
    std::fs::rename(&next_path, &path)
        .with_context(|| format!("moving the new key into {}", path.display()))?;
    sync_directory(&path)?;
    Ok(Rotation {
        from: Some(current.id().to_string()),
        to: next.id().to_string(),
        resealed,
        retired: Some(retired),
    })
}

/// Opens the store with `keyring`, migrates it and re-seals every secret in one transaction.
async fn reseal(config: &Config, keyring: Keyring) -> anyhow::Result<Resealed> {
    let store = Store::connect_with_keyring(config.store_options(), keyring)
        .await
        .context("opening the store")?;
    store.migrate().await.context("migrating the store")?;
    let resealed = store
        .seal_secrets()
        .await
        .context("re-sealing the stored secrets");
    store.close().await;
    resealed
}

fn configured_previous_keys(config: &Config) -> anyhow::Result<Vec<MasterKey>> {
    config
        .secrets
        .previous_keys
        .iter()
        .map(|key| MasterKey::parse(key.expose()).context("secrets.previous_keys"))
        .collect()
}

fn next_path(path: &Path) -> PathBuf {
    path.with_file_name(format!("{}.next", file_name(path)))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| KEY_FILE_NAME.to_owned())
}

/// The key in the file at `path`, or `None` when there is no file.
fn read_key_file(path: &Path) -> anyhow::Result<Option<MasterKey>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(error).with_context(|| format!("reading the key file {}", path.display()));
        }
    };
    warn_if_readable_by_others(path);
    let key =
        MasterKey::parse(&text).with_context(|| format!("the key file {}", path.display()))?;
    Ok(Some(key))
}

/// Writes a new key file that only its owner may read, synced with its directory.
fn write_key_file(path: &Path, key: &MasterKey) -> anyhow::Result<()> {
    if let Some(directory) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(directory)
            .with_context(|| format!("creating {}", directory.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating the key file {}", path.display()))?;
    writeln!(file, "{}", key.encoded())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing the key file {}", path.display()))?;
    sync_directory(path)
}

/// Makes a file's creation or renaming durable.
fn sync_directory(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    if let Some(directory) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::File::open(directory)
            .and_then(|directory| directory.sync_all())
            .with_context(|| format!("syncing {}", directory.display()))?;
    }
    Ok(())
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path)
            && metadata.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %path.display(),
                "the master key file is readable by other users: chmod 600 it"
            );
        }
    }
}

#[cfg(test)]
mod tests;
