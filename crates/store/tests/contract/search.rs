//! Full-text search: ranked, scoped to the tenant and optionally a conversation, and safe for
//! whatever a user types.

use anyhow::Context as _;
use futures::{StreamExt as _, TryStreamExt as _};
use switchboard_core::ConversationId;
use switchboard_store::{
    DatabaseOptions, POSTGRES_WINDOW, PageRequest, SQLITE_WINDOW, SearchQuery, Store, StoreError,
};
use switchboard_test_database::{TestDatabase, backend_tests};

use crate::fixtures::{TestResult, all_messages, direct, inbound, open, tenancy};

backend_tests!(
    search_is_ranked_and_scoped,
    search_accepts_any_text_but_needs_a_word,
    search_sees_concurrent_writes_and_deletes,
    search_indexes_on_a_store_that_did_not_migrate,
    a_broad_word_ranks_recent_matches_and_a_rare_one_every_match,
);

async fn search_is_ranked_and_scoped(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let rival = tenancy(&store, "rival").await?;
    let tenant = acme.tenant.id;
    let first = acme.conversation.id;
    let second = store
        .create_conversation(tenant, acme.operator.id, direct(acme.channel.id, None))
        .await?
        .id;
    let texts = [
        (first, "the parcel arrived damaged"),
        (first, "parcel parcel parcel, where is my parcel refund"),
        (first, "thanks for the quick answer"),
        (second, "is my parcel on its way"),
    ];
    let mut stored = Vec::new();
    for (conversation, text) in texts {
        stored.push(
            store
                .append_message(tenant, inbound(conversation, text))
                .await?
                .message,
        );
    }
    store
        .append_message(
            rival.tenant.id,
            inbound(rival.conversation.id, "rival parcel parcel parcel parcel"),
        )
        .await?;

    let search = |text: &str, conversation_id: Option<ConversationId>, limit: u32| {
        let store = store.clone();
        let query = SearchQuery {
            text: text.to_owned(),
            conversation_id,
        };
        async move {
            anyhow::Ok(
                store
                    .search_messages(tenant, &query, &PageRequest::first(limit))
                    .await?,
            )
        }
    };
    let hits = search("parcel", None, 20).await?.data;
    assert_eq!(hits.len(), 3, "only this tenant's messages: {hits:?}");
    assert!(hits.iter().all(|hit| hit.message.tenant_id == tenant));
    assert_eq!(
        hits[0].message.id, stored[1].id,
        "the message most about parcels ranks first"
    );
    assert!(
        hits.windows(2).all(|pair| pair[0].rank >= pair[1].rank),
        "best first"
    );

    let in_second = search("parcel", Some(second), 20).await?.data;
    assert_eq!(
        in_second
            .iter()
            .map(|hit| hit.message.id)
            .collect::<Vec<_>>(),
        vec![stored[3].id]
    );
    let all_words = search("parcel refund", None, 20).await?.data;
    assert_eq!(
        all_words
            .iter()
            .map(|hit| hit.message.id)
            .collect::<Vec<_>>(),
        vec![stored[1].id],
        "every word must appear"
    );
    let phrase = search("\"arrived damaged\"", None, 20).await?.data;
    assert_eq!(
        phrase.iter().map(|hit| hit.message.id).collect::<Vec<_>>(),
        vec![stored[0].id]
    );
    let out_of_order = search("\"damaged arrived\"", None, 20).await?.data;
    assert!(out_of_order.is_empty(), "a phrase matches in order only");
    assert_eq!(
        search("PARCEL", None, 20).await?.data.len(),
        3,
        "case does not matter"
    );

    let first_page = search("parcel", None, 2).await?;
    let cursor = first_page
        .next_cursor
        .clone()
        .context("a third hit remains")?;
    let query = SearchQuery {
        text: "parcel".into(),
        conversation_id: None,
    };
    let second_page = store
        .search_messages(
            tenant,
            &query,
            &PageRequest {
                limit: Some(2),
                cursor: Some(cursor),
            },
        )
        .await?;
    let mut paged: Vec<_> = first_page
        .data
        .iter()
        .chain(&second_page.data)
        .map(|hit| hit.message.id)
        .collect();
    assert_eq!(second_page.next_cursor, None);
    paged.sort();
    paged.dedup();
    assert_eq!(paged.len(), 3, "pages cover every hit once");
    Ok(())
}

async fn search_accepts_any_text_but_needs_a_word(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    store
        .append_message(
            tenant,
            inbound(acme.conversation.id, "order 42 is late, NEAR the depot"),
        )
        .await?;
    let search = |text: &str| {
        let store = store.clone();
        let query = SearchQuery {
            text: text.to_owned(),
            conversation_id: None,
        };
        async move {
            store
                .search_messages(tenant, &query, &PageRequest::default())
                .await
        }
    };
    // What users type, including what the engines would read as syntax, is searched as words.
    for text in [
        "order-42*",
        "late OR never",
        "NEAR(order late)",
        "order AND",
        "-late",
        "late:*",
        "\"unclosed phrase",
        "(order",
        "'; DROP TABLE messages; --",
        "order & | ! <->",
        "ümlaut café",
        "order^2 {late}",
    ] {
        let result = search(text).await;
        assert!(
            result.is_ok(),
            "`{text}` must not be a syntax error: {result:?}"
        );
    }
    let hits = search("order-42*").await?.data;
    assert_eq!(hits.len(), 1, "punctuation separates words: order, 42");
    let near = search("NEAR(depot)").await?.data;
    assert_eq!(near.len(), 1, "NEAR is a word here, not an operator");
    for empty in ["", "   ", "*** ()", "\"\""] {
        let result = search(empty).await;
        assert!(
            matches!(result, Err(StoreError::InvalidSearch(_))),
            "`{empty}` has no words: {result:?}"
        );
    }
    // The injection attempt above was only ever searched for.
    assert_eq!(
        all_messages(&store, tenant, acme.conversation.id)
            .await?
            .len(),
        1
    );
    Ok(())
}

/// Messages written together share commits (on SQLite they are indexed once per group commit):
/// each is searchable once stored, and a deleted one is gone from search, while deletes of
/// earlier messages commit among new appends.
async fn search_sees_concurrent_writes_and_deletes(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    let conversation = acme.conversation.id;
    let append_many = |from: usize, count: usize| {
        let store = store.clone();
        async move {
            let appends = (from..from + count).map(|n| {
                let store = store.clone();
                async move {
                    let text = format!("zebra number{n}");
                    store
                        .append_message(tenant, inbound(conversation, &text))
                        .await
                }
            });
            futures::future::try_join_all(appends).await
        }
    };
    let first = append_many(0, 40).await?;
    let deletes = first.iter().step_by(2).map(|stored| {
        let store = store.clone();
        let id = stored.message.id;
        async move { store.delete_message(tenant, id).await }
    });
    let (deleted, second) =
        tokio::join!(futures::future::try_join_all(deletes), append_many(40, 40));
    let (deleted, second) = (deleted?, second?);

    let query = SearchQuery {
        text: "zebra".into(),
        conversation_id: None,
    };
    let hits = store
        .search_messages(tenant, &query, &PageRequest::first(100))
        .await?
        .data;
    let mut found: Vec<_> = hits.iter().map(|hit| hit.message.id).collect();
    found.sort();
    let deleted_ids: Vec<_> = deleted.iter().map(|(message, _)| message.id).collect();
    let mut live: Vec<_> = first
        .iter()
        .chain(&second)
        .map(|stored| stored.message.id)
        .filter(|id| !deleted_ids.contains(id))
        .collect();
    live.sort();
    assert_eq!(live.len(), 60);
    assert_eq!(found, live, "search finds exactly the live messages");
    let one = store
        .search_messages(
            tenant,
            &SearchQuery {
                text: "number41".into(),
                conversation_id: None,
            },
            &PageRequest::first(10),
        )
        .await?
        .data;
    assert_eq!(one.len(), 1, "each message is indexed under its own words");
    Ok(())
}

/// A node that opens an already migrated database (another node migrated it) indexes what it
/// stores all the same.
async fn search_indexes_on_a_store_that_did_not_migrate(database: TestDatabase) -> TestResult {
    let _migrated = open(&database).await;
    let store = Store::connect(DatabaseOptions::new(database.url())).await?;
    let acme = tenancy(&store, "acme").await?;
    let stored = store
        .append_message(
            acme.tenant.id,
            inbound(acme.conversation.id, "walrus spotted"),
        )
        .await?
        .message;
    let query = SearchQuery {
        text: "walrus".into(),
        conversation_id: None,
    };
    let hits = store
        .search_messages(acme.tenant.id, &query, &PageRequest::first(10))
        .await?
        .data;
    assert_eq!(
        hits.iter().map(|hit| hit.message.id).collect::<Vec<_>>(),
        vec![stored.id]
    );
    Ok(())
}

/// Past the window (SQLite: the newest matches; PostgreSQL: the newest messages), a broad word
/// ranks recent matches only: an old message that matches it best is not among them. A word whose
/// matches are all older than the window is still found, and paging covers the window's matches
/// once each.
async fn a_broad_word_ranks_recent_matches_and_a_rare_one_every_match(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    let conversation = acme.conversation.id;
    let old = store
        .append_message(
            tenant,
            inbound(conversation, "walrus parcel parcel parcel parcel parcel"),
        )
        .await?
        .message;
    let recent = usize::try_from(SQLITE_WINDOW.max(POSTGRES_WINDOW))? + 100;
    futures::stream::iter(0..recent)
        .map(|n| {
            let store = store.clone();
            async move {
                let text = format!("parcel number{n}");
                store
                    .append_message(tenant, inbound(conversation, &text))
                    .await
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await?;
    let search = |text: &str, cursor: Option<String>| {
        let store = store.clone();
        let query = SearchQuery {
            text: text.to_owned(),
            conversation_id: None,
        };
        async move {
            let page = PageRequest {
                limit: Some(PageRequest::MAX_LIMIT),
                cursor,
            };
            anyhow::Ok(store.search_messages(tenant, &query, &page).await?)
        }
    };

    let best = search("parcel", None).await?;
    assert_eq!(best.data.len(), PageRequest::MAX_LIMIT as usize);
    assert!(
        best.data.iter().all(|hit| hit.message.id != old.id),
        "the oldest match is outside the window, however well it matches"
    );
    let walrus = search("walrus", None).await?.data;
    assert_eq!(
        walrus.iter().map(|hit| hit.message.id).collect::<Vec<_>>(),
        vec![old.id],
        "a match older than the window is found when the window holds none"
    );

    let mut cursor = None;
    let mut seen = Vec::new();
    loop {
        let page = search("parcel", cursor).await?;
        seen.extend(page.data.iter().map(|hit| hit.message.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let ranked = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), ranked, "no match on two pages");
    assert!(!seen.contains(&old.id));
    assert!(
        (usize::try_from(SQLITE_WINDOW.min(POSTGRES_WINDOW))?..=recent).contains(&ranked),
        "the window's matches, {ranked}, are at least the smaller window"
    );
    Ok(())
}
