//! Conversations as an inbox shows them: who is in them, newest activity first, every row once
//! across pages, narrowed by filters, with a preview of the last message.

use anyhow::Context as _;
use switchboard_core::{
    Assignment, AuthorKind, ConversationId, ConversationStatus, ConversationType, Credits,
    MessageDirection, ParticipantKind, ParticipantRole, Timestamp,
};
use switchboard_store::{
    ConversationFilter, ConversationUpdate, MessageOrder, NewChannel, NewConversation,
    NewParticipant, PageRequest, StoreError,
};
use switchboard_test_database::{TestDatabase, backend_tests};

use crate::fixtures::{
    TestResult, api_channel, assert_conflict, assert_not_found, direct, echo_agent, everything,
    grant, inbound, next_millisecond, open, reply, tenancy,
};
use crate::turns::queued_runs;

backend_tests!(
    new_conversation_has_its_contact_as_member,
    participants_join_once_and_leave,
    conversations_list_newest_activity_first_and_pages_visit_each_once,
    conversation_filters_narrow_the_list,
    conversation_list_shows_the_last_message,
    a_turn_starts_from_its_conversation_balance_and_contact,
    turns_reading_at_once_each_read_their_own_conversation_and_history,
);

async fn new_conversation_has_its_contact_as_member(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let conversation = &acme.conversation;
    assert_eq!(conversation.status, ConversationStatus::Open);
    assert_eq!((conversation.last_seq, conversation.unread_count), (0, 0));
    assert!(conversation.last_message.is_none());
    assert_eq!(conversation.contact_id, Some(acme.contact.id));

    let participants = store
        .list_participants(acme.tenant.id, conversation.id)
        .await?;
    assert_eq!(participants.len(), 1);
    assert_eq!(participants[0].kind, ParticipantKind::Contact);
    assert_eq!(participants[0].contact_id, Some(acme.contact.id));
    assert_eq!(participants[0].role, ParticipantRole::Member);

    // A conversation without a contact (an internal thread) starts empty.
    let internal = store
        .create_conversation(
            acme.tenant.id,
            acme.operator.id,
            direct(acme.channel.id, None),
        )
        .await?;
    assert!(
        store
            .list_participants(acme.tenant.id, internal.id)
            .await?
            .is_empty()
    );
    Ok(())
}

/// An agent's turn reads what it starts from in one go: the conversation, the tenant's
/// balance, and the contact (none for a conversation without one).
async fn a_turn_starts_from_its_conversation_balance_and_contact(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    grant(&store, tenant, 7, "grant-1").await?;
    let subject = store
        .conversation_for_turn(tenant, acme.conversation.id)
        .await?;
    assert_eq!(subject.conversation.id, acme.conversation.id);
    assert_eq!(subject.balance, Credits(7));
    assert_eq!(subject.contact, Some(acme.contact.clone()));

    let internal = store
        .create_conversation(tenant, acme.operator.id, direct(acme.channel.id, None))
        .await?;
    let subject = store.conversation_for_turn(tenant, internal.id).await?;
    assert_eq!(subject.contact, None);
    let other = tenancy(&store, "globex").await?;
    assert_not_found(
        store
            .conversation_for_turn(other.tenant.id, acme.conversation.id)
            .await,
    );
    Ok(())
}

/// Turns starting at the same moment (on PostgreSQL, their reads share statements): each reads
/// its own conversation, balance and contact, and its own latest messages, oldest first; a
/// conversation of another tenant is found by neither read, and fails only its own.
async fn turns_reading_at_once_each_read_their_own_conversation_and_history(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    grant(&store, tenant, 7, "grant-1").await?;
    // Seven conversations, three of them with more messages than a read takes (two).
    let runs = queued_runs(&store, &acme, [0, 1, 1, 2, 2, 2, 3, 4, 5, 6, 6, 6, 6]).await?;
    let mut conversations: Vec<ConversationId> = Vec::new();
    for run in &runs {
        if !conversations.contains(&run.conversation_id) {
            conversations.push(run.conversation_id);
        }
    }
    let stranger = tenancy(&store, "globex").await?.conversation.id;
    let asked: Vec<ConversationId> = conversations.iter().copied().chain([stranger]).collect();

    let subjects = asked
        .iter()
        .map(|id| store.conversation_for_turn(tenant, *id));
    let histories = asked
        .iter()
        .map(|id| store.messages_before(tenant, *id, i64::MAX, 2));
    let (mut subjects, mut histories) = futures::future::join(
        futures::future::join_all(subjects),
        futures::future::join_all(histories),
    )
    .await;

    assert_not_found(subjects.pop().context("the stranger's subject")?);
    assert!(
        histories
            .pop()
            .context("the stranger's history")??
            .is_empty()
    );
    for ((id, subject), history) in conversations.iter().zip(subjects).zip(histories) {
        let subject = subject?;
        assert_eq!(subject.conversation.id, *id);
        assert_eq!(subject.balance, Credits(7));
        let contact = subject.contact.context("the conversation's contact")?;
        assert_eq!(subject.conversation.contact_id, Some(contact.id));
        let all = store
            .list_messages(tenant, *id, MessageOrder::Forward, &PageRequest::first(50))
            .await?
            .data;
        assert!(!all.is_empty() && all.iter().all(|message| message.conversation_id == *id));
        let latest = &all[all.len().saturating_sub(2)..];
        assert_eq!(history?, latest, "history of {id}");
    }
    Ok(())
}

async fn participants_join_once_and_leave(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    let agent = store.create_agent(tenant, echo_agent("bot")).await?;
    let operator = NewParticipant::User(acme.operator.id, ParticipantRole::Operator);
    let joined = store
        .add_participant(tenant, conversation, operator)
        .await?;
    assert_eq!(
        (joined.kind, joined.role, joined.user_id),
        (
            ParticipantKind::User,
            ParticipantRole::Operator,
            Some(acme.operator.id)
        )
    );
    assert_conflict(store.add_participant(tenant, conversation, operator).await);
    assert_conflict(
        store
            .add_participant(
                tenant,
                conversation,
                NewParticipant::Contact(acme.contact.id, ParticipantRole::Member),
            )
            .await,
    );
    store
        .add_participant(
            tenant,
            conversation,
            NewParticipant::Agent(agent.id, ParticipantRole::Bot),
        )
        .await?;
    assert_eq!(
        store.list_participants(tenant, conversation).await?.len(),
        3
    );

    store
        .remove_participant(tenant, conversation, joined.id)
        .await?;
    let remaining = store.list_participants(tenant, conversation).await?;
    assert!(
        remaining
            .iter()
            .all(|participant| participant.id != joined.id)
    );
    assert_eq!(remaining.len(), 2);
    assert_not_found(
        store
            .remove_participant(tenant, conversation, joined.id)
            .await,
    );
    // Having left, they may join again.
    store
        .add_participant(tenant, conversation, operator)
        .await?;
    Ok(())
}

async fn conversations_list_newest_activity_first_and_pages_visit_each_once(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, viewer) = (acme.tenant.id, acme.operator.id);
    // Created back to back, many share a millisecond: the id must break ties consistently.
    let mut created = vec![acme.conversation.id];
    for _ in 0..22 {
        created.push(
            store
                .create_conversation(tenant, viewer, direct(acme.channel.id, None))
                .await?
                .id,
        );
    }

    // Activity reorders the list: the last conversation written to comes first.
    let touched = [created[3], created[17], created[0]];
    for conversation in touched {
        next_millisecond().await;
        store
            .append_message(tenant, inbound(conversation, "ping"))
            .await?;
    }
    let whole = store
        .list_conversations(tenant, viewer, &everything(), &PageRequest::first(200))
        .await?;
    assert!(whole.next_cursor.is_none());
    let order: Vec<ConversationId> = whole.data.iter().map(|c| c.id).collect();
    assert_eq!(&order[..3], &[created[0], created[17], created[3]]);
    assert!(
        whole
            .data
            .windows(2)
            .all(|pair| (pair[0].last_activity_at, pair[0].id)
                > (pair[1].last_activity_at, pair[1].id)),
        "strictly newest activity first, then id"
    );

    for limit in [1, 4, 5, 22] {
        let mut visited = Vec::new();
        let mut page = PageRequest::first(limit);
        loop {
            let listed = store
                .list_conversations(tenant, viewer, &everything(), &page)
                .await?;
            assert!(listed.data.len() <= limit as usize);
            visited.extend(listed.data.iter().map(|c| c.id));
            let Some(cursor) = listed.next_cursor else {
                break;
            };
            page.cursor = Some(cursor);
        }
        assert_eq!(
            visited, order,
            "pages of {limit} visit every conversation once, in order"
        );
    }
    let forged = PageRequest {
        limit: Some(5),
        cursor: Some("not-a-cursor!".into()),
    };
    assert!(matches!(
        store
            .list_conversations(tenant, viewer, &everything(), &forged)
            .await,
        Err(StoreError::InvalidCursor)
    ));
    Ok(())
}

async fn conversation_filters_narrow_the_list(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, viewer) = (acme.tenant.id, acme.operator.id);
    let second_channel = store
        .create_channel(
            tenant,
            NewChannel {
                name: "web".into(),
                agent_id: None,
                config: api_channel("other")?,
            },
        )
        .await?;
    let on_second = store
        .create_conversation(tenant, viewer, direct(second_channel.id, None))
        .await?;
    let group = NewConversation {
        conversation_type: ConversationType::Group,
        ..direct(acme.channel.id, None)
    };
    let group = store.create_conversation(tenant, viewer, group).await?;
    let business = |business_id: &str| NewConversation {
        conversation_type: ConversationType::Business,
        business_id: Some(business_id.to_owned()),
        ..direct(acme.channel.id, None)
    };
    let bakery = store
        .create_conversation(tenant, viewer, business("bakery"))
        .await?;
    let florist = store
        .create_conversation(tenant, viewer, business("florist"))
        .await?;

    let ids = |filter: ConversationFilter| {
        let store = store.clone();
        async move {
            let page = store
                .list_conversations(tenant, viewer, &filter, &PageRequest::first(200))
                .await?;
            let mut ids: Vec<ConversationId> = page.data.iter().map(|c| c.id).collect();
            ids.sort();
            anyhow::Ok(ids)
        }
    };
    let sorted = |mut ids: Vec<ConversationId>| {
        ids.sort();
        ids
    };

    assert_eq!(ids(everything()).await?.len(), 5);
    let by_channel = ConversationFilter {
        channel_id: Some(second_channel.id),
        ..everything()
    };
    assert_eq!(ids(by_channel).await?, vec![on_second.id]);
    let by_type = ConversationFilter {
        conversation_type: Some(ConversationType::Group),
        ..everything()
    };
    assert_eq!(ids(by_type).await?, vec![group.id]);
    let businesses = ConversationFilter {
        conversation_type: Some(ConversationType::Business),
        ..everything()
    };
    assert_eq!(ids(businesses).await?, sorted(vec![bakery.id, florist.id]));
    let by_business = ConversationFilter {
        business_id: Some("florist".into()),
        ..everything()
    };
    assert_eq!(ids(by_business).await?, vec![florist.id]);
    let by_contact = ConversationFilter {
        contact_id: Some(acme.contact.id),
        ..everything()
    };
    assert_eq!(ids(by_contact).await?, vec![acme.conversation.id]);

    next_millisecond().await;
    let since = Timestamp::now_utc();
    next_millisecond().await;
    let resolve = ConversationUpdate {
        status: Some(ConversationStatus::Resolved),
        ..Default::default()
    };
    store
        .update_conversation(tenant, viewer, group.id, resolve)
        .await?;
    store
        .append_message(tenant, inbound(bakery.id, "are you open?"))
        .await?;

    let resolved = ConversationFilter {
        status: Some(ConversationStatus::Resolved),
        ..everything()
    };
    assert_eq!(ids(resolved).await?, vec![group.id]);
    let open = ConversationFilter {
        status: Some(ConversationStatus::Open),
        ..everything()
    };
    assert_eq!(ids(open).await?.len(), 4);
    let recent = ConversationFilter {
        updated_since: Some(since),
        ..everything()
    };
    assert_eq!(
        ids(recent).await?,
        sorted(vec![group.id, bakery.id]),
        "only what changed since"
    );
    let combined = ConversationFilter {
        updated_since: Some(since),
        status: Some(ConversationStatus::Open),
        ..everything()
    };
    assert_eq!(
        ids(combined).await?,
        vec![bakery.id],
        "every filter set must match"
    );

    let unread = ConversationFilter {
        unread: true,
        ..everything()
    };
    assert_eq!(ids(unread.clone()).await?, vec![bakery.id]);
    store.mark_read(tenant, bakery.id, viewer, None).await?;
    assert_eq!(ids(unread).await?, Vec::<ConversationId>::new(), "read now");

    store.assign_operator(tenant, florist.id, viewer).await?;
    store.assign_operator(tenant, bakery.id, viewer).await?;
    let mine = ConversationFilter {
        assigned: Some(Assignment::Me),
        ..everything()
    };
    assert_eq!(
        ids(mine).await?,
        sorted(vec![bakery.id, florist.id]),
        "an observer (bakery, read) becomes the operator"
    );
    let nobody = ConversationFilter {
        assigned: Some(Assignment::Nobody),
        ..everything()
    };
    let unassigned = ids(nobody).await?;
    assert!(unassigned.contains(&group.id), "{unassigned:?}");
    assert!(!unassigned.contains(&florist.id) && !unassigned.contains(&bakery.id));
    Ok(())
}

async fn conversation_list_shows_the_last_message(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation, operator) = (acme.tenant.id, acme.conversation.id, acme.operator.id);
    store
        .append_message(tenant, inbound(conversation, "first"))
        .await?;
    let long_text: String = "é".repeat(100) + &"x".repeat(100);
    let last = store
        .append_message(tenant, reply(conversation, operator, &long_text))
        .await?
        .message;

    let listed = store
        .list_conversations(tenant, operator, &everything(), &PageRequest::default())
        .await?;
    let preview = listed.data[0]
        .last_message
        .clone()
        .context("a conversation with messages has a preview")?;
    assert_eq!((preview.id, preview.seq), (last.id, 2));
    assert_eq!(
        (preview.direction, preview.author_kind),
        (MessageDirection::Outbound, AuthorKind::User)
    );
    let expected: String = long_text.chars().take(140).collect();
    assert_eq!(
        preview.text.as_deref(),
        Some(expected.as_str()),
        "the first 140 characters"
    );
    assert_eq!(listed.data[0].last_message_id, Some(last.id));
    assert_eq!(listed.data[0].last_activity_at, last.created_at);

    store.delete_message(tenant, last.id).await?;
    let after = store
        .get_conversation(tenant, operator, conversation)
        .await?;
    let preview = after
        .last_message
        .context("the deleted message keeps its place")?;
    assert_eq!(preview.seq, 2);
    assert_eq!(
        preview.text, None,
        "a deleted message's text is not previewed"
    );
    Ok(())
}
