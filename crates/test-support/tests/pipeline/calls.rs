//! Outbound calls end to end against a fake Twilio Voice: a call dialled once, answered and
//! billed once however its callbacks arrive (twice, reversed, the final one lost); retries by
//! outcome; campaigns under their caps, the do-not-call list, pause, resume and cancel,
//! calling windows and credits; reports that become the call's messages once.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_channels::api_channel;
use switchboard_server::Config;
use switchboard_test_support::fakes::{Behaviour, Delivery, FakeVoice};
use switchboard_test_support::pipeline::{PATIENCE, created};
use switchboard_test_support::{Credential, TestApp, WsClient};
use switchboard_test_support::{TestDatabase, backend_tests};
use tokio_util::sync::CancellationToken;

backend_tests!(
    a_call_is_dialled_once_answered_and_billed_once,
    a_busy_number_is_retried_by_its_rule_then_reached,
    callbacks_out_of_order_or_lost_still_end_the_call_once,
    a_campaign_keeps_its_cap_and_never_dials_do_not_call,
    a_paused_campaign_dials_nobody_until_resumed_and_cancel_ends_the_rest,
    a_recipient_outside_the_window_waits_for_its_opening,
    a_campaign_waits_for_credits_and_goes_on_after_a_grant,
    a_report_becomes_the_call_messages_once,
    a_calls_import_adds_each_row_to_a_draft_campaign_once,
    dials_from_one_number_keep_its_pace,
    another_tenant_sees_none_of_the_calls_and_cannot_steer_them,
    the_tenant_stream_follows_a_call_and_its_campaign
);

const AUTH_TOKEN: &str = "voice-auth-token";

struct Voice {
    app: TestApp,
    fake: FakeVoice,
    admin: Credential,
    channel: String,
}

async fn start(
    database: TestDatabase,
    credits: i64,
    configure: impl FnOnce(&mut Config),
) -> anyhow::Result<Voice> {
    let fake = FakeVoice::start(AUTH_TOKEN).await?;
    let app = TestApp::spawn_with(database, CancellationToken::new(), |config| {
        config.calls.quiet_after = Duration::from_secs(1);
        configure(config);
    })
    .await?;
    let admin = app.admin();
    let reply = app
        .post(
            "/api/v1/channels",
            &admin,
            json!({"kind": "voice", "name": "Outbound", "config": {
                "accountSid": "AC0001", "authToken": AUTH_TOKEN, "fromNumber": "+15550100000",
                "apiBaseUrl": fake.base_url(), "answerUrl": "https://voice.example/answer"}}),
        )
        .await?;
    let channel = created(reply)?;
    if credits > 0 {
        grant(&app, &admin, credits, "setup").await?;
    }
    Ok(Voice {
        app,
        fake,
        admin,
        channel,
    })
}

async fn grant(app: &TestApp, admin: &Credential, amount: i64, key: &str) -> anyhow::Result<()> {
    let grant = json!({"amount": amount, "reason": "test", "idempotencyKey": key});
    let reply = app.post("/api/v1/credits/grants", admin, grant).await?;
    anyhow::ensure!(reply.status == 201, "grant refused: {}", reply.text);
    Ok(())
}

impl Voice {
    async fn call(&self, body: Value) -> anyhow::Result<String> {
        let mut body = body;
        body["channelId"] = json!(self.channel);
        created(self.app.post("/api/v1/calls", &self.admin, body).await?)
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let reply = self.app.get(path, &self.admin).await?;
        anyhow::ensure!(reply.status == 200, "{path}: {}", reply.text);
        Ok(reply.body)
    }

    /// Waits until `path` answers a body that `done` accepts, and returns it.
    async fn until(&self, path: &str, done: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let body = self.get(path).await?;
            if done(&body) {
                return Ok(body);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{path} never got there: {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn ended(&self, call: &str) -> anyhow::Result<Value> {
        self.until(&format!("/api/v1/calls/{call}"), |call| {
            call["status"] == "ended"
        })
        .await
    }

    async fn contacts(&self, phones: &[&str]) -> anyhow::Result<Vec<String>> {
        let mut ids = Vec::new();
        for phone in phones {
            let body = json!({"phone": phone});
            ids.push(created(
                self.app.post("/api/v1/contacts", &self.admin, body).await?,
            )?);
        }
        Ok(ids)
    }

    async fn campaign(&self, body: Value) -> anyhow::Result<String> {
        let mut body = body;
        body["channelId"] = json!(self.channel);
        created(
            self.app
                .post("/api/v1/campaigns", &self.admin, body)
                .await?,
        )
    }

    async fn control(&self, campaign: &str, action: &str) -> anyhow::Result<u16> {
        let path = format!("/api/v1/campaigns/{campaign}/{action}");
        Ok(self.app.post(&path, &self.admin, json!({})).await?.status)
    }

    async fn finished(&self, campaign: &str) -> anyhow::Result<Value> {
        self.until(&format!("/api/v1/campaigns/{campaign}"), |campaign| {
            campaign["status"] == "completed"
        })
        .await
    }

    async fn ledger_debits(&self) -> anyhow::Result<Vec<i64>> {
        let ledger = self.get("/api/v1/credits/ledger").await?;
        Ok(ledger["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| entry["amount"].as_i64())
            .filter(|amount| *amount < 0)
            .collect())
    }
}

async fn a_call_is_dialled_once_answered_and_billed_once(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let voice = start(database, 100, |_| {}).await?;
    voice.fake.set_default(Behaviour::Answer { seconds: 75 });
    voice.fake.set_delivery(Delivery::Twice);
    let call = voice.call(json!({"to": "+15550100001"})).await?;
    let ended = voice.ended(&call).await?;
    assert_eq!(ended["outcome"], "completed");
    let attempts = ended["attempts"].as_array().cloned().unwrap_or_default();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["durationSeconds"], 75);
    assert_eq!(attempts[0]["answeredBy"], "human");
    assert_eq!(attempts[0]["credits"], 2, "75 s are two started minutes");
    assert!(
        attempts[0]["providerCallId"]
            .as_str()
            .is_some_and(|sid| sid.starts_with("CA"))
    );
    assert_eq!(voice.fake.dials_to("+15550100001"), 1);
    let dial = &voice.fake.dials()[0];
    assert_eq!(dial.from, "+15550100000");
    assert_eq!(dial.idempotency_key.as_deref(), attempts[0]["id"].as_str());
    assert!(dial.answer_url.contains(&format!("callId={call}")));
    assert_eq!(voice.ledger_debits().await?, vec![-2], "debited once");
    let conversation = voice
        .get(&format!(
            "/api/v1/conversations/{}",
            ended["conversationId"].as_str().unwrap_or_default()
        ))
        .await?;
    assert_eq!(conversation["type"], "call");
    // A channel may set its own price per minute.
    let path = format!("/api/v1/channels/{}", voice.channel);
    let priced = voice
        .app
        .patch(
            &path,
            &voice.admin,
            json!({"config": {"creditsPerMinute": 3}}),
        )
        .await?;
    assert_eq!(priced.status, 200, "{}", priced.text);
    let dearer = voice.call(json!({"to": "+15550100011"})).await?;
    let ended = voice.ended(&dearer).await?;
    assert_eq!(ended["attempts"][0]["credits"], 6, "two minutes at 3");
    assert_eq!(voice.ledger_debits().await?.len(), 2);
    // A bad number is refused before anything is stored.
    let refused = voice
        .app
        .post(
            "/api/v1/calls",
            &voice.admin,
            json!({"channelId": voice.channel, "to": "call me"}),
        )
        .await?;
    assert_eq!(refused.status, 422, "{}", refused.text);
    Ok(())
}

async fn a_busy_number_is_retried_by_its_rule_then_reached(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let voice = start(database, 100, |_| {}).await?;
    let number = "+15550100002";
    voice.fake.script(
        number,
        vec![
            Behaviour::Busy,
            Behaviour::NoAnswer,
            Behaviour::Answer { seconds: 5 },
        ],
    );
    let retry = json!({"busy": {"delaysSeconds": [0]}, "noAnswer": {"delaysSeconds": [0, 0]},
        "failed": {"delaysSeconds": []}, "voicemail": {"delaysSeconds": []}});
    let call = voice.call(json!({"to": number, "retry": retry})).await?;
    let ended = voice.ended(&call).await?;
    let outcomes: Vec<&str> = ended["attempts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|attempt| attempt["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["busy", "no-answer", "completed"]);
    assert_eq!(ended["outcome"], "completed");
    assert_eq!(voice.fake.dials_to(number), 3);

    // Voicemail is not retried by default; failed once.
    voice
        .fake
        .script("+15550100003", vec![Behaviour::Voicemail { seconds: 20 }]);
    let machine = voice.call(json!({"to": "+15550100003"})).await?;
    let ended = voice.ended(&machine).await?;
    assert_eq!(ended["outcome"], "voicemail");
    assert_eq!(voice.fake.dials_to("+15550100003"), 1);

    // Analytics read every attempt that ended, by outcome.
    let analytics = voice.get("/api/v1/analytics/calls").await?;
    assert_eq!(analytics["attempts"], 4, "{analytics}");
    for outcome in ["busy", "no-answer", "completed", "voicemail"] {
        assert_eq!(analytics["outcomes"][outcome], 1, "{outcome}: {analytics}");
    }
    assert_eq!(analytics["answerRate"], 0.25);
    assert_eq!(analytics["durationSeconds"]["count"], 1);
    assert_eq!(
        analytics["creditsSpent"], 2,
        "a minute answered, a minute of voicemail"
    );
    Ok(())
}

async fn callbacks_out_of_order_or_lost_still_end_the_call_once(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let voice = start(database, 100, |_| {}).await?;
    voice.fake.set_default(Behaviour::Answer { seconds: 30 });
    voice.fake.set_delivery(Delivery::Reversed);
    let reversed = voice.call(json!({"to": "+15550100004"})).await?;
    let ended = voice.ended(&reversed).await?;
    assert_eq!(ended["outcome"], "completed");
    assert_eq!(ended["attempts"][0]["durationSeconds"], 30);

    // The final callback never comes: the call is fetched from the provider.
    voice.fake.set_delivery(Delivery::DropFinal);
    let lost = voice.call(json!({"to": "+15550100005"})).await?;
    let ended = voice.ended(&lost).await?;
    assert_eq!(ended["outcome"], "completed");
    assert_eq!(ended["attempts"].as_array().map(Vec::len), Some(1));
    assert_eq!(voice.fake.dials().len(), 2, "no call was dialled twice");
    assert_eq!(voice.ledger_debits().await?.len(), 2, "one debit per call");
    Ok(())
}

async fn a_campaign_keeps_its_cap_and_never_dials_do_not_call(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let voice = start(database, 1_000, |_| {}).await?;
    voice.fake.set_default(Behaviour::Answer { seconds: 10 });
    let phones: Vec<String> = (0..12).map(|n| format!("+1555020{n:04}")).collect();
    let phone_refs: Vec<&str> = phones.iter().map(String::as_str).collect();
    let contacts = voice.contacts(&phone_refs).await?;
    let listed = voice
        .app
        .post(
            "/api/v1/do-not-call",
            &voice.admin,
            json!({"phone": phones[3]}),
        )
        .await?;
    assert_eq!(listed.status, 201, "{}", listed.text);
    let campaign = voice
        .campaign(json!({"name": "renewals", "contactIds": contacts,
            "maxConcurrentCalls": 3, "callsPerSecond": 100}))
        .await?;
    let draft = voice.get(&format!("/api/v1/campaigns/{campaign}")).await?;
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["stats"]["queued"], 12);
    assert!(voice.fake.dials().is_empty(), "a draft dials nobody");
    assert_eq!(voice.control(&campaign, "start").await?, 200);
    let done = voice.finished(&campaign).await?;
    assert_eq!(done["stats"]["total"], 12);
    assert_eq!(done["stats"]["completed"], 11);
    assert_eq!(done["stats"]["doNotCall"], 1);
    assert_eq!(voice.fake.dials_to(&phones[3]), 0);
    assert_eq!(voice.fake.dials().len(), 11);
    assert!(
        voice.fake.max_concurrent() <= 3,
        "at most 3 calls at once, saw {}",
        voice.fake.max_concurrent()
    );
    assert_eq!(
        voice.control(&campaign, "pause").await?,
        409,
        "a completed campaign cannot be paused"
    );
    let calls = voice
        .get(&format!("/api/v1/calls?campaignId={campaign}&limit=100"))
        .await?;
    assert_eq!(calls["data"].as_array().map(Vec::len), Some(12));
    Ok(())
}

async fn a_paused_campaign_dials_nobody_until_resumed_and_cancel_ends_the_rest(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let voice = start(database, 1_000, |_| {}).await?;
    voice.fake.set_default(Behaviour::Answer { seconds: 20 });
    let phones: Vec<String> = (0..6).map(|n| format!("+1555030{n:04}")).collect();
    let phone_refs: Vec<&str> = phones.iter().map(String::as_str).collect();
    let contacts = voice.contacts(&phone_refs).await?;
    let campaign = voice
        .campaign(json!({"name": "paced", "contactIds": contacts,
            "maxConcurrentCalls": 1, "callsPerSecond": 100}))
        .await?;
    assert_eq!(voice.control(&campaign, "start").await?, 200);
    let path = format!("/api/v1/campaigns/{campaign}");
    voice
        .until(&path, |campaign| campaign["stats"]["completed"] == 1)
        .await?;
    assert_eq!(voice.control(&campaign, "pause").await?, 200);
    // What was on the line when it paused finishes; nothing new starts.
    voice
        .until(&path, |campaign| campaign["stats"]["inProgress"] == 0)
        .await?;
    let dialled = voice.fake.dials().len();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(voice.fake.dials().len(), dialled, "paused: no new dial");
    assert_eq!(voice.control(&campaign, "resume").await?, 200);
    voice
        .until(&path, |campaign| {
            campaign["stats"]["completed"].as_i64() >= Some(dialled as i64 + 1)
        })
        .await?;
    assert_eq!(voice.control(&campaign, "cancel").await?, 200);
    let cancelled = voice
        .until(&path, |campaign| campaign["stats"]["inProgress"] == 0)
        .await?;
    assert_eq!(cancelled["status"], "cancelled");
    let stats = &cancelled["stats"];
    assert_eq!(stats["queued"], 0);
    let ended = stats["completed"].as_i64().unwrap_or(0) + stats["canceled"].as_i64().unwrap_or(0);
    assert_eq!(ended, 6, "every call completed or cancelled: {stats}");
    assert_eq!(
        voice.fake.dials().len() as i64,
        stats["completed"].as_i64().unwrap_or(-1)
    );
    Ok(())
}

async fn a_recipient_outside_the_window_waits_for_its_opening(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let voice = start(database, 1_000, |_| {}).await?;
    let contacts = voice.contacts(&["+15550400001"]).await?;
    // A window two days from now (UTC, the contact's number has no single zone).
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(2);
    let day = later.weekday().to_string()[..3].to_ascii_lowercase();
    let campaign = voice
        .campaign(json!({"name": "windowed", "contactIds": contacts,
            "schedule": {"timezone": "UTC",
                "windows": [{"days": [day], "start": "09:00", "end": "10:00"}]}}))
        .await?;
    assert_eq!(voice.control(&campaign, "start").await?, 200);
    let calls_path = format!("/api/v1/calls?campaignId={campaign}");
    let calls = voice
        .until(&calls_path, |calls| {
            calls["data"][0]["dueAt"]
                .as_str()
                .is_some_and(|due| due.contains("T09:00:00"))
        })
        .await?;
    let due = calls["data"][0]["dueAt"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(due.starts_with(&later.date().to_string()), "due {due}");
    assert_eq!(calls["data"][0]["status"], "queued");
    assert!(voice.fake.dials().is_empty(), "no dial outside the window");
    Ok(())
}

async fn a_campaign_waits_for_credits_and_goes_on_after_a_grant(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let voice = start(database, 0, |_| {}).await?;
    voice.fake.set_default(Behaviour::Answer { seconds: 5 });
    let contacts = voice.contacts(&["+15550500001", "+15550500002"]).await?;
    let campaign = voice
        .campaign(json!({"name": "broke", "contactIds": contacts, "callsPerSecond": 100}))
        .await?;
    assert_eq!(voice.control(&campaign, "start").await?, 200);
    let path = format!("/api/v1/campaigns/{campaign}");
    voice
        .until(&path, |campaign| campaign["waitingForCredits"] == true)
        .await?;
    assert!(voice.fake.dials().is_empty(), "no dial without credits");
    grant(&voice.app, &voice.admin, 10, "later").await?;
    let done = voice.finished(&campaign).await?;
    assert_eq!(done["stats"]["completed"], 2);
    assert_eq!(done["waitingForCredits"], false);
    Ok(())
}

async fn a_report_becomes_the_call_messages_once(database: TestDatabase) -> anyhow::Result<()> {
    let voice = start(database, 100, |_| {}).await?;
    let call = voice.call(json!({"to": "+15550600001"})).await?;
    let ended = voice.ended(&call).await?;
    let report = json!({"callId": call, "summary": "renewal agreed",
        "turns": [{"role": "assistant", "text": "Hello, this is about your renewal"},
                  {"role": "user", "text": "Yes, renew it please"}],
        "outcome": {"renewed": true}});
    let body = serde_json::to_vec(&report)?;
    let path = format!("/webhooks/voice/{}/report", voice.channel);
    for expected in [2, 0] {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let signature = api_channel::sign(AUTH_TOKEN, &body, now);
        let reply = voice
            .app
            .client
            .post(voice.app.url(&path))
            .header("content-type", "application/json")
            .header("x-switchboard-signature", signature)
            .body(body.clone())
            .send()
            .await?;
        let reply = TestApp::reply(reply).await?;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(
            reply.body["turns"], expected,
            "a report posted again adds nothing"
        );
    }
    let unsigned = voice
        .app
        .client
        .post(voice.app.url(&path))
        .body(body.clone())
        .send()
        .await?;
    assert_eq!(unsigned.status(), 401);
    let conversation = ended["conversationId"].as_str().unwrap_or_default();
    let messages = voice
        .get(&format!("/api/v1/conversations/{conversation}/messages"))
        .await?;
    let texts: Vec<&str> = messages["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|message| message["text"].as_str())
        .collect();
    assert_eq!(texts.len(), 2);
    assert!(texts.contains(&"Yes, renew it please"));
    Ok(())
}

async fn a_calls_import_adds_each_row_to_a_draft_campaign_once(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let voice = start(database, 100, |_| {}).await?;
    let campaign = voice
        .campaign(json!({"name": "from a file", "contactIds": [], "callsPerSecond": 100}))
        .await?;
    const FILE: &str =
        "phone,name,plan\n+15550800001,Ann,gold\n+15550800002,Bob,silver\nnot a phone,Eve,bronze\n";
    let upload = |query: String| {
        voice
            .app
            .client
            .post(voice.app.url(&format!("/api/v1/imports?{query}")))
            .bearer_auth(&voice.app.admin_token)
            .header("content-type", "text/csv")
            .body(FILE)
            .send()
    };
    for round in 0..2 {
        let reply =
            TestApp::reply(upload(format!("kind=calls&campaignId={campaign}")).await?).await?;
        assert_eq!(reply.status, 202, "{}", reply.text);
        let import = voice
            .until(&format!("/api/v1/imports/{}", reply.str("id")), |import| {
                import["status"] == "completed"
            })
            .await?;
        assert_eq!(import["failed"], 1, "round {round}: {import}");
        let draft = voice.get(&format!("/api/v1/campaigns/{campaign}")).await?;
        assert_eq!(
            draft["stats"]["total"], 2,
            "round {round}: each contact once"
        );
    }
    let calls = voice
        .get(&format!("/api/v1/calls?campaignId={campaign}"))
        .await?;
    let plans: Vec<&str> = calls["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|call| call["variables"]["plan"].as_str())
        .collect();
    assert_eq!(
        plans.len(),
        2,
        "the row's other columns are the call's variables"
    );
    let missing = TestApp::reply(upload("kind=calls".into()).await?).await?;
    assert_eq!(missing.status, 422, "{}", missing.text);

    assert_eq!(voice.control(&campaign, "start").await?, 200);
    let done = voice.finished(&campaign).await?;
    assert_eq!(done["stats"]["completed"], 2);
    let running =
        TestApp::reply(upload(format!("kind=calls&campaignId={campaign}")).await?).await?;
    assert_eq!(running.status, 409, "{}", running.text);

    // A campaign with nobody to call is done as it starts.
    let empty = voice
        .campaign(json!({"name": "empty", "contactIds": []}))
        .await?;
    assert_eq!(voice.control(&empty, "start").await?, 200);
    voice.finished(&empty).await?;
    Ok(())
}

async fn dials_from_one_number_keep_its_pace(database: TestDatabase) -> anyhow::Result<()> {
    let voice = start(database, 100, |_| {}).await?;
    let phones: Vec<String> = (0..6).map(|n| format!("+1555090{n:04}")).collect();
    let phone_refs: Vec<&str> = phones.iter().map(String::as_str).collect();
    let contacts = voice.contacts(&phone_refs).await?;
    let campaign = voice
        .campaign(json!({"name": "paced", "contactIds": contacts,
            "maxConcurrentCalls": 10, "callsPerSecond": 4}))
        .await?;
    assert_eq!(voice.control(&campaign, "start").await?, 200);
    voice.finished(&campaign).await?;
    let audit = voice
        .app
        .get(
            &format!("/api/v1/audit?resource=campaign&resourceId={campaign}"),
            &voice.admin,
        )
        .await?;
    assert_eq!(
        audit.body["data"][0]["action"], "campaign.controlled",
        "{}",
        audit.text
    );
    assert_eq!(audit.body["data"][0]["details"]["status"], "running");
    assert_eq!(audit.body["data"][1]["action"], "campaign.created");
    let dials = voice.fake.dials();
    assert_eq!(dials.len(), 6);
    let first = dials
        .iter()
        .map(|dial| dial.at)
        .min()
        .unwrap_or_else(std::time::Instant::now);
    let last = dials.iter().map(|dial| dial.at).max().unwrap_or(first);
    // Six dials at 4 a second are five quarter-seconds apart at least; a pacer that let them
    // through at once would put them milliseconds apart.
    assert!(
        last - first >= Duration::from_millis(1_150),
        "6 dials at 4/s took only {:?}",
        last - first
    );
    Ok(())
}

async fn another_tenant_sees_none_of_the_calls_and_cannot_steer_them(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let voice = start(database, 100, |_| {}).await?;
    let call = voice.call(json!({"to": "+15550910001"})).await?;
    let ended = voice.ended(&call).await?;
    let contacts = voice.contacts(&["+15550910002"]).await?;
    let campaign = voice
        .campaign(json!({"name": "ours", "contactIds": contacts}))
        .await?;

    let tenant = created(
        voice
            .app
            .post("/api/v1/tenants", &voice.admin, json!({"name": "Other"}))
            .await?,
    )?;
    let user = json!({"username": "other-admin", "password": "correct-horse-battery",
        "role": "admin", "tenantId": tenant});
    created(voice.app.post("/api/v1/users", &voice.admin, user).await?)?;
    let other = Credential::Bearer(
        voice
            .app
            .login("other-admin", "correct-horse-battery")
            .await?,
    );
    for path in [
        format!("/api/v1/calls/{call}"),
        format!("/api/v1/campaigns/{campaign}"),
    ] {
        assert_eq!(voice.app.get(&path, &other).await?.status, 404, "{path}");
    }
    let start = format!("/api/v1/campaigns/{campaign}/start");
    assert_eq!(voice.app.post(&start, &other, json!({})).await?.status, 404);
    let listed = voice.app.get("/api/v1/calls", &other).await?;
    assert_eq!(listed.body["data"], json!([]));
    let placed = voice
        .app
        .post(
            "/api/v1/calls",
            &other,
            json!({"channelId": voice.channel, "to": "+15550910003"}),
        )
        .await?;
    assert_eq!(
        placed.status, 404,
        "another tenant's channel: {}",
        placed.text
    );
    let analytics = voice.app.get("/api/v1/analytics/calls", &other).await?;
    assert_eq!(analytics.body["attempts"], 0);
    assert_eq!(
        voice.get(&format!("/api/v1/calls/{call}")).await?["status"],
        ended["status"]
    );
    Ok(())
}

async fn the_tenant_stream_follows_a_call_and_its_campaign(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let voice = start(database, 100, |_| {}).await?;
    let url = voice.app.url("/ws").replace("http", "ws");
    let mut watcher = WsClient::connect(&url, Some(&voice.app.admin_token)).await?;
    watcher.until("authenticated").await?;
    let subscribed = watcher.subscribe("tenant", None).await?;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    let contacts = voice.contacts(&["+15550920001"]).await?;
    let campaign = voice
        .campaign(json!({"name": "watched", "contactIds": contacts}))
        .await?;
    assert_eq!(voice.control(&campaign, "start").await?, 200);
    let mut kinds = Vec::new();
    while !kinds.contains(&"campaign_completed".to_owned()) {
        let event = watcher.events(1).await?.remove(0);
        let inner = &event["event"]["event"];
        if let Some(kind) = inner["type"].as_str()
            && (kind.starts_with("call_") || kind.starts_with("campaign_"))
        {
            kinds.push(kind.to_owned());
            if kind == "call_ended" {
                assert_eq!(inner["outcome"], "completed", "{inner}");
            }
        }
    }
    let position = |kind: &str| kinds.iter().position(|seen| seen == kind);
    for kind in [
        "call_started",
        "call_ringing",
        "call_answered",
        "call_ended",
    ] {
        assert!(position(kind).is_some(), "{kind} missing from {kinds:?}");
    }
    assert!(
        position("call_started") < position("call_answered"),
        "{kinds:?}"
    );
    assert!(
        position("call_answered") < position("call_ended"),
        "{kinds:?}"
    );
    assert!(
        position("call_ended") < position("campaign_completed"),
        "{kinds:?}"
    );
    Ok(())
}
