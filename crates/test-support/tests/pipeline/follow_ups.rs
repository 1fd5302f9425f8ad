//! Follow-ups: what an agent schedules with `schedule_follow_up` fires once when due, as a
//! system note its agent answers through the channel.

use serde_json::json;
use switchboard_test_support::{TestDatabase, backend_tests};

use switchboard_test_support::pipeline::start;

backend_tests!(a_follow_up_the_agent_scheduled_fires_once_when_due);

const CONTACT: &str = "972500000701";
const NOTE: &str = "Ask whether the parcel arrived";

async fn a_follow_up_the_agent_scheduled_fires_once_when_due(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 100, |_| {}).await?;
    let schedule = json!({"name": "schedule_follow_up",
        "arguments": {"delayMinutes": 30, "note": NOTE}});
    pipeline
        .use_agent(
            "scripted",
            json!({"rules": [
                {"match": {"keywords": ["later"]}, "tools": [schedule],
                 "reply": "I will check back."},
                {"match": {"text": NOTE}, "reply": "Did your parcel arrive?"}
            ]}),
            1,
        )
        .await?;
    pipeline
        .send(CONTACT, "wamid.follow.1", "talk later")
        .await?;
    pipeline.settle().await?;
    assert_eq!(pipeline.sent_texts(), ["I will check back."]);

    let engine = &pipeline.app.engine;
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(engine.fire_due_follow_ups(now).await?, 0, "not due yet");
    let due = now + time::Duration::minutes(31);
    assert_eq!(engine.fire_due_follow_ups(due).await?, 1);
    assert_eq!(
        engine.fire_due_follow_ups(due).await?,
        0,
        "a follow-up fires once"
    );
    pipeline.settle().await?;
    assert_eq!(
        pipeline.sent_texts(),
        ["I will check back.", "Did your parcel arrive?"]
    );

    let conversation = pipeline.conversation().await?;
    let messages = pipeline.messages(&conversation).await?;
    let note = messages
        .iter()
        .find(|message| message["authorKind"] == "system")
        .ok_or_else(|| anyhow::anyhow!("no system note: {messages:?}"))?;
    assert_eq!(note["text"], NOTE);
    assert_eq!(note["status"], "processed");
    Ok(())
}
