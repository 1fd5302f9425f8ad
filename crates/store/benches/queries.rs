//! Query latency of the store's hot reads at production size: a conversation's latest messages,
//! ranked full-text search, and the first page of the conversation list with unread counts.
//!
//! Seeds one tenant through the store's own append path (many appends in flight, so SQLite's
//! group commit batches them), then times each query kind one at a time with an HDR histogram.
//!
//! ```text
//! cargo bench -p switchboard-store --bench queries -- [--messages N] [--conversations M]
//!     [--iterations K] [--in-flight W] [--reuse PATH | --database-url URL]
//! ```
//!
//! `--reuse PATH` keeps the seeded SQLite file at PATH and, on later runs with the same sizes,
//! measures it again without reseeding; a `--database-url` that already holds a tenant seeded
//! with the same sizes is reused the same way. Without either, a temporary file is used.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use switchboard_core::{
    AuthorKind, ChannelConfig, ChannelKind, ConversationId, ConversationType, MessageDirection,
    MessageStatus, MessageType, Role, TenantId, UserId,
};
use switchboard_store::{
    ConversationFilter, DatabaseOptions, MessageOrder, NewChannel, NewContact, NewConversation,
    NewMessage, NewUser, PageRequest, SearchQuery, Store,
};

const USAGE: &str = "usage: queries [--messages N] [--conversations M] [--iterations K] \
                     [--in-flight W] [--reuse PATH | --database-url URL]";

/// The words messages are made of, most common first: word `n` appears with weight `1/(n+1)`
/// (Zipf), so the head is in almost every message and the tail in very few.
const WORDS: &[&str] = &[
    "the",
    "i",
    "to",
    "you",
    "a",
    "my",
    "is",
    "and",
    "it",
    "for",
    "order",
    "your",
    "we",
    "of",
    "on",
    "in",
    "have",
    "this",
    "can",
    "please",
    "not",
    "be",
    "thanks",
    "with",
    "me",
    "that",
    "hi",
    "what",
    "will",
    "when",
    "do",
    "delivery",
    "at",
    "are",
    "help",
    "just",
    "so",
    "was",
    "yes",
    "no",
    "there",
    "still",
    "an",
    "get",
    "if",
    "parcel",
    "refund",
    "today",
    "how",
    "but",
    "tracking",
    "number",
    "sorry",
    "from",
    "ok",
    "time",
    "address",
    "account",
    "payment",
    "all",
    "could",
    "would",
    "know",
    "need",
    "our",
    "they",
    "about",
    "store",
    "team",
    "check",
    "again",
    "new",
    "price",
    "item",
    "week",
    "back",
    "email",
    "phone",
    "hello",
    "tomorrow",
    "received",
    "sent",
    "update",
    "soon",
    "card",
    "invoice",
    "return",
    "shipping",
    "package",
    "shop",
    "morning",
    "afternoon",
    "evening",
    "issue",
    "problem",
    "wrong",
    "size",
    "colour",
    "exchange",
    "cancel",
    "confirm",
    "change",
    "login",
    "password",
    "reset",
    "link",
    "code",
    "discount",
    "voucher",
    "subscription",
    "plan",
    "billing",
    "charge",
    "charged",
    "twice",
    "bank",
    "transfer",
    "courier",
    "driver",
    "door",
    "neighbour",
    "missed",
    "collect",
    "pickup",
    "locker",
    "warehouse",
    "stock",
    "available",
    "restock",
    "preorder",
    "backorder",
    "estimate",
    "arrive",
    "arrived",
    "late",
    "early",
    "damaged",
    "broken",
    "missing",
    "box",
    "label",
    "receipt",
    "warranty",
    "repair",
    "replace",
    "replacement",
    "manager",
    "agent",
    "chat",
    "call",
    "callback",
    "queue",
    "wait",
    "waiting",
    "hours",
    "minutes",
    "days",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "weekend",
    "holiday",
    "opening",
    "closed",
    "branch",
    "location",
    "map",
    "directions",
    "parking",
    "appointment",
    "booking",
    "reservation",
    "table",
    "menu",
    "allergy",
    "gluten",
    "vegan",
    "spicy",
    "dessert",
    "coffee",
    "tea",
    "breakfast",
    "lunch",
    "dinner",
    "catering",
    "party",
    "birthday",
    "gift",
    "wrap",
    "message",
    "note",
    "flowers",
    "bouquet",
    "roses",
    "tulips",
    "vase",
    "bakery",
    "bread",
    "croissant",
    "cake",
    "custom",
    "design",
    "photo",
    "upload",
    "file",
    "document",
    "contract",
    "signature",
    "identity",
    "verify",
    "verification",
    "selfie",
    "passport",
    "licence",
    "insurance",
    "claim",
    "policy",
    "premium",
    "renewal",
    "quote",
    "mortgage",
    "loan",
    "interest",
    "rate",
    "fees",
    "statement",
    "balance",
    "overdraft",
    "pension",
    "savings",
    "dividend",
    "portfolio",
    "laptop",
    "charger",
    "battery",
    "screen",
    "keyboard",
    "mouse",
    "headphones",
    "speaker",
    "firmware",
    "bluetooth",
    "wifi",
    "router",
    "modem",
    "outage",
    "engineer",
    "installation",
    "meter",
    "reading",
    "tariff",
    "solar",
    "boiler",
    "radiator",
    "thermostat",
    "plumber",
    "leak",
    "tap",
    "shower",
    "tiles",
    "paint",
    "furniture",
    "sofa",
    "mattress",
    "wardrobe",
    "assembly",
    "screws",
    "instructions",
    "manual",
    "recipe",
    "ingredients",
    "oven",
    "fridge",
    "freezer",
    "dishwasher",
    "kettle",
    "toaster",
    "blender",
    "vacuum",
    "filter",
    "cartridge",
    "ink",
    "printer",
    "scanner",
    "tablet",
    "stylus",
    "camera",
    "lens",
    "tripod",
    "drone",
    "bicycle",
    "helmet",
    "saddle",
    "tyre",
    "puncture",
    "scooter",
    "skateboard",
    "kayak",
    "tent",
    "sleeping",
    "backpack",
    "boots",
    "jacket",
    "scarf",
    "gloves",
    "umbrella",
    "sunglasses",
    "watch",
    "strap",
    "ring",
    "necklace",
    "earrings",
    "bracelet",
    "engraving",
    "xylophone",
    "quokka",
    "zeppelin",
    "marzipan",
    "origami",
    "kaleidoscope",
    "harpsichord",
];

struct Arguments {
    messages: u64,
    conversations: u64,
    iterations: u64,
    in_flight: usize,
    reuse: Option<String>,
    database_url: Option<String>,
}

impl Arguments {
    fn parse() -> anyhow::Result<Self> {
        let arguments: Vec<String> = std::env::args().skip(1).collect();
        // `cargo bench` passes `--bench`; `cargo test --benches` runs us without it, where a
        // small smoke run is all that is wanted.
        let benchmarking = arguments.iter().any(|argument| argument == "--bench");
        let mut parsed = Arguments {
            messages: if benchmarking { 1_000_000 } else { 2_000 },
            conversations: if benchmarking { 10_000 } else { 20 },
            iterations: if benchmarking { 5_000 } else { 50 },
            in_flight: 512,
            reuse: None,
            database_url: None,
        };
        let mut arguments = arguments.into_iter();
        while let Some(argument) = arguments.next() {
            let mut value = || {
                arguments
                    .next()
                    .with_context(|| format!("{argument} needs a value; {USAGE}"))
            };
            match argument.as_str() {
                "--bench" => {}
                "--messages" => parsed.messages = value()?.parse().context("--messages")?,
                "--conversations" => {
                    parsed.conversations = value()?.parse().context("--conversations")?
                }
                "--iterations" => parsed.iterations = value()?.parse().context("--iterations")?,
                "--in-flight" => parsed.in_flight = value()?.parse().context("--in-flight")?,
                "--reuse" => parsed.reuse = Some(value()?),
                "--database-url" => parsed.database_url = Some(value()?),
                "--help" | "-h" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown argument `{other}`; {USAGE}"),
            }
        }
        if parsed.conversations == 0 || parsed.iterations == 0 || parsed.in_flight == 0 {
            bail!("--conversations, --iterations and --in-flight must be positive");
        }
        if parsed.reuse.is_some() && parsed.database_url.is_some() {
            bail!("--reuse names a SQLite file; give it or --database-url, not both");
        }
        Ok(parsed)
    }
}

/// What the queries need to know about the seeded tenant.
struct Seeded {
    tenant: TenantId,
    viewer: UserId,
    conversations: Vec<ConversationId>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse()?;
    let temporary = tempfile::tempdir()?;
    let url = match (&arguments.database_url, &arguments.reuse) {
        (Some(url), _) => url.clone(),
        (None, Some(path)) => format!("sqlite://{path}"),
        (None, None) => format!("sqlite://{}", temporary.path().join("bench.db").display()),
    };
    println!("machine load at start: {}", load_average());
    let tenant_name = format!(
        "benchmark {}/{}",
        arguments.messages, arguments.conversations
    );

    // Seeding trades the last commits on power loss for speed; the data is disposable.
    let mut seeding_options = DatabaseOptions::new(url.clone());
    seeding_options.sqlite_full_sync = false;
    seeding_options.max_connections = 32;
    let store = Store::connect(seeding_options).await?;
    store.migrate().await?;
    let seeded = match find_seeded(&store, &tenant_name).await? {
        Some(seeded) => {
            println!(
                "reusing {} conversations seeded earlier in {url}",
                seeded.conversations.len()
            );
            seeded
        }
        None => seed(&store, &tenant_name, &arguments).await?,
    };
    store.close().await;

    let store = Store::connect(DatabaseOptions::new(url.clone())).await?;
    let metrics = store.database_metrics().await?;
    let count = |name: &str| {
        metrics
            .tables
            .iter()
            .find(|table| table.name == name)
            .map_or(0, |table| table.rows)
    };
    let size = store.database_size().await?;
    println!(
        "database: {} ({} messages, {} conversations, {} participants; {:.1} MiB)",
        metrics.backend,
        count("messages"),
        count("conversations"),
        count("participants"),
        size.bytes as f64 / 1_048_576.0
    );
    measure(&store, &seeded, &arguments).await?;
    println!("machine load at end: {}", load_average());
    store.close().await;
    Ok(())
}

async fn find_seeded(store: &Store, tenant_name: &str) -> anyhow::Result<Option<Seeded>> {
    let tenants = store
        .list_tenants(&PageRequest::first(PageRequest::MAX_LIMIT))
        .await?;
    let Some(tenant) = tenants
        .data
        .into_iter()
        .find(|tenant| tenant.name == tenant_name)
    else {
        if store.count_tenants().await? > 0 {
            bail!("the database holds data seeded with other sizes; delete it or match them");
        }
        return Ok(None);
    };
    let viewer = store
        .list_users(tenant.id, &PageRequest::first(1))
        .await?
        .data
        .into_iter()
        .next()
        .context("the seeded tenant has no user")?
        .id;
    let mut conversations = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let listed = store
            .list_conversations(tenant.id, viewer, &ConversationFilter::default(), &page)
            .await?;
        conversations.extend(listed.data.iter().map(|conversation| conversation.id));
        let Some(cursor) = listed.next_cursor else {
            break;
        };
        page.cursor = Some(cursor);
    }
    Ok(Some(Seeded {
        tenant: tenant.id,
        viewer,
        conversations,
    }))
}

async fn seed(store: &Store, tenant_name: &str, arguments: &Arguments) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let tenant = store.create_tenant(tenant_name.to_owned()).await?.id;
    let new_user = NewUser {
        username: format!("operator-{}", uuid::Uuid::now_v7().simple()),
        password_hash: "$argon2id$benchmark".into(),
        role: Role::Agent,
        external_id: None,
        name: None,
        email: None,
    };
    let viewer = store.create_user(tenant, new_user).await?.id;
    let config = ChannelConfig::parse(
        ChannelKind::Api,
        serde_json::json!({ "signingSecret": "bench" }),
    )?;
    let new_channel = NewChannel {
        name: "web chat".into(),
        agent_id: None,
        config,
    };
    let channel = store.create_channel(tenant, new_channel).await?.id;

    let conversations: Vec<ConversationId> = futures::stream::iter(0..arguments.conversations)
        .map(|index| {
            let store = store.clone();
            async move {
                let new_contact = NewContact {
                    name: Some(format!("Customer {index}")),
                    phone: Some(format!("+1555{index:07}")),
                    external_id: Some(format!("crm-{index}")),
                    ..NewContact::default()
                };
                let contact = store.create_contact(tenant, new_contact).await?.id;
                let new_conversation = NewConversation {
                    channel_id: channel,
                    contact_id: Some(contact),
                    conversation_type: ConversationType::Direct,
                    business_id: None,
                    agent_id: None,
                };
                anyhow::Ok(
                    store
                        .create_conversation(tenant, viewer, new_conversation)
                        .await?
                        .id,
                )
            }
        })
        .buffer_unordered(arguments.in_flight)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    println!(
        "seeded {} conversations in {:.1?}",
        conversations.len(),
        started.elapsed()
    );

    let words = Zipf::new(WORDS.len());
    let mut rng = StdRng::seed_from_u64(7);
    let appending = Instant::now();
    let mut appended = 0u64;
    let mut appends = futures::stream::iter(0..arguments.messages)
        .map(|index| {
            // Conversation sizes are skewed like real inboxes: a few long threads, many short.
            let which = (conversations.len() as f64 * rng.random::<f64>().powi(2)) as usize;
            let conversation = conversations[which.min(conversations.len() - 1)];
            let text = sentence(&words, &mut rng);
            let roll = rng.random_range(0..100);
            let mut new_message = NewMessage {
                conversation_id: conversation,
                direction: MessageDirection::Inbound,
                author_kind: AuthorKind::Contact,
                author_id: None,
                message_type: MessageType::Text,
                text: Some(text),
                content: None,
                provider_message_id: Some(format!("wamid.{index}")),
                status: MessageStatus::Received,
            };
            if roll < 30 {
                new_message.direction = MessageDirection::Outbound;
                new_message.author_kind = AuthorKind::Agent;
                new_message.provider_message_id = None;
                new_message.status = MessageStatus::Delivered;
            } else if roll < 40 && which.is_multiple_of(3) {
                // The viewer answers a third of the conversations, which moves their read
                // marker there: the unread counts of the list differ from row to row.
                new_message.direction = MessageDirection::Outbound;
                new_message.author_kind = AuthorKind::User;
                new_message.author_id = Some(viewer.to_string());
                new_message.provider_message_id = None;
                new_message.status = MessageStatus::Sent;
            }
            let store = store.clone();
            async move { store.append_message(tenant, new_message).await }
        })
        .buffer_unordered(arguments.in_flight);
    while let Some(result) = appends.next().await {
        result?;
        appended += 1;
        if appended.is_multiple_of(100_000) {
            let elapsed = appending.elapsed().as_secs_f64();
            println!("  {appended} messages, {:.0}/s", appended as f64 / elapsed);
        }
    }
    drop(appends);
    let append_time = appending.elapsed();
    println!(
        "seeded {appended} messages in {append_time:.1?} ({:.0} appends/s, {} in flight)",
        appended as f64 / append_time.as_secs_f64().max(f64::EPSILON),
        arguments.in_flight
    );
    let optimizing = Instant::now();
    store.optimize().await?;
    println!(
        "optimize (planner statistics) took {:.1?}",
        optimizing.elapsed()
    );
    println!("seeding time: {:.1?}", started.elapsed());
    Ok(Seeded {
        tenant,
        viewer,
        conversations,
    })
}

async fn measure(store: &Store, seeded: &Seeded, arguments: &Arguments) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(11);
    let tenant = seeded.tenant;
    // Mid-frequency words: common enough to match thousands of messages, rare enough to rank.
    let search_words = &WORDS[40..60];
    println!(
        "{} iterations per query kind, one at a time; search words: {}",
        arguments.iterations,
        search_words.join(" ")
    );
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>9}",
        "query (µs)", "p50", "p95", "p99", "max"
    );

    let mut latest = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let mut search = latest.clone();
    let mut inbox = latest.clone();
    let mut matches = 0usize;
    let latest_page = PageRequest::first(50);
    let search_page = PageRequest::first(20);
    let inbox_page = PageRequest::first(50);
    let filter = ConversationFilter::default();
    // A short warm-up so the first samples do not measure opening connections.
    let warm_up = (arguments.iterations / 20).max(1);
    for iteration in 0..warm_up + arguments.iterations {
        let record = iteration >= warm_up;
        let conversation = seeded.conversations[rng.random_range(0..seeded.conversations.len())];
        let started = Instant::now();
        let page = store
            .list_messages(tenant, conversation, MessageOrder::Backward, &latest_page)
            .await?;
        if record {
            latest.record(micros(started.elapsed()))?;
        }
        std::hint::black_box(page);

        let query = SearchQuery {
            text: search_words[rng.random_range(0..search_words.len())].to_owned(),
            conversation_id: None,
        };
        let started = Instant::now();
        let hits = store.search_messages(tenant, &query, &search_page).await?;
        if record {
            search.record(micros(started.elapsed()))?;
            matches += hits.data.len();
        }

        let started = Instant::now();
        let listed = store
            .list_conversations(tenant, seeded.viewer, &filter, &inbox_page)
            .await?;
        if record {
            inbox.record(micros(started.elapsed()))?;
        }
        std::hint::black_box(listed);
    }
    report("latest 50 messages of a random conversation", &latest);
    report("search a mid-frequency word, top 20", &search);
    report("conversation list, first 50, unread counts", &inbox);
    println!(
        "(search returned {:.1} hits per query on average)",
        matches as f64 / arguments.iterations as f64
    );
    Ok(())
}

fn report(name: &str, histogram: &Histogram<u64>) {
    println!(
        "{name:<44} {:>9} {:>9} {:>9} {:>9}",
        histogram.value_at_quantile(0.50),
        histogram.value_at_quantile(0.95),
        histogram.value_at_quantile(0.99),
        histogram.max()
    );
}

fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// The one-, five- and fifteen-minute load averages, where the system reports them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// Samples word ranks with probability proportional to `1 / (rank + 1)`.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(words: usize) -> Self {
        let mut total = 0.0;
        let cumulative = (0..words)
            .map(|rank| {
                total += 1.0 / (rank as f64 + 1.0);
                total
            })
            .collect();
        Self { cumulative }
    }

    fn sample(&self, rng: &mut StdRng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let target = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&weight| weight < target)
            .min(self.cumulative.len() - 1)
    }
}

/// A chat-length sentence of 3 to 30 words.
fn sentence(words: &Zipf, rng: &mut StdRng) -> String {
    let length = rng.random_range(3..=30);
    let mut text = String::with_capacity(length * 7);
    for position in 0..length {
        if position > 0 {
            text.push(' ');
        }
        text.push_str(WORDS[words.sample(rng)]);
    }
    if rng.random_range(0..4) == 0 {
        text.push('?');
    }
    text
}
