//! The key file: created once, readable by its owner only, and where the configuration says.

use super::{key_file_path, keyring};
use crate::{Config, DatabaseUrl};

fn config_in(directory: &std::path::Path) -> Config {
    let mut config = Config::default();
    let url = format!("sqlite://{}", directory.join("switchboard.db").display());
    config.database.url = DatabaseUrl::parse(url).unwrap_or_else(|error| panic!("{error}"));
    config
}

#[test]
fn the_key_file_is_made_once_beside_the_database_for_its_owner_only() -> anyhow::Result<()> {
    let directory = tempfile::tempdir()?;
    let config = config_in(directory.path());
    let path = key_file_path(&config).ok_or_else(|| anyhow::anyhow!("no key file"))?;
    assert_eq!(path, directory.path().join("switchboard.key"));
    let first = keyring(&config)?;
    let again = keyring(&config)?;
    assert_eq!(
        first.current().id(),
        again.current().id(),
        "the file is read back"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    Ok(())
}

#[test]
fn a_configured_key_wins_and_a_malformed_one_is_refused() -> anyhow::Result<()> {
    let directory = tempfile::tempdir()?;
    let mut config = config_in(directory.path());
    let key = switchboard_engine::MasterKey::generate()?;
    config.secrets.master_key = Some(crate::Secret::new(key.encoded()));
    assert_eq!(keyring(&config)?.current().id(), key.id());
    assert!(
        !directory.path().join("switchboard.key").exists(),
        "no key file when a key is configured"
    );
    config.secrets.master_key = Some(crate::Secret::new("too-short"));
    assert!(keyring(&config).is_err());
    Ok(())
}

#[test]
fn postgres_keeps_its_key_file_in_the_data_directory() -> anyhow::Result<()> {
    let mut config = Config::default();
    config.database.url = DatabaseUrl::parse("postgres://switchboard@localhost/switchboard")?;
    assert_eq!(
        key_file_path(&config),
        Some(std::path::Path::new("data").join("switchboard.key"))
    );
    config.secrets.key_file = Some("/etc/switchboard/master.key".into());
    assert_eq!(
        key_file_path(&config),
        Some("/etc/switchboard/master.key".into())
    );
    Ok(())
}
