//! Imports: a batch commits with the checkpoint it starts from, so a batch applied twice (two
//! nodes, or a retry after an unknown outcome) is refused the second time and changes nothing;
//! the file's pieces are read back by offset; a receiving import is invisible and discarded whole.

use switchboard_core::{Attributes, ImportKind, ImportStatus};
use switchboard_store::{
    ImportBatch, ImportChunk, ImportRow, NewImport, OpenImport, PageRequest, StoreError,
};
use switchboard_test_database::{TestDatabase, backend_tests};

use crate::fixtures::{TestResult, open};

backend_tests!(
    a_batch_applies_once_from_its_checkpoint,
    a_refused_upload_leaves_nothing
);

fn row(line: i64, phone: &str, name: &str) -> ImportRow {
    ImportRow {
        line,
        phone: phone.into(),
        name: Some(name.into()),
        external_id: None,
        email: None,
        timezone: None,
        attributes: Attributes::from([("plan".to_owned(), "gold".to_owned())]),
    }
}

fn new_import() -> NewImport {
    NewImport {
        kind: ImportKind::Contacts,
        options: serde_json::json!({}),
        file_name: Some("people.csv".into()),
    }
}

async fn a_batch_applies_once_from_its_checkpoint(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let tenant = store.create_tenant("acme".into()).await?.id;
    let id = store.begin_import(tenant, new_import()).await?;
    let text = "phone,name\n+14155550100,Ada\n+14155550101,Bob\n";
    for (seq, (offset, piece)) in [(0, &text[..20]), (20, &text[20..])]
        .into_iter()
        .enumerate()
    {
        let chunk = ImportChunk {
            byte_offset: offset,
            content: piece.into(),
        };
        store.append_import_chunk(id, seq as i64, chunk).await?;
    }
    let opened = OpenImport {
        total_bytes: text.len() as i64,
        rows_total: 2,
        first_offset: 11,
        first_line: 2,
        options: serde_json::json!({"header": ["phone", "name"]}),
    };
    let import = store.open_import(tenant, id, opened).await?;
    assert_eq!(import.status, ImportStatus::Running);
    let piece = store
        .import_chunk_at(id, 25)
        .await?
        .map(|chunk| chunk.byte_offset);
    assert_eq!(piece, Some(20), "the piece holding offset 25");
    assert!(
        store
            .import_chunk_at(id, text.len() as i64)
            .await?
            .is_none()
    );

    let batch = || ImportBatch {
        from_offset: 11,
        rows: vec![
            row(2, "+14155550100", "Ada"),
            row(3, "+14155550100", "Ada twice"),
        ],
        rows_read: 2,
        next_offset: text.len() as i64,
        next_line: 4,
        last: true,
        ..ImportBatch::default()
    };
    let counts = store.apply_import_batch(tenant, id, batch()).await?;
    assert_eq!((counts.rows_read, counts.created, counts.failed), (2, 1, 1));
    let again = store.apply_import_batch(tenant, id, batch()).await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );

    let import = store.get_import(tenant, id).await?;
    assert_eq!(import.status, ImportStatus::Completed);
    assert_eq!((import.rows_read, import.created, import.failed), (2, 1, 1));
    let errors = store
        .import_errors(tenant, id, &PageRequest::first(10))
        .await?;
    assert_eq!(errors.data.len(), 1);
    assert_eq!(errors.data[0].message, "the same contact as line 2");
    let contacts = store
        .list_contacts(tenant, None, None, &PageRequest::first(10))
        .await?;
    assert_eq!(contacts.data.len(), 1, "applied once");
    assert_eq!(
        contacts.data[0].attributes.get("plan").map(String::as_str),
        Some("gold")
    );
    assert!(
        store.import_chunk_at(id, 0).await?.is_none(),
        "the file is deleted with the end"
    );
    Ok(())
}

async fn a_refused_upload_leaves_nothing(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let tenant = store.create_tenant("acme".into()).await?.id;
    let id = store.begin_import(tenant, new_import()).await?;
    let chunk = ImportChunk {
        byte_offset: 0,
        content: "phone\n".into(),
    };
    store.append_import_chunk(id, 0, chunk).await?;
    assert!(
        store
            .list_imports(tenant, &PageRequest::first(10))
            .await?
            .data
            .is_empty()
    );
    assert!(matches!(
        store.get_import(tenant, id).await,
        Err(StoreError::NotFound { .. })
    ));
    store.discard_import(id).await?;
    assert!(store.import_chunk_at(id, 0).await?.is_none());
    assert_eq!(
        store.discard_abandoned_uploads(0).await?,
        0,
        "nothing left to discard"
    );
    Ok(())
}
