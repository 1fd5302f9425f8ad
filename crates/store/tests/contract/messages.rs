//! Messages: gap-free `seq` under concurrent appends, redelivery stored once, paging both ways,
//! soft delete; and a failed write in a group commit leaving its neighbours committed.

use std::collections::HashSet;
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::json;
use switchboard_core::{AuthorKind, ConversationId, UserId};
use switchboard_store::{
    MessageOrder, NewChannel, NewMessage, PageRequest, SearchQuery, StoreError,
};
use switchboard_test_database::{TestDatabase, backend_tests};
use tokio::sync::Barrier;

use crate::fixtures::{
    TestResult, all_messages, api_channel, append_concurrently, assert_conflict,
    assert_foreign_key, assert_not_found, direct, inbound, new_user, open, reply, tenancy,
};

backend_tests!(
    concurrent_appends_get_gap_free_seqs,
    redelivered_provider_message_is_stored_once,
    messages_page_backward_and_forward,
    deleted_message_keeps_its_seq_and_leaves_search,
    failed_write_in_a_batch_leaves_the_others_committed,
);

async fn concurrent_appends_get_gap_free_seqs(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    let mut seqs = Vec::new();
    for appended in append_concurrently(&store, tenant, conversation, 50).await? {
        assert!(appended.created);
        seqs.push(appended.message.seq);
    }
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=50).collect::<Vec<i64>>(),
        "each append got its own seq, no gaps"
    );

    let stored = all_messages(&store, tenant, conversation).await?;
    assert_eq!(stored.iter().map(|m| m.seq).collect::<Vec<_>>(), seqs);
    let texts: HashSet<String> = stored.iter().filter_map(|m| m.text.clone()).collect();
    assert_eq!(texts.len(), 50, "every message was stored");
    let conversation = store
        .get_conversation(tenant, acme.operator.id, conversation)
        .await?;
    assert_eq!(conversation.last_seq, 50);
    assert_eq!(
        conversation.last_message.map(|preview| preview.seq),
        Some(50)
    );
    Ok(())
}

async fn redelivered_provider_message_is_stored_once(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    let delivered = |provider_id: &str, text: &str| NewMessage {
        provider_message_id: Some(provider_id.to_owned()),
        ..inbound(conversation, text)
    };
    let first = store
        .append_message(tenant, delivered("wamid.1", "hello"))
        .await?;
    assert!(first.created);
    let again = store
        .append_message(tenant, delivered("wamid.1", "hello (retry)"))
        .await?;
    assert!(!again.created, "a redelivery is recognised");
    assert_eq!(
        again.message, first.message,
        "and answered with the stored message"
    );

    let next = store
        .append_message(tenant, delivered("wamid.2", "second"))
        .await?;
    assert_eq!(next.message.seq, 2, "the redelivery did not use up a seq");
    let listed = all_messages(&store, tenant, conversation).await?;
    assert_eq!(
        listed.iter().map(|m| m.text.as_deref()).collect::<Vec<_>>(),
        vec![Some("hello"), Some("second")]
    );

    // Provider ids are unique per channel: another channel may reuse one.
    let web = store
        .create_channel(
            tenant,
            NewChannel {
                name: "web".into(),
                agent_id: None,
                config: api_channel("x")?,
            },
        )
        .await?;
    let elsewhere = store
        .create_conversation(tenant, acme.operator.id, direct(web.id, None))
        .await?;
    let reused = NewMessage {
        provider_message_id: Some("wamid.1".into()),
        ..inbound(elsewhere.id, "other channel")
    };
    let appended = store.append_message(tenant, reused).await?;
    assert!(appended.created);
    assert_eq!(appended.message.channel_id, web.id);
    Ok(())
}

async fn messages_page_backward_and_forward(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    for index in 1..=12 {
        store
            .append_message(tenant, inbound(conversation, &format!("line {index}")))
            .await?;
    }
    let walk = |order: MessageOrder| {
        let store = store.clone();
        async move {
            let mut pages = Vec::new();
            let mut page = PageRequest::first(5);
            loop {
                let listed = store
                    .list_messages(tenant, conversation, order, &page)
                    .await?;
                pages.push(listed.data.iter().map(|m| m.seq).collect::<Vec<_>>());
                let Some(cursor) = listed.next_cursor else {
                    break;
                };
                page.cursor = Some(cursor);
            }
            anyhow::Ok(pages)
        }
    };
    assert_eq!(
        walk(MessageOrder::Backward).await?,
        vec![vec![12, 11, 10, 9, 8], vec![7, 6, 5, 4, 3], vec![2, 1]],
        "newest first, then older pages"
    );
    assert_eq!(
        walk(MessageOrder::Forward).await?,
        vec![vec![1, 2, 3, 4, 5], vec![6, 7, 8, 9, 10], vec![11, 12]]
    );
    let latest = store
        .list_messages(
            tenant,
            conversation,
            MessageOrder::Backward,
            &PageRequest::first(1),
        )
        .await?;
    assert_eq!(latest.data[0].text.as_deref(), Some("line 12"));
    let forged = PageRequest {
        limit: None,
        cursor: Some("%%%".into()),
    };
    assert!(matches!(
        store
            .list_messages(tenant, conversation, MessageOrder::Forward, &forged)
            .await,
        Err(StoreError::InvalidCursor)
    ));
    Ok(())
}

async fn deleted_message_keeps_its_seq_and_leaves_search(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    store
        .append_message(tenant, inbound(conversation, "keep this"))
        .await?;
    let secret = NewMessage {
        content: Some(json!({ "card": "4111" })),
        ..inbound(conversation, "my card number is xylophone")
    };
    let doomed = store.append_message(tenant, secret).await?.message;
    store
        .append_message(tenant, inbound(conversation, "keep this too"))
        .await?;
    let query = SearchQuery {
        text: "xylophone".into(),
        conversation_id: None,
    };
    assert_eq!(
        store
            .search_messages(tenant, &query, &PageRequest::default())
            .await?
            .data
            .len(),
        1
    );

    let (deleted, event) = store.delete_message(tenant, doomed.id).await?;
    let event: serde_json::Value = serde_json::from_str(&event.payload)?;
    assert_eq!(event["type"], "message_deleted");
    assert_eq!(event["messageId"], doomed.id.to_string());
    assert_eq!(deleted.seq, 2);
    assert!(deleted.deleted_at.is_some());
    assert_eq!(
        (deleted.text, deleted.content),
        (None, None),
        "a deleted message shows no content"
    );
    let listed = all_messages(&store, tenant, conversation).await?;
    let shown: Vec<(i64, Option<&str>)> =
        listed.iter().map(|m| (m.seq, m.text.as_deref())).collect();
    assert_eq!(
        shown,
        vec![
            (1, Some("keep this")),
            (2, None),
            (3, Some("keep this too"))
        ]
    );
    assert!(
        store
            .search_messages(tenant, &query, &PageRequest::default())
            .await?
            .data
            .is_empty(),
        "gone from search"
    );
    let keep = SearchQuery {
        text: "keep".into(),
        conversation_id: None,
    };
    assert_eq!(
        store
            .search_messages(tenant, &keep, &PageRequest::default())
            .await?
            .data
            .len(),
        2
    );

    let next = store
        .append_message(tenant, inbound(conversation, "after"))
        .await?;
    assert_eq!(
        next.message.seq, 4,
        "a deleted message's seq is never reused"
    );
    assert_not_found(store.delete_message(tenant, doomed.id).await);
    Ok(())
}

async fn failed_write_in_a_batch_leaves_the_others_committed(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let outsider = tenancy(&store, "outsider").await?.operator.id;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    store.create_user(tenant, new_user("taken")).await?;

    // Everyone starts at once so the writes share commits: good and bad side by side. A reply
    // signed by another tenant's user fails only after taking a seq and inserting its message,
    // so it shows whether a failed write is undone completely.
    let writers = 60;
    let start = Arc::new(Barrier::new(writers));
    let mut tasks = Vec::new();
    for index in 0..writers {
        let (store, start) = (store.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let text = format!("batch {index}");
            match index % 5 {
                0 => Outcome::User(
                    store
                        .create_user(tenant, new_user(&format!("user-{index}")))
                        .await
                        .map(|user| user.id),
                ),
                1 => Outcome::Duplicate(
                    store
                        .create_user(tenant, new_user("taken"))
                        .await
                        .map(|user| user.id),
                ),
                2 => Outcome::Message(
                    store
                        .append_message(tenant, inbound(conversation, &text))
                        .await
                        .map(|appended| appended.message.seq),
                ),
                3 => Outcome::Orphan(
                    store
                        .append_message(tenant, inbound(ConversationId::new(), &text))
                        .await
                        .map(|appended| appended.message.seq),
                ),
                _ => Outcome::Impostor(
                    store
                        .append_message(tenant, reply(conversation, outsider, &text))
                        .await
                        .map(|appended| appended.message.seq),
                ),
            }
        }));
    }
    let mut users = Vec::new();
    let mut seqs = Vec::new();
    for task in tasks {
        match task.await? {
            Outcome::User(result) => users.push(result?),
            Outcome::Duplicate(result) => assert_conflict(result),
            Outcome::Message(result) => seqs.push(result?),
            Outcome::Orphan(result) => assert_not_found(result),
            Outcome::Impostor(result) => assert_foreign_key(result),
        }
    }
    assert_eq!(users.len(), 12);
    for user in &users {
        store
            .get_user(tenant, *user)
            .await
            .with_context(|| format!("user {user} committed"))?;
    }
    let listed = store
        .list_users(tenant, &PageRequest::first(200))
        .await?
        .data;
    assert_eq!(
        listed.len(),
        1 + 1 + 12,
        "operator, taken, and every good write; no duplicate"
    );
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=12).collect::<Vec<i64>>(),
        "failed writes consumed no seq"
    );
    let messages = all_messages(&store, tenant, conversation).await?;
    assert_eq!(messages.len(), 12, "no half-written message survived");
    assert!(
        messages
            .iter()
            .all(|message| message.author_kind == AuthorKind::Contact)
    );
    let seen = store
        .get_conversation(tenant, acme.operator.id, conversation)
        .await?;
    assert_eq!(seen.last_seq, 12);
    Ok(())
}

/// What each concurrent writer in the batch test did.
enum Outcome {
    User(Result<UserId, StoreError>),
    Duplicate(Result<UserId, StoreError>),
    Message(Result<i64, StoreError>),
    Orphan(Result<i64, StoreError>),
    Impostor(Result<i64, StoreError>),
}
