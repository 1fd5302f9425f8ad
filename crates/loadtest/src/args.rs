//! `switchboard loadtest` flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::plan::Profile;
use crate::provider::Fault;
use crate::quantity::{Stage, parse_duration, parse_percent, parse_rate, parse_stage};
use crate::scenario::Scenario;

/// Load and correctness harness: drive a Switchboard deployment (or one it starts) through its
/// public HTTP API and webhooks, measure latency without coordinated omission, check replies for
/// loss, duplicates and order, and fail on thresholds or regressions (exit status 99).
#[derive(Debug, Clone, Args)]
pub struct LoadtestArgs {
    /// A running deployment: http://host:port (or https://…). For a cluster, its nodes'
    /// URLs separated by commas: setup goes to the first, load to all (docs/loadtest.md).
    #[arg(long, value_name = "URL[,URL…]", conflicts_with = "spawn")]
    pub target: Option<String>,

    /// Start `switchboard serve` (this executable) on a free loopback port with a temporary
    /// SQLite store (or the global --database-url), seed it, and stop it afterwards.
    #[arg(long)]
    pub spawn: bool,

    /// The executable --spawn starts [default: this one].
    #[arg(long, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,

    /// User to log in as (seeding and REST need a platform admin or tenant admin).
    #[arg(long, env = "SWITCHBOARD_ADMIN_USERNAME", default_value = "admin")]
    pub username: String,

    #[arg(long, env = "SWITCHBOARD_ADMIN_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// An API key (X-API-Key) instead of a username and password.
    #[arg(long, env = "SWITCHBOARD_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// What to run. Several (repeat the flag or separate with commas, `graphql-me,rest-me`) run
    /// one after another against the same server and seeded data, each a run of its own.
    #[arg(
        long = "scenario",
        value_enum,
        value_delimiter = ',',
        default_value = "health"
    )]
    pub scenarios: Vec<Scenario>,

    /// Run the scenarios this many times over, alternating (A, B, A, B, …); the table ends with
    /// each scenario's medians over its runs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,

    #[arg(long, value_enum, default_value = "smoke")]
    pub profile: Profile,

    /// Virtual users (closed model), or connections for the open model.
    #[arg(long)]
    pub vus: Option<u32>,

    /// Length of the run (per step for breakpoint), e.g. 30s, 5m.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Ramp to TARGET VUs over DURATION; repeat for more stages (e.g. --stage 30s:50 --stage 1m:50).
    #[arg(long = "stage", value_name = "DURATION:TARGET", value_parser = parse_stage)]
    pub stages: Vec<Stage>,

    /// Open model: this many arrivals per second (e.g. 1000/s); latency counts from the
    /// scheduled send time. For breakpoint, the starting rate.
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Pause between a VU's iterations (closed model).
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub think_time: Duration,

    /// Pass/fail criterion, e.g. 'p95<200ms', 'errors<1%', 'rate>=1000/s', 'order_violations==0',
    /// 'e2e.p99<2s'. Repeatable; any failure exits with 99.
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,

    /// Write the results as JSON (schema in docs/loadtest.md).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Compare with an earlier --out file; a regression beyond --regression exits with 99.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Allowed worsening of each percentile and of throughput against --baseline.
    #[arg(long, value_parser = parse_percent, default_value = "20%")]
    pub regression: f64,

    /// Latency differences below this are noise for --baseline.
    #[arg(long, value_parser = parse_duration, default_value = "1ms")]
    pub regression_floor: Duration,

    /// Write a self-contained HTML report with latency and throughput charts.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Sample this process's resident memory (automatic with --spawn).
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,

    /// Run a predefined suite instead of one scenario.
    #[arg(long, value_enum)]
    pub suite: Option<Suite>,

    /// WhatsApp business numbers (channels) the webhook traffic is spread over.
    #[arg(long, default_value_t = 10)]
    pub business_numbers: usize,

    /// Simulated contacts (one conversation each); raised to the VU count if lower.
    #[arg(long, default_value_t = 100)]
    pub contacts: usize,

    /// Conversations seeded for the REST mix.
    #[arg(long, default_value_t = 50)]
    pub rest_conversations: usize,

    /// `scheduling`: how long each call the fake Twilio Voice dials lasts, from dial to its
    /// `completed` status callback (`0s`: no callbacks; the calls stay on the line).
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub call_length: Duration,

    /// After the load, how long to wait for outstanding replies (e2e, full) or dials
    /// (scheduling).
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub drain_timeout: Duration,

    /// Per-request timeout.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub timeout: Duration,

    /// Where the fake WhatsApp provider listens.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub provider_listen: String,

    /// The fake provider's URL as the server should call it (when the server is elsewhere).
    #[arg(long, value_name = "URL")]
    pub provider_url: Option<String>,

    /// Self-test: make the fake provider drop, duplicate or reorder one reply.
    #[arg(long, value_enum, hide = true)]
    pub inject_fault: Option<Fault>,

    /// No progress line.
    #[arg(long)]
    pub quiet: bool,

    /// The store --spawn uses (from the global --database-url flag).
    #[arg(skip)]
    pub database_url: Option<String>,
}

/// `--suite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Suite {
    /// Fifteen pass/fail checks, a subset of the reference targets (`docs/loadtest.md`).
    Seeds,
}
