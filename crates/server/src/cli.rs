//! The command line: `switchboard serve | migrate | admin … | analytics … | keys … | config |
//! loadtest`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use switchboard_core::{Role, TenantId};

use crate::Overrides;

/// Switchboard: a conversation gateway for AI agents.
///
/// Runs on an embedded SQLite file by default (created on first start), or on PostgreSQL
/// with --database-url; several nodes over one PostgreSQL database with --redis-url. Settings come from defaults, then
/// ./switchboard.toml (or --config), then SWITCHBOARD_* environment variables, then flags.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, propagate_version = true)]
pub struct Cli {
    /// Read settings from this TOML file instead of ./switchboard.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Database: sqlite://path or postgres://user:password@host/database.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API (migrates the store and creates the first admin if needed).
    Serve {
        /// Address to listen on [default: 127.0.0.1:3000].
        #[arg(long, value_name = "HOST:PORT")]
        listen: Option<String>,
        /// Redis shared by the nodes of a cluster (PostgreSQL only).
        #[arg(long, value_name = "URL")]
        redis_url: Option<String>,
        /// What this node does: all, api or worker [default: all].
        #[arg(long, value_name = "ROLE")]
        role: Option<String>,
    },
    /// Apply pending store migrations and exit.
    Migrate,
    /// Create tenants, users and API keys from the command line.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Analytics upkeep.
    #[command(subcommand)]
    Analytics(AnalyticsCommand),
    /// The master key that seals secrets in the database (docs/security.md).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the effective configuration (secrets redacted) and exit.
    Config,
    /// Import a CSV file (gzip accepted): in-process against the configured database, or
    /// uploaded to a running server with --target. Shows progress, prints a summary, and
    /// writes the rows that were not applied to FILE.errors.csv.
    Import(ImportArgs),
    /// Load and correctness harness against a deployment or a spawned server (docs/loadtest.md).
    Loadtest(Box<switchboard_loadtest::LoadtestArgs>),
}

/// `switchboard import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The CSV file (a header row, a phone column; `.gz` accepted).
    pub file: PathBuf,
    /// What the rows are: contacts, or calls (contacts added to --campaign-id).
    #[arg(long, default_value = "contacts")]
    pub kind: String,
    /// With --kind calls: the draft or paused campaign the rows' contacts are added to.
    #[arg(long)]
    pub campaign_id: Option<String>,
    /// Country of national phone numbers (ISO 3166 alpha-2: US, GB, IL…).
    #[arg(long)]
    pub default_country: Option<String>,
    /// Upload to this server (http://host:port) instead of importing in-process.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// With --target: a bearer token or an API key (also SWITCHBOARD_TOKEN).
    #[arg(long, env = "SWITCHBOARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// In-process: the user the import acts as [default: the configured admin].
    #[arg(long)]
    pub username: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AnalyticsCommand {
    /// Recompute every roll-up from the raw rows (conversations, messages, runs, ledger), in
    /// one transaction, and print what was folded.
    Rebuild,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Re-seal every stored secret under a new master key, in one transaction. With a key
    /// file, a new key replaces it (the old one is kept as `<file>.retired-<id>`); with
    /// SWITCHBOARD_MASTER_KEY, everything is re-sealed under it, opened with
    /// secrets.previous_keys. Run it with the server stopped.
    Rotate,
    /// Print a new random master key (base64) for SWITCHBOARD_MASTER_KEY.
    Generate,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a tenant; prints it as JSON.
    CreateTenant {
        #[arg(long)]
        name: String,
    },
    /// Create a user in a tenant; prints it as JSON.
    CreateUser {
        /// The tenant's id.
        #[arg(long)]
        tenant: TenantId,
        #[arg(long)]
        username: String,
        /// The password (or set SWITCHBOARD_NEW_USER_PASSWORD to keep it out of shell history).
        #[arg(long, env = "SWITCHBOARD_NEW_USER_PASSWORD", hide_env_values = true)]
        password: String,
        /// platform-admin, admin, agent or viewer.
        #[arg(long, default_value = "admin")]
        role: Role,
        #[arg(long)]
        external_id: Option<String>,
    },
    /// Create an API key acting for a user; prints the key once.
    CreateApiKey {
        /// The username the key acts for.
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// At most the user's role [default: the user's role].
        #[arg(long)]
        role: Option<Role>,
    },
}

impl Cli {
    /// The flags that override configuration.
    pub fn overrides(&self) -> Overrides {
        let (listen, redis_url, role) = match &self.command {
            Command::Serve {
                listen,
                redis_url,
                role,
            } => (listen.clone(), redis_url.clone(), role.clone()),
            _ => (None, None, None),
        };
        Overrides {
            listen,
            database_url: self.database_url.clone(),
            redis_url,
            role,
        }
    }
}
