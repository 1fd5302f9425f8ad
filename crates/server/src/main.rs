//! `switchboard`: see `switchboard --help`.

use anyhow::Context;
use clap::Parser;
use switchboard_engine::{ApiKeyInput, Bootstrap, Engine, UserInput};
use switchboard_server::cli::{AdminCommand, AnalyticsCommand, Cli, Command, KeysCommand};
use switchboard_server::{App, Config, telemetry};
use tokio_util::sync::CancellationToken;

/// glibc's allocator spent a seventh of the server's time under load (much of it giving memory
/// back to the system and faulting it in again); mimalloc keeps per-thread pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref(), &cli.overrides())?;
    telemetry::init_logging(
        &config.logging.level,
        config.logging.format,
        config.log_node(),
    );
    match cli.command {
        Command::Serve { .. } => serve(config).await,
        Command::Migrate => {
            let (app, bootstrap) = App::build(&config).await?;
            announce(bootstrap);
            app.engine().shutdown().await;
            println!("store is up to date");
            Ok(())
        }
        Command::Admin(command) => admin(config, command).await,
        Command::Analytics(AnalyticsCommand::Rebuild) => {
            let (app, bootstrap) = App::build(&config).await?;
            announce(bootstrap);
            let started = std::time::Instant::now();
            let rebuilt = app.engine().rebuild_analytics().await?;
            app.engine().shutdown().await;
            println!(
                "analytics rebuilt from {} facts in {:.1} s",
                rebuilt.facts,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Keys(command) => keys(config, command).await,
        Command::Config => {
            print!("{}", config.redacted_toml());
            Ok(())
        }
        Command::Loadtest(args) => loadtest(*args, cli.database_url).await,
        Command::Import(args) => {
            let import = switchboard_server::import::run(&config, args).await?;
            if import.status == switchboard_core::ImportStatus::Failed {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

/// `switchboard loadtest`; exits with 99 when a threshold, a correctness check or the baseline
/// comparison fails.
async fn loadtest(
    mut args: switchboard_loadtest::LoadtestArgs,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    args.database_url = database_url;
    let verdict = switchboard_loadtest::run(args).await?;
    if !verdict.passed {
        std::process::exit(verdict.exit_code());
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // Held until the process ends: the file's node is this one.
    let _only_node = switchboard_server::lock_sqlite_file(config.database.url.expose())?;
    let (app, bootstrap) = App::build(&config).await?;
    announce(bootstrap);
    let address = config.http.listen;
    let listener =
        switchboard_api::listen(address).with_context(|| format!("binding {address}"))?;
    tracing::info!(
        %address,
        backend = app.engine().backend().as_str(),
        startup_ms = started.elapsed().as_millis() as u64,
        "switchboard listening"
    );
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    app.start_pipeline(&shutdown).await?;
    app.serve(listener, shutdown).await?;
    tracing::info!("switchboard stopped");
    Ok(())
}

/// `switchboard keys`.
async fn keys(config: Config, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Generate => {
            println!("{}", switchboard_engine::MasterKey::generate()?.encoded());
        }
        KeysCommand::Rotate => {
            // Held until the rotation ends: no server may write meanwhile.
            let _only_node = switchboard_server::lock_sqlite_file(config.database.url.expose())?;
            let rotation = switchboard_server::keys::rotate(&config).await?;
            println!(
                "re-sealed {} of {} stored secrets under master key {}{}",
                rotation.resealed.sealed,
                rotation.resealed.checked,
                rotation.to,
                rotation
                    .from
                    .map(|from| format!(" (was {from})"))
                    .unwrap_or_default()
            );
            if let Some(retired) = rotation.retired {
                println!(
                    "the old key is kept in {} for backups made before; store it apart or delete it",
                    retired.display()
                );
            }
        }
    }
    Ok(())
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
async fn stop_on_signal(shutdown: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
    shutdown.cancel();
}

/// Tells the operator what the first start created; a generated password is shown only here.
fn announce(bootstrap: Option<Bootstrap>) {
    let Some(bootstrap) = bootstrap else { return };
    tracing::info!(
        tenant = %bootstrap.tenant.id,
        username = %bootstrap.admin.username,
        "created the default tenant and its platform admin"
    );
    if let Some(password) = bootstrap.generated_password {
        eprintln!(
            "\n  First start: created platform admin `{}` with password\n\n      {password}\n\n  It is shown only once. Set SWITCHBOARD_ADMIN_PASSWORD to choose it instead.\n",
            bootstrap.admin.username
        );
    }
}

async fn admin(config: Config, command: AdminCommand) -> anyhow::Result<()> {
    let (app, bootstrap) = App::build(&config).await?;
    announce(bootstrap);
    let engine = app.engine();
    // The operator belongs to no tenant, so every tenant it names is checked to exist.
    let operator = Engine::operator(switchboard_core::TenantId::from_uuid(Default::default()));
    let output = match command {
        AdminCommand::CreateTenant { name } => {
            serde_json::to_value(engine.create_tenant(&operator, &name).await?)?
        }
        AdminCommand::CreateUser {
            tenant,
            username,
            password,
            role,
            external_id,
        } => {
            let input = UserInput {
                username,
                password,
                role,
                tenant_id: Some(tenant),
                external_id,
                name: None,
                email: None,
            };
            serde_json::to_value(engine.create_user(&operator, input).await?)?
        }
        AdminCommand::CreateApiKey {
            username,
            name,
            role,
        } => {
            let caller = engine.caller_for_username(&username).await?;
            let issued = engine
                .create_api_key(&caller, ApiKeyInput { name, role })
                .await?;
            let mut value = serde_json::to_value(issued.api_key)?;
            value["key"] = serde_json::Value::String(issued.key);
            value
        }
    };
    engine.shutdown().await;
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(())
}
