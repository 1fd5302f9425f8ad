//! Read markers and unread counts: a marker only moves forward, reading joins a bystander as an
//! observer, and writing a message reads the thread up to it.

use switchboard_core::{ParticipantRole, UserId};
use switchboard_store::PageRequest;
use switchboard_test_database::{TestDatabase, backend_tests};

use crate::fixtures::{TestResult, everything, inbound, new_user, open, reply, tenancy};

backend_tests!(
    unread_count_is_messages_after_the_read_marker,
    own_message_advances_the_authors_read_marker,
);

async fn unread_count_is_messages_after_the_read_marker(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation, operator) = (acme.tenant.id, acme.conversation.id, acme.operator.id);
    let colleague = store.create_user(tenant, new_user("colleague")).await?.id;
    for index in 1..=5 {
        store
            .append_message(tenant, inbound(conversation, &format!("message {index}")))
            .await?;
    }
    let unread = |viewer: UserId| {
        let store = store.clone();
        async move {
            let one = store
                .get_conversation(tenant, viewer, conversation)
                .await?
                .unread_count;
            let listed = store
                .list_conversations(tenant, viewer, &everything(), &PageRequest::default())
                .await?;
            let in_list = listed
                .data
                .iter()
                .find(|c| c.id == conversation)
                .map(|c| c.unread_count);
            assert_eq!(Some(one), in_list, "the list and the single view agree");
            anyhow::Ok(one)
        }
    };
    assert_eq!(unread(operator).await?, 5, "nothing read yet");

    // Reading joins a non-participant as an observer.
    let marker = store
        .mark_read(tenant, conversation, operator, Some(3))
        .await?;
    assert_eq!(
        (marker.role, marker.last_read_seq, marker.user_id),
        (ParticipantRole::Observer, 3, Some(operator))
    );
    assert!(marker.last_read_at.is_some());
    assert_eq!(unread(operator).await?, 2);
    let participants = store.list_participants(tenant, conversation).await?;
    assert!(
        participants
            .iter()
            .any(|p| p.user_id == Some(operator) && p.role == ParticipantRole::Observer)
    );

    let backwards = store
        .mark_read(tenant, conversation, operator, Some(1))
        .await?;
    assert_eq!(backwards.last_read_seq, 3, "a read marker never moves back");
    assert_eq!(
        backwards.id, marker.id,
        "the same participant, not a second one"
    );
    assert_eq!(unread(operator).await?, 2);

    let beyond = store
        .mark_read(tenant, conversation, operator, Some(99))
        .await?;
    assert_eq!(
        beyond.last_read_seq, 5,
        "a marker cannot pass the newest message"
    );
    store
        .append_message(tenant, inbound(conversation, "six"))
        .await?;
    store
        .append_message(tenant, inbound(conversation, "seven"))
        .await?;
    assert_eq!(unread(operator).await?, 2);
    assert_eq!(
        unread(colleague).await?,
        7,
        "each user has their own marker"
    );
    assert_eq!(
        store
            .mark_read(tenant, conversation, operator, None)
            .await?
            .last_read_seq,
        7,
        "None reads everything"
    );
    assert_eq!(unread(operator).await?, 0);
    assert_eq!(
        store.list_participants(tenant, conversation).await?.len(),
        2
    );
    Ok(())
}

async fn own_message_advances_the_authors_read_marker(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation, operator) = (acme.tenant.id, acme.conversation.id, acme.operator.id);
    store
        .append_message(tenant, inbound(conversation, "hello?"))
        .await?;
    store
        .append_message(tenant, inbound(conversation, "anyone there?"))
        .await?;
    assert_eq!(
        store
            .get_conversation(tenant, operator, conversation)
            .await?
            .unread_count,
        2
    );

    let sent = store
        .append_message(
            tenant,
            reply(conversation, operator, "yes, how can I help?"),
        )
        .await?;
    assert_eq!(sent.message.seq, 3);
    assert_eq!(
        store
            .get_conversation(tenant, operator, conversation)
            .await?
            .unread_count,
        0,
        "replying reads the thread"
    );
    store
        .append_message(tenant, inbound(conversation, "my order"))
        .await?;
    assert_eq!(
        store
            .get_conversation(tenant, operator, conversation)
            .await?
            .unread_count,
        1
    );
    Ok(())
}
