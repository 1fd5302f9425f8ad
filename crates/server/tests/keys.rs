//! `switchboard keys rotate` and the master key at start: secrets written through the engine
//! survive a rotation, the key file is replaced and the old key retired, and a server given
//! the wrong key refuses to start, naming the key it needs.

use switchboard_core::{ChannelKind, TenantId};
use switchboard_engine::{ChannelInput, Engine, MasterKey};
use switchboard_server::{App, Config, DatabaseUrl, Secret, keys};

fn config_in(directory: &std::path::Path) -> anyhow::Result<Config> {
    let mut config = Config::default();
    let url = format!("sqlite://{}", directory.join("switchboard.db").display());
    config.database.url = DatabaseUrl::parse(url)?;
    config.auth.admin_password = Some(Secret::new("a-long-enough-password"));
    Ok(config)
}

/// Creates a tenant with an API channel signed by `secret`; returns the tenant.
async fn write_channel(config: &Config, secret: &str) -> anyhow::Result<TenantId> {
    let (app, _) = App::build(config).await?;
    let engine = app.engine();
    let nobody = Engine::operator(TenantId::from_uuid(Default::default()));
    let tenant = engine.create_tenant(&nobody, "keys").await?;
    let input = ChannelInput {
        kind: ChannelKind::Api,
        name: "app".into(),
        agent_id: None,
        config: serde_json::json!({"signingSecret": secret}),
    };
    engine
        .create_channel(&Engine::operator(tenant.id), input)
        .await?;
    engine.shutdown().await;
    Ok(tenant.id)
}

async fn read_secret(config: &Config, tenant_id: TenantId) -> anyhow::Result<String> {
    let (app, _) = App::build(config).await?;
    let operator = Engine::operator(tenant_id);
    let channels = app
        .engine()
        .list_channels(&operator, &Default::default())
        .await?;
    app.engine().shutdown().await;
    let channel = channels
        .data
        .first()
        .ok_or_else(|| anyhow::anyhow!("no channel"))?;
    Ok(channel.config.to_json()["signingSecret"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_replaces_the_key_file_and_keeps_every_secret() -> anyhow::Result<()> {
    let directory = tempfile::tempdir()?;
    let config = config_in(directory.path())?;
    let tenant_id = write_channel(&config, "sbsig_rotate-me-0f9e").await?;
    let key_file = directory.path().join("switchboard.key");
    for entry in std::fs::read_dir(directory.path())? {
        let path = entry?.path();
        if path == key_file {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        assert!(
            !bytes
                .windows("sbsig_rotate-me-0f9e".len())
                .any(|window| window == b"sbsig_rotate-me-0f9e"),
            "the secret is readable in {}",
            path.display()
        );
    }
    let before = MasterKey::parse(&std::fs::read_to_string(&key_file)?)?;

    let rotation = keys::rotate(&config).await?;
    assert_eq!(rotation.from.as_deref(), Some(before.id().as_str()));
    assert!(rotation.resealed.sealed >= 1);
    let after = MasterKey::parse(&std::fs::read_to_string(&key_file)?)?;
    assert_eq!(after.id().as_str(), rotation.to);
    assert_ne!(after.id(), before.id());
    let retired = rotation
        .retired
        .ok_or_else(|| anyhow::anyhow!("the old key is kept"))?;
    assert_eq!(
        MasterKey::parse(&std::fs::read_to_string(&retired)?)?.id(),
        before.id()
    );
    assert!(!directory.path().join("switchboard.key.next").exists());

    assert_eq!(
        read_secret(&config, tenant_id).await?,
        "sbsig_rotate-me-0f9e"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_the_wrong_key_refuses_to_start() -> anyhow::Result<()> {
    let directory = tempfile::tempdir()?;
    let mut config = config_in(directory.path())?;
    let right = MasterKey::generate()?;
    config.secrets.master_key = Some(Secret::new(right.encoded()));
    write_channel(&config, "sbsig_wrong-key-77c1").await?;

    config.secrets.master_key = Some(Secret::new(MasterKey::generate()?.encoded()));
    let error = match App::build(&config).await {
        Ok(_) => anyhow::bail!("started with the wrong key"),
        Err(error) => format!("{error:#}"),
    };
    assert!(
        error.contains(right.id().as_str()) && error.contains("not configured"),
        "the error names the key it needs: {error}"
    );

    // Rotating to a new configured key: the old one listed as previous.
    let new = MasterKey::generate()?;
    config.secrets.master_key = Some(Secret::new(new.encoded()));
    config.secrets.previous_keys = vec![Secret::new(right.encoded())];
    let rotation = keys::rotate(&config).await?;
    assert_eq!(rotation.to, new.id().as_str());
    config.secrets.previous_keys.clear();
    let (app, _) = App::build(&config).await?;
    app.engine().shutdown().await;
    Ok(())
}
