//! Credits: grants are recorded once per idempotency key; the balance is the ledger's sum.

use serde_json::json;
use switchboard_test_support::{TestDatabase, backend_tests};

use crate::world::{error_code, start};

backend_tests!(grants_are_idempotent_and_the_ledger_adds_up);

async fn grants_are_idempotent_and_the_ledger_adds_up(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    assert_eq!(app.get("/api/v1/credits", &admin).await?.body["balance"], 0);

    let grant = json!({"amount": 500, "reason": "monthly plan", "idempotencyKey": "invoice-1"});
    let first = app
        .post("/api/v1/credits/grants", &admin, grant.clone())
        .await?;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["balance"], 500);
    let replay = app.post("/api/v1/credits/grants", &admin, grant).await?;
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.body["created"], false);
    assert_eq!(replay.body["entry"]["id"], first.body["entry"]["id"]);
    assert_eq!(replay.body["balance"], 500);

    let misuse = app
        .post(
            "/api/v1/credits/grants",
            &admin,
            json!({"amount": 9, "reason": "monthly plan", "idempotencyKey": "invoice-1"}),
        )
        .await?;
    assert_eq!(misuse.status, 409);
    assert_eq!(error_code(&misuse), "conflict");

    let second = app
        .post(
            "/api/v1/credits/grants",
            &admin,
            json!({"amount": 25, "reason": "bonus", "idempotencyKey": "invoice-2"}),
        )
        .await?;
    assert_eq!(second.body["entry"]["balanceAfter"], 525);
    assert_eq!(
        app.get("/api/v1/credits", &admin).await?.body["balance"],
        525
    );

    let ledger = app.get("/api/v1/credits/ledger?limit=1", &admin).await?;
    assert_eq!(ledger.body["data"][0]["reason"], "bonus");
    let cursor = ledger.str("nextCursor");
    let older = app
        .get(
            &format!("/api/v1/credits/ledger?limit=1&cursor={cursor}"),
            &admin,
        )
        .await?;
    assert_eq!(older.body["data"][0]["reason"], "monthly plan");
    assert!(older.body["nextCursor"].is_null());
    app.stop().await
}
