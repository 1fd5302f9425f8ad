//! Tenants, and the walls between them: another tenant's ids find nothing and change nothing,
//! and no row can point across tenants.

use std::collections::HashSet;

use anyhow::Context as _;
use switchboard_core::{ContactId, ConversationStatus, ParticipantRole, Role, TenantId};
use switchboard_store::{
    AgentUpdate, ChannelUpdate, ContactUpdate, ConversationUpdate, MessageOrder, NewApiKey,
    NewChannel, NewContact, NewConversation, NewParticipant, PageRequest, UserUpdate,
};
use switchboard_test_database::{TestDatabase, backend_tests};

use crate::fixtures::{
    TestResult, all_messages, api_channel, assert_foreign_key, assert_not_found, direct,
    echo_agent, everything, inbound, open, reply, tenancy,
};

backend_tests!(
    tenants_are_listed_and_counted,
    another_tenants_ids_answer_not_found,
    many_rows_by_id_are_the_tenants_own_in_one_read,
    references_cannot_cross_tenants,
);

async fn tenants_are_listed_and_counted(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let mut created = HashSet::new();
    for index in 0..5 {
        created.insert(store.create_tenant(format!("tenant {index}")).await?.id);
    }
    assert_eq!(store.count_tenants().await?, 5);
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let listed = store.list_tenants(&page).await?;
        seen.extend(listed.data.iter().map(|tenant| tenant.id));
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "every tenant once: {seen:?}");
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), created);
    assert_not_found(store.get_tenant(TenantId::new()).await);
    Ok(())
}

async fn another_tenants_ids_answer_not_found(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let owner = tenancy(&store, "owner").await?;
    let intruder = tenancy(&store, "intruder").await?;
    let (tenant, other) = (owner.tenant.id, intruder.tenant.id);
    let conversation = owner.conversation.id;

    let key = store
        .create_api_key(
            tenant,
            NewApiKey {
                user_id: owner.operator.id,
                name: "server".into(),
                role: Role::Agent,
                prefix: "sb_owner".into(),
                key_hash: "hash".into(),
            },
        )
        .await?;
    let agent = store.create_agent(tenant, echo_agent("owner bot")).await?;
    let message = store
        .append_message(tenant, inbound(conversation, "private words"))
        .await?
        .message;
    let participant = store
        .add_participant(
            tenant,
            conversation,
            NewParticipant::User(owner.operator.id, ParticipantRole::Operator),
        )
        .await?;

    assert_not_found(store.get_user(other, owner.operator.id).await);
    assert_not_found(
        store
            .update_user(
                other,
                owner.operator.id,
                UserUpdate {
                    role: Some(Role::Admin),
                    ..Default::default()
                },
            )
            .await,
    );
    assert_not_found(store.delete_user(other, owner.operator.id).await);
    assert_not_found(store.revoke_api_key(other, key.id).await);
    assert_not_found(store.get_contact(other, owner.contact.id).await);
    assert_not_found(
        store
            .update_contact(
                other,
                owner.contact.id,
                ContactUpdate {
                    name: Some("x".into()),
                    ..Default::default()
                },
            )
            .await,
    );
    assert_not_found(store.delete_contact(other, owner.contact.id).await);
    assert_not_found(store.get_channel(other, owner.channel.id).await);
    assert_not_found(
        store
            .update_channel(
                other,
                owner.channel.id,
                ChannelUpdate {
                    name: Some("x".into()),
                    ..Default::default()
                },
            )
            .await,
    );
    assert_not_found(store.delete_channel(other, owner.channel.id).await);
    assert_not_found(store.get_agent(other, agent.id).await);
    assert_not_found(
        store
            .update_agent(
                other,
                agent.id,
                AgentUpdate {
                    name: Some("x".into()),
                    ..Default::default()
                },
            )
            .await,
    );
    assert_not_found(store.delete_agent(other, agent.id).await);
    assert_not_found(
        store
            .get_conversation(other, intruder.operator.id, conversation)
            .await,
    );
    assert_not_found(
        store
            .update_conversation(
                other,
                intruder.operator.id,
                conversation,
                ConversationUpdate {
                    status: Some(ConversationStatus::Resolved),
                    ..Default::default()
                },
            )
            .await,
    );
    assert_not_found(
        store
            .list_messages(
                other,
                conversation,
                MessageOrder::Backward,
                &PageRequest::default(),
            )
            .await,
    );
    assert_not_found(
        store
            .append_message(other, inbound(conversation, "injected"))
            .await,
    );
    assert_not_found(store.get_message(other, message.id).await);
    assert_not_found(store.delete_message(other, message.id).await);
    assert_not_found(store.list_participants(other, conversation).await);
    assert_not_found(
        store
            .add_participant(
                other,
                conversation,
                NewParticipant::User(intruder.operator.id, ParticipantRole::Observer),
            )
            .await,
    );
    assert_not_found(
        store
            .remove_participant(other, conversation, participant.id)
            .await,
    );
    assert_not_found(
        store
            .mark_read(other, conversation, intruder.operator.id, None)
            .await,
    );

    // Lists show the intruder only their own rows.
    let page = PageRequest::default();
    assert_eq!(
        store.list_users(other, &page).await?.data,
        vec![intruder.operator.clone()]
    );
    assert!(store.list_api_keys(other, &page).await?.data.is_empty());
    assert_eq!(
        store.list_contacts(other, None, None, &page).await?.data,
        vec![intruder.contact.clone()]
    );
    assert_eq!(
        store.list_channels(other, &page).await?.data,
        vec![intruder.channel.clone()]
    );
    assert!(store.list_agents(other, &page).await?.data.is_empty());
    let listed = store
        .list_conversations(other, intruder.operator.id, &everything(), &page)
        .await?;
    assert_eq!(
        listed.data.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![intruder.conversation.id]
    );

    // None of the refused calls changed anything of the owner's.
    let credentials = store
        .find_credentials(&owner.operator.username)
        .await?
        .context("owner can still log in")?;
    assert_eq!(credentials.user.role, Role::Agent);
    assert!(
        store.find_api_key("sb_owner").await?.is_some(),
        "owner's API key still works"
    );
    assert_eq!(
        store.get_contact(tenant, owner.contact.id).await?.name,
        owner.contact.name
    );
    assert_eq!(
        store.get_channel(tenant, owner.channel.id).await?.name,
        owner.channel.name
    );
    assert_eq!(store.get_agent(tenant, agent.id).await?.name, "owner bot");
    let seen = store
        .get_conversation(tenant, owner.operator.id, conversation)
        .await?;
    assert_eq!((seen.status, seen.last_seq), (ConversationStatus::Open, 1));
    assert_eq!(
        store.get_message(tenant, message.id).await?.text.as_deref(),
        Some("private words")
    );
    assert_eq!(
        store.list_participants(tenant, conversation).await?.len(),
        2
    );
    Ok(())
}

/// Contacts, channels and participants read many at a time: one statement whatever the number
/// of ids, and only the tenant's own rows, as the one-at-a-time reads.
async fn many_rows_by_id_are_the_tenants_own_in_one_read(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let owner = tenancy(&store, "owner").await?;
    let intruder = tenancy(&store, "intruder").await?;
    let tenant = owner.tenant.id;
    let mut contacts = vec![owner.contact.clone()];
    for name in ["Bea", "Cy"] {
        let new = NewContact {
            name: Some(name.into()),
            ..Default::default()
        };
        contacts.push(store.create_contact(tenant, new).await?);
    }
    let mut asked: Vec<ContactId> = contacts.iter().map(|contact| contact.id).collect();
    asked.extend([intruder.contact.id, ContactId::new()]);

    let before = store.reads_run();
    let mut found = store.get_contacts(tenant, &asked).await?;
    assert_eq!(store.reads_run() - before, 1, "five ids, one statement");
    found.sort_by_key(|contact| contact.id);
    contacts.sort_by_key(|contact| contact.id);
    assert_eq!(found, contacts, "the tenant's own, and nothing else");
    assert!(store.get_contacts(tenant, &[]).await?.is_empty());
    assert_eq!(
        store
            .get_channels(tenant, &[owner.channel.id, intruder.channel.id])
            .await?,
        vec![owner.channel.clone()]
    );

    // Participants: the contact of each conversation, and the operator where they joined.
    let joined = owner.conversation.id;
    store
        .add_participant(
            tenant,
            joined,
            NewParticipant::User(owner.operator.id, ParticipantRole::Operator),
        )
        .await?;
    let apart = store
        .create_conversation(
            tenant,
            owner.operator.id,
            direct(owner.channel.id, Some(contacts[1].id)),
        )
        .await?
        .id;
    let conversations = [joined, apart, intruder.conversation.id];
    let everyone = store
        .list_participants_of(tenant, None, &conversations)
        .await?;
    let in_each = |conversation| {
        everyone
            .iter()
            .filter(|participant| participant.conversation_id == conversation)
            .count()
    };
    assert_eq!(
        (in_each(joined), in_each(apart), everyone.len()),
        (2, 1, 3),
        "{everyone:?}"
    );
    let as_member = store
        .list_participants_of(tenant, Some(owner.operator.id), &conversations)
        .await?;
    assert_eq!(
        as_member,
        store.list_participants(tenant, joined).await?,
        "a member sees only the conversations they take part in"
    );
    Ok(())
}

async fn references_cannot_cross_tenants(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let owner = tenancy(&store, "owner").await?;
    let intruder = tenancy(&store, "intruder").await?;
    let other = intruder.tenant.id;
    let owners_agent = store
        .create_agent(owner.tenant.id, echo_agent("owner bot"))
        .await?;

    // The composite (tenant_id, id) foreign keys refuse links to another tenant's rows.
    assert_foreign_key(
        store
            .create_conversation(other, intruder.operator.id, direct(owner.channel.id, None))
            .await,
    );
    assert_foreign_key(
        store
            .create_conversation(
                other,
                intruder.operator.id,
                direct(intruder.channel.id, Some(owner.contact.id)),
            )
            .await,
    );
    let with_owners_agent = NewConversation {
        agent_id: Some(owners_agent.id),
        ..direct(intruder.channel.id, None)
    };
    assert_foreign_key(
        store
            .create_conversation(other, intruder.operator.id, with_owners_agent)
            .await,
    );
    let channel = NewChannel {
        name: "hijack".into(),
        agent_id: Some(owners_agent.id),
        config: api_channel("s")?,
    };
    assert_foreign_key(store.create_channel(other, channel).await);
    let attach = ChannelUpdate {
        agent_id: Some(Some(owners_agent.id)),
        ..Default::default()
    };
    assert_foreign_key(
        store
            .update_channel(other, intruder.channel.id, attach)
            .await,
    );
    let conversation = intruder.conversation.id;
    assert_foreign_key(
        store
            .add_participant(
                other,
                conversation,
                NewParticipant::User(owner.operator.id, ParticipantRole::Operator),
            )
            .await,
    );
    assert_foreign_key(
        store
            .mark_read(other, conversation, owner.operator.id, None)
            .await,
    );
    assert_foreign_key(
        store
            .append_message(
                other,
                reply(conversation, owner.operator.id, "as someone else"),
            )
            .await,
    );

    // The refused append left no trace: no message, no seq consumed.
    assert!(all_messages(&store, other, conversation).await?.is_empty());
    let seen = store.get_conversation(other, intruder.operator.id, conversation);
    assert_eq!(seen.await?.last_seq, 0);
    Ok(())
}
