//! Imports end to end: every row rule with its code and line, re-uploads that change nothing,
//! a corrected file that updates without duplicating, gzip and multipart bodies, files refused
//! whole (nothing of them kept), and progress on the tenant's stream.

use std::io::Write;

use serde_json::Value;
use switchboard_test_support::{Credential, Reply, TestApp, TestDatabase, WsClient, backend_tests};
use tokio_util::sync::CancellationToken;

use crate::world::{error_code, start};

backend_tests!(
    rows_follow_every_rule_and_re_uploads_change_nothing,
    gzip_and_multipart_bodies_import_and_progress_is_streamed,
    bad_files_are_refused_whole,
);

const FILE: &str = "\
Phone,Name,External ID,Email,Time Zone,plan
+1 415 555 0100,Ada,crm-1,ada@example.com,europe/paris,gold
(415) 555-0101,Bob,,,America/New_York,
+14155550102,Cy,crm-3,not-an-email,,silver

+14155550103,Di,crm-4,,Mars/Olympus,
,Ed,crm-5,,,
+1 555 abc,Flo,crm-6,,,
+14155550100,Ada again,crm-1,,,
+14155550107,\"Gus, \"\"the\"\" great\",crm-8,,,bronze
";

/// Uploads `body` as an import with `query`, `content_type` and an optional encoding.
async fn upload(
    app: &TestApp,
    query: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> anyhow::Result<Reply> {
    let mut request = app
        .client
        .post(app.url(&format!("/api/v1/imports?{query}")))
        .bearer_auth(&app.admin_token)
        .header("content-type", content_type)
        .body(body);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    TestApp::reply(request.send().await?).await
}

/// Uploads a CSV, waits for the import to end, and returns it.
async fn import(app: &TestApp, query: &str, csv: &str) -> anyhow::Result<Value> {
    let reply = upload(app, query, "text/csv", None, csv.as_bytes().to_vec()).await?;
    finished(app, reply).await
}

async fn finished(app: &TestApp, reply: Reply) -> anyhow::Result<Value> {
    anyhow::ensure!(reply.status == 202, "{} {}", reply.status, reply.text);
    assert_eq!(reply.body["status"], "running");
    app.engine.wait_imports().await;
    let import = app
        .get(
            &format!("/api/v1/imports/{}", reply.str("id")),
            &app.admin(),
        )
        .await?;
    assert_eq!(import.status, 200, "{}", import.text);
    Ok(import.body)
}

fn counts(import: &Value) -> [i64; 5] {
    ["rowsRead", "created", "updated", "unchanged", "failed"]
        .map(|field| import[field].as_i64().unwrap_or(-1))
}

async fn contacts(app: &TestApp) -> anyhow::Result<Vec<Value>> {
    let page = app.get("/api/v1/contacts?limit=200", &app.admin()).await?;
    Ok(page.body["data"].as_array().cloned().unwrap_or_default())
}

async fn rows_follow_every_rule_and_re_uploads_change_nothing(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let first = import(&app, "kind=contacts&defaultCountry=US", FILE).await?;
    assert_eq!(first["status"], "completed", "{first}");
    assert_eq!(first["kind"], "contacts");
    assert_eq!(counts(&first), [8, 3, 0, 0, 5], "{first}");
    assert_eq!(first["progress"], 1.0);

    let errors = app
        .get(
            &format!(
                "/api/v1/imports/{}/errors",
                first["id"].as_str().unwrap_or_default()
            ),
            &admin,
        )
        .await?;
    let found: Vec<(i64, String, String)> = errors.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|error| {
            (
                error["line"].as_i64().unwrap_or_default(),
                error["column"].as_str().unwrap_or_default().to_owned(),
                error["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        (4, "Email", "invalid_email"),
        (6, "Time Zone", "invalid_timezone"),
        (7, "Phone", "missing_phone"),
        (8, "Phone", "invalid_phone"),
        (9, "externalId", "duplicate_in_file"),
    ];
    let expected: Vec<(i64, String, String)> = expected
        .iter()
        .map(|(line, column, code)| (*line, (*column).to_owned(), (*code).to_owned()))
        .collect();
    assert_eq!(found, expected, "{}", errors.text);

    let csv = app
        .client
        .get(app.url(&format!(
            "/api/v1/imports/{}/errors",
            first["id"].as_str().unwrap_or_default()
        )))
        .bearer_auth(&app.admin_token)
        .header("accept", "text/csv")
        .send()
        .await?;
    assert!(
        csv.headers()["content-type"]
            .to_str()?
            .starts_with("text/csv")
    );
    let csv = csv.text().await?;
    assert!(
        csv.starts_with("line,column,code,message\n4,Email,invalid_email,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 6, "{csv}");

    let ada = app.get("/api/v1/contacts?externalId=crm-1", &admin).await?;
    let ada = &ada.body["data"][0];
    assert_eq!(ada["phone"], "+14155550100");
    assert_eq!(ada["email"], "ada@example.com");
    assert_eq!(ada["timezone"], "Europe/Paris");
    assert_eq!(ada["attributes"], serde_json::json!({"plan": "gold"}));
    let gus = app.get("/api/v1/contacts?externalId=crm-8", &admin).await?;
    assert_eq!(gus.body["data"][0]["name"], "Gus, \"the\" great");
    let before = contacts(&app).await?;
    assert_eq!(before.len(), 3);

    // The same file again: nothing changes, nothing is duplicated.
    let again = import(&app, "kind=contacts&defaultCountry=US", FILE).await?;
    assert_eq!(counts(&again), [8, 0, 0, 3, 5], "{again}");
    assert_eq!(
        contacts(&app).await?,
        before,
        "a re-upload changes no contact"
    );

    // A corrected file: the fixed rows are created, the changed one updated, the rest unchanged.
    let corrected = FILE
        .replace("not-an-email", "cy@example.com")
        .replace("Mars/Olympus", "Asia/Tokyo")
        .replace(",Bob,", ",Robert,");
    let fixed = import(&app, "kind=contacts&defaultCountry=US", &corrected).await?;
    assert_eq!(counts(&fixed), [8, 2, 1, 2, 3], "{fixed}");
    let after = contacts(&app).await?;
    assert_eq!(after.len(), 5, "two new contacts, no duplicate");
    assert!(after.iter().any(|contact| contact["name"] == "Robert"));

    let list = app.get("/api/v1/imports?limit=2", &admin).await?;
    assert_eq!(list.body["data"].as_array().map(Vec::len), Some(2));
    let rest = app
        .get(
            &format!("/api/v1/imports?limit=2&cursor={}", list.str("nextCursor")),
            &admin,
        )
        .await?;
    assert_eq!(rest.body["data"][0]["id"], fixed["id"]);
    app.stop().await
}

fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

async fn gzip_and_multipart_bodies_import_and_progress_is_streamed(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start(database).await?;
    let url = format!("ws://{}/ws", app.address);
    let mut client = WsClient::connect(&url, Some(&app.admin_token)).await?;
    client.until("authenticated").await?;
    client.subscribe("tenant", None).await?;

    // National numbers of the default country; gzip said by Content-Encoding.
    let national = "number,name\n020 7946 0958,London\n07700 900123,Mobile\n";
    let reply = upload(
        &app,
        "kind=contacts&defaultCountry=GB",
        "text/csv",
        Some("gzip"),
        gzip(national.as_bytes())?,
    )
    .await?;
    let said = finished(&app, reply).await?;
    assert_eq!(counts(&said), [2, 2, 0, 0, 0], "{said}");
    let london = app
        .get("/api/v1/contacts?phone=%2B442079460958", &app.admin())
        .await?;
    assert_eq!(london.body["data"][0]["name"], "London");

    let events = client.events(2).await?;
    let types: Vec<&str> = events
        .iter()
        .map(|event| event["event"]["event"]["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(types, ["import_progress", "import_completed"], "{events:?}");
    assert_eq!(events[1]["event"]["event"]["created"], 2);
    assert_eq!(
        events[1]["event"]["stream"],
        format!("import:{}", said["id"].as_str().unwrap_or_default())
    );

    // Gzip recognised by its first bytes alone.
    let unsaid = "phone\n+14155550199\n";
    let reply = upload(
        &app,
        "kind=contacts",
        "application/octet-stream",
        None,
        gzip(unsaid.as_bytes())?,
    )
    .await?;
    assert_eq!(counts(&finished(&app, reply).await?), [1, 1, 0, 0, 0]);

    // A multipart file, named, after a field that is not a file.
    let boundary = "import-boundary";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nweekly\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\n\
         Content-Type: text/csv\r\n\r\nPhone Number,name\n+14155550198,Multi\n\r\n--{boundary}--\r\n"
    );
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let reply = upload(
        &app,
        "kind=contacts",
        &content_type,
        None,
        form.into_bytes(),
    )
    .await?;
    let multipart = finished(&app, reply).await?;
    assert_eq!(counts(&multipart), [1, 1, 0, 0, 0]);
    assert_eq!(multipart["fileName"], "people.csv");
    app.stop().await
}

async fn bad_files_are_refused_whole(database: TestDatabase) -> anyhow::Result<()> {
    let app = TestApp::spawn_with(database, CancellationToken::new(), |config| {
        config.imports.max_bytes = 1000;
    })
    .await?;
    let refused = |status: u16, code: &'static str, hint: &'static str| {
        move |reply: Reply| {
            assert_eq!(reply.status, status, "{}", reply.text);
            assert_eq!(error_code(&reply), code);
            assert!(reply.text.contains(hint), "{hint}: {}", reply.text);
        }
    };
    let csv = |body: &[u8]| body.to_vec();
    refused(422, "validation_failed", "no phone column")(
        upload(
            &app,
            "kind=contacts",
            "text/csv",
            None,
            csv(b"name,email\nAda,a@b.co\n"),
        )
        .await?,
    );
    refused(422, "validation_failed", "header row is required")(
        upload(&app, "kind=contacts", "text/csv", None, Vec::new()).await?,
    );
    refused(422, "validation_failed", "not UTF-8 text (line 3)")(
        upload(
            &app,
            "kind=contacts",
            "text/csv",
            None,
            csv(b"phone\n+14155550100\n+1415\xff\n"),
        )
        .await?,
    );
    refused(422, "validation_failed", "xlsx")(
        upload(
            &app,
            "kind=contacts",
            "text/csv",
            None,
            csv(b"PK\x03\x04 spreadsheet"),
        )
        .await?,
    );
    refused(422, "validation_failed", "gzip data is corrupt")(
        upload(
            &app,
            "kind=contacts",
            "text/csv",
            Some("gzip"),
            csv(b"\x1f\x8b\x08 cut"),
        )
        .await?,
    );
    let large = format!("phone\n{}", "+14155550100\n".repeat(100));
    refused(413, "payload_too_large", "imports.max_bytes")(
        upload(&app, "kind=contacts", "text/csv", None, large.into_bytes()).await?,
    );
    refused(400, "bad_request", "supported kinds: contacts, calls")(
        upload(&app, "kind=people", "text/csv", None, csv(b"phone\n")).await?,
    );
    refused(422, "validation_failed", "campaignId")(
        upload(&app, "kind=calls", "text/csv", None, csv(b"phone\n")).await?,
    );
    refused(422, "validation_failed", "defaultCountry")(
        upload(
            &app,
            "kind=contacts&defaultCountry=XX",
            "text/csv",
            None,
            csv(b"phone\n"),
        )
        .await?,
    );
    refused(415, "unsupported_media_type", "text/csv")(
        upload(&app, "kind=contacts", "application/json", None, csv(b"{}")).await?,
    );
    refused(404, "not_found", "import")(
        app.get(
            "/api/v1/imports/01a24a68-97ee-732f-b24b-c8f42a5ebe1d",
            &app.admin(),
        )
        .await?,
    );

    // Nothing of a refused file was kept or applied.
    let imports = app.get("/api/v1/imports", &app.admin()).await?;
    assert_eq!(
        imports.body["data"],
        serde_json::json!([]),
        "{}",
        imports.text
    );
    assert!(contacts(&app).await?.is_empty());
    let viewer = Credential::None;
    assert_eq!(app.get("/api/v1/imports", &viewer).await?.status, 401);
    app.stop().await
}
