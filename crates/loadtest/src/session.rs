//! A session: the target (spawned, or one or more given nodes), its credentials, what was
//! seeded, the fake provider and the checker — set up once, then used by one run, a breakpoint
//! search's steps, or the suite's parts. Setup and the drain's queue statistics go to the first
//! node; the queue statistics count stored entries, which every node shares.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::checker::{Checker, Correctness};
use crate::cluster::{Cluster, NodeIndex};
use crate::cpu::CpuClock;
use crate::error::LoadtestError;
use crate::executor::drive;
use crate::http::{Connection, Endpoint};
use crate::memory::MemorySampler;
use crate::metrics::{Aggregator, NodeCount, ProgressStyle};
use crate::plan::LoadModel;
use crate::provider::{FakeProvider, FaultPlan};
use crate::report::{DrainReport, NodeReport, RunReport};
use crate::scenario::{Scenario, ScenarioContext, VoiceTraffic, WebhookTraffic, WsTraffic};
use crate::target::{
    Auth, Credentials, Fixture, SeedOptions, SpawnOptions, SpawnedServer, get_json, seed,
};
use crate::voice::{CallCorrectness, FakeVoice};

/// What a session needs to set up.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// `--target` (base URLs separated by commas), when not spawning.
    pub target: Option<String>,
    pub spawn: Option<SpawnOptions>,
    pub credentials: Option<Credentials>,
    pub request_timeout: Duration,
    /// The scenarios this session will run (decides what to seed).
    pub scenarios: Vec<Scenario>,
    pub business_numbers: usize,
    pub contacts: usize,
    pub rest_conversations: usize,
    pub provider_listen: String,
    pub provider_url: Option<String>,
    pub fault: Option<FaultPlan>,
    pub server_pid: Option<u32>,
    /// How long the fake Twilio Voice's calls last (zero: no status callbacks).
    pub call_length: Duration,
}

pub struct Session {
    pub cluster: Cluster,
    pub server: Option<SpawnedServer>,
    pub auth: Option<Auth>,
    pub fixture: Option<Fixture>,
    pub provider: Option<FakeProvider>,
    pub checker: Option<Arc<Mutex<Checker>>>,
    pub traffic: Option<Arc<WebhookTraffic>>,
    /// The fake Twilio Voice and the voice channels calling through it (`scheduling`).
    pub voice: Option<FakeVoice>,
    pub voice_traffic: Option<Arc<VoiceTraffic>>,
    pub memory: Option<MemorySampler>,
    /// The server whose processor time each run reports (spawned, or `--server-pid`).
    pub server_pid: Option<u32>,
    pub run_id: String,
}

impl Session {
    pub async fn open(options: &SessionOptions) -> Result<Session, LoadtestError> {
        let run_number: u32 = rand::random::<u32>() % 100_000;
        let run_id = format!("{run_number:05}{}", crate::target::random_hex(2));
        let server = match &options.spawn {
            Some(spawn) => {
                eprintln!(
                    "switchboard loadtest: starting `{}` …",
                    spawn.program.display()
                );
                Some(SpawnedServer::start(spawn).await?)
            }
            None => None,
        };
        let cluster = match (&server, &options.target) {
            (Some(server), _) => Cluster::single(Arc::new(Endpoint::parse(
                &server.base_url,
                options.request_timeout,
            )?)),
            (None, Some(target)) => Cluster::parse(target, options.request_timeout)?,
            (None, None) => {
                return Err(LoadtestError::InvalidOption {
                    option: "target",
                    message: "give --target http://host:port (several separated by commas) or \
                              --spawn"
                        .into(),
                });
            }
        };
        let endpoint = cluster.setup().clone();
        let needs_fixture = options
            .scenarios
            .iter()
            .any(|scenario| scenario.needs_fixture());
        let credentials = server
            .as_ref()
            .map(|server| server.credentials.clone())
            .or_else(|| options.credentials.clone());
        let needs_credentials = options
            .scenarios
            .iter()
            .any(|scenario| scenario.needs_credentials());
        let auth = match (&credentials, needs_fixture) {
            (Some(credentials), true) => {
                Some(Auth::establish(endpoint.clone(), credentials).await?)
            }
            (None, true) if needs_credentials => {
                return Err(LoadtestError::MissingCredentials("this scenario"));
            }
            _ => None,
        };
        let sends_webhooks = options
            .scenarios
            .iter()
            .any(|scenario| scenario.sends_webhooks());
        let server_pid = options
            .server_pid
            .or(server.as_ref().map(|server| server.pid));
        let mut session = Session {
            cluster,
            memory: server_pid.map(MemorySampler::start),
            server_pid,
            server,
            auth: auth.clone(),
            fixture: None,
            provider: None,
            checker: None,
            traffic: None,
            voice: None,
            voice_traffic: None,
            run_id: run_id.clone(),
        };
        let Some(auth) = auth else {
            return Ok(session);
        };
        // The checker needs the seeded channels and the channels need the provider's URL: start
        // the provider with an empty checker, then swap in the real one.
        let checker = Arc::new(Mutex::new(Checker::new(&run_id, Vec::new())));
        let provider = if sends_webhooks {
            Some(
                FakeProvider::start(
                    &options.provider_listen,
                    options.provider_url.clone(),
                    Arc::clone(&checker),
                    options.fault,
                )
                .await?,
            )
        } else {
            None
        };
        let needs_conversations = options
            .scenarios
            .iter()
            .any(|scenario| scenario.needs_conversations());
        let seed_options = SeedOptions {
            run_id: run_id.clone(),
            business_numbers: if sends_webhooks {
                options.business_numbers
            } else {
                1
            },
            provider_url: provider
                .as_ref()
                .map_or_else(|| "http://127.0.0.1:9".to_owned(), FakeProvider::base_url),
            rest_conversations: if needs_conversations {
                options.rest_conversations
            } else {
                0
            },
        };
        let nodes = session.cluster.nodes().len();
        if nodes > 1 {
            eprintln!(
                "switchboard loadtest: seeding {} (the first of {nodes} nodes) …",
                endpoint.base()
            );
        } else {
            eprintln!("switchboard loadtest: seeding {} …", endpoint.base());
        }
        let fixture = seed(endpoint.clone(), &auth, &seed_options).await?;
        if fixture.auth.user_id().is_none()
            && let Some(scenario) = options
                .scenarios
                .iter()
                .find(|scenario| scenario.needs_caller_id())
        {
            return Err(LoadtestError::InvalidOption {
                option: "api-key",
                message: format!(
                    "{} reads the caller's user by id, which an API key does not tell: \
                     log in with --username and --password",
                    scenario.name()
                ),
            });
        }
        if sends_webhooks {
            let traffic = WebhookTraffic::new(
                &run_id,
                run_number,
                fixture.channels.clone(),
                options.contacts,
            );
            *checker.lock().unwrap_or_else(PoisonError::into_inner) = traffic.checker_for();
            session.traffic = Some(Arc::new(traffic.with_checker(Arc::clone(&checker))));
            session.checker = Some(checker);
        }
        if options
            .scenarios
            .iter()
            .any(|scenario| scenario.places_calls())
        {
            let host = options
                .provider_listen
                .rsplit_once(':')
                .map_or(options.provider_listen.as_str(), |(host, _)| host);
            let voice = FakeVoice::start(host, options.call_length).await?;
            session.voice_traffic = Some(Arc::new(VoiceTraffic::new(
                voice.ledger(),
                voice.base_url(),
            )));
            session.voice = Some(voice);
        }
        session.provider = provider;
        session.fixture = Some(fixture);
        Ok(session)
    }

    /// Where `ws` workers connect and publish: a broadcast stream of their own per run.
    fn ws_traffic(&self, name: &str) -> Option<WsTraffic> {
        let fixture = self.fixture.as_ref()?;
        let slug: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        Some(WsTraffic {
            cluster: self.cluster.clone(),
            headers: fixture.auth.headers(),
            stream: format!("broadcast:loadtest-{}-{slug}", self.run_id),
            timeout: self.cluster.setup().timeout(),
        })
    }

    /// One run of `scenario` under `model`; with `drain`, waits afterwards (up to that long)
    /// for the replies to every acknowledged message.
    pub async fn run(
        &self,
        name: &str,
        scenario: Scenario,
        model: &LoadModel,
        progress: ProgressStyle,
        stop: &CancellationToken,
        drain: Option<Duration>,
    ) -> RunReport {
        let primary = scenario.primary();
        let (sink, handle) = Aggregator::start(name.to_owned(), primary.clone(), progress);
        if let Some(provider) = self.provider.as_ref().filter(|_| scenario.checks_replies()) {
            provider.set_sink(Some(sink.clone()));
        }
        let voice = if scenario.places_calls() {
            self.prepare_calls(model, &sink).await
        } else {
            None
        };
        let context = Arc::new(ScenarioContext {
            scenario,
            cluster: self.cluster.clone(),
            fixture: self.fixture.clone(),
            traffic: self.traffic.clone(),
            ws: (scenario == Scenario::Ws)
                .then(|| self.ws_traffic(name))
                .flatten(),
            voice,
        });
        let cpu = CpuClock::start(self.server_pid);
        let load = drive(model, context, &sink, stop).await;
        let (drain, calls) = match drain {
            Some(timeout) if scenario.checks_replies() => {
                (Some(self.drain(timeout, stop).await), None)
            }
            _ if scenario.places_calls() => {
                let timeout = drain.unwrap_or(Duration::from_secs(60));
                match self.drain_calls(timeout, stop).await {
                    Some((drain, calls)) => (Some(drain), Some(calls)),
                    None => (None, None),
                }
            }
            _ => (None, None),
        };
        if let Some(provider) = &self.provider {
            provider.set_sink(None);
        }
        drop(sink);
        let measured = handle.finish(load).await;
        let nodes = self.node_reports(&measured.nodes);
        let metrics = measured.metrics;
        let operations = primary
            .first()
            .and_then(|metric| metrics.get(metric.name()))
            .map_or(0, |metric| metric.count);
        RunReport {
            name: name.to_owned(),
            scenario: scenario.name().to_owned(),
            model: model.clone(),
            duration_secs: load.as_secs_f64(),
            primary: primary
                .iter()
                .map(|metric| metric.name().to_owned())
                .collect(),
            metrics,
            nodes,
            drain,
            calls,
            cpu: cpu.and_then(|cpu| cpu.finish(operations)),
        }
    }

    /// Before a `scheduling` run: enough voice channels for its calls due now (a caller number
    /// dials one a second: the due-now rate and a quarter more), a fresh ledger timing dials
    /// into `sink`, and the run's number.
    async fn prepare_calls(
        &self,
        model: &LoadModel,
        sink: &crate::metrics::SampleSink,
    ) -> Option<(Arc<VoiceTraffic>, u32)> {
        let (traffic, voice, fixture) = (
            self.voice_traffic.as_ref()?,
            self.voice.as_ref()?,
            self.fixture.as_ref()?,
        );
        let channels = match model {
            LoadModel::Open { rate, .. } => (rate / 2.0 * 1.25).ceil() as usize + 1,
            LoadModel::Closed { .. } => 64,
        };
        let mut connection = Connection::new(self.cluster.setup().clone());
        if let Err(error) = traffic
            .ensure_channels(&mut connection, &fixture.auth, channels)
            .await
        {
            eprintln!("switchboard loadtest: could not make the voice channels: {error:?}");
        }
        traffic.ledger.begin(Some(sink.clone()));
        voice.reset_most_live();
        Some((Arc::clone(traffic), traffic.next_run()))
    }

    /// After a `scheduling` run: waits (up to `timeout`) until every call placed due now has
    /// been dialled, then tells what was placed and dialled.
    async fn drain_calls(
        &self,
        timeout: Duration,
        stop: &CancellationToken,
    ) -> Option<(DrainReport, CallCorrectness)> {
        let (traffic, voice) = (self.voice_traffic.as_ref()?, self.voice.as_ref()?);
        let ledger = &traffic.ledger;
        let queued_at_end = ledger.queued();
        let started = Instant::now();
        let mut report = DrainReport::default();
        while ledger.queued() > 0 && !stop.is_cancelled() {
            if started.elapsed() >= timeout {
                report.timed_out = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        report.waited_secs = started.elapsed().as_secs_f64();
        ledger.end();
        let calls = CallCorrectness {
            queued_at_end,
            most_live: voice.counts().most_live as u64,
            ..ledger.correctness()
        };
        Some((report, calls))
    }

    /// Against several nodes, the base URLs in `--target` order; empty against one.
    pub fn node_names(&self) -> Vec<String> {
        let nodes = self.cluster.nodes();
        if nodes.len() < 2 {
            return Vec::new();
        }
        nodes.iter().map(|node| node.base().to_owned()).collect()
    }

    /// Each node's figures of a run, in `--target` order (a node sent nothing shows zeros);
    /// nothing against one node.
    fn node_reports(&self, counts: &BTreeMap<NodeIndex, NodeCount>) -> Vec<NodeReport> {
        self.node_names()
            .into_iter()
            .enumerate()
            .map(|(index, node)| {
                let count = counts.get(&NodeIndex(index)).copied().unwrap_or_default();
                NodeReport {
                    node,
                    requests: count.requests,
                    errors: count.errors,
                }
            })
            .collect()
    }

    /// Waits until every acknowledged message has its reply, or the server's queue has been
    /// empty for three polls in a row (what is still missing then is lost), or `timeout`.
    pub async fn drain(&self, timeout: Duration, stop: &CancellationToken) -> DrainReport {
        let started = Instant::now();
        let mut connection = Connection::new(self.cluster.setup().clone());
        let headers = self
            .fixture
            .as_ref()
            .map(|fixture| fixture.auth.headers())
            .unwrap_or_default();
        let mut report = DrainReport::default();
        let mut empty_polls = 0;
        let mut last_received = (u64::MAX, Instant::now());
        loop {
            if self.outstanding() == 0 {
                // Everything owed arrived; what the queue still holds is not ours to wait for.
                report.pending_at_end = None;
                break;
            }
            match get_json::<Value>(
                &mut connection,
                "/api/v1/queue/stats",
                &headers,
                "queue stats",
            )
            .await
            {
                Ok(stats) => {
                    let count = |field: &str| {
                        stats
                            .pointer(&format!("/stored/{field}"))
                            .and_then(Value::as_i64)
                    };
                    let pending = count("pending").unwrap_or(0)
                        + count("sending").unwrap_or(0)
                        + count("accepted").unwrap_or(0);
                    report.pending_at_end = Some(pending);
                    report.dead = count("dead");
                    empty_polls = if pending == 0 { empty_polls + 1 } else { 0 };
                    if empty_polls >= 3 {
                        break;
                    }
                }
                Err(_) => {
                    // Without queue stats: stop once replies have not moved for five seconds.
                    let received = self.provider.as_ref().map_or(0, FakeProvider::received);
                    if received != last_received.0 {
                        last_received = (received, Instant::now());
                    } else if last_received.1.elapsed() > Duration::from_secs(5) {
                        break;
                    }
                }
            }
            if started.elapsed() >= timeout {
                report.timed_out = true;
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
                () = stop.cancelled() => break,
            }
        }
        report.waited_secs = started.elapsed().as_secs_f64();
        report
    }

    fn outstanding(&self) -> u64 {
        self.checker.as_ref().map_or(0, |checker| {
            checker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .outstanding()
        })
    }

    /// The checker's figures (after releasing anything a fault held back).
    pub fn correctness(&self) -> Option<Correctness> {
        if let Some(provider) = &self.provider {
            provider.release_held();
        }
        self.checker.as_ref().map(|checker| {
            checker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .correctness()
        })
    }

    pub async fn close(self) {
        if let Some(auth) = &self.auth {
            auth.stop();
        }
        if let Some(server) = self.server {
            server.stop().await;
        }
    }
}
