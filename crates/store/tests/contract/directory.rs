//! The tenant's directory: contacts, channels (with their provider secrets) and agents, kept as
//! given, updated field by field, and not deleted while something refers to them.

use std::collections::HashSet;

use serde_json::json;
use switchboard_core::{ChannelConfig, ChannelKind, Credits};
use switchboard_store::{
    AgentUpdate, ChannelUpdate, ContactUpdate, NewChannel, NewContact, PageRequest,
};
use switchboard_test_database::{TestDatabase, backend_tests};

use crate::fixtures::{
    TestResult, assert_conflict, assert_foreign_key, assert_not_found, echo_agent, open, tenancy,
};

backend_tests!(
    contacts_round_trip_filter_and_page,
    channels_keep_their_secrets_and_agents,
    agents_round_trip,
);

async fn contacts_round_trip_filter_and_page(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let other = store.create_tenant("other".into()).await?;
    let tenant = acme.tenant.id;
    let new_contact = |name: &str, phone: &str, external_id: &str| NewContact {
        name: Some(name.to_owned()),
        phone: Some(phone.to_owned()),
        external_id: Some(external_id.to_owned()),
        ..NewContact::default()
    };
    let ada = store
        .create_contact(tenant, new_contact("Ada", "+441234567", "crm-1"))
        .await?;
    store
        .create_contact(tenant, new_contact("Bea", "+441234568", "crm-2"))
        .await?;
    assert_eq!(store.get_contact(tenant, ada.id).await?, ada);
    assert_conflict(
        store
            .create_contact(tenant, new_contact("Copy", "+1", "crm-1"))
            .await,
    );
    // External ids are unique per tenant only.
    store
        .create_contact(
            other.id,
            new_contact("Ada elsewhere", "+441234567", "crm-1"),
        )
        .await?;

    let page = PageRequest::default();
    let by_phone = store
        .list_contacts(tenant, Some("+441234567"), None, &page)
        .await?
        .data;
    assert_eq!(by_phone, vec![ada.clone()]);
    let by_external = store
        .list_contacts(tenant, None, Some("crm-2"), &page)
        .await?
        .data;
    assert_eq!(
        by_external
            .iter()
            .map(|c| c.name.as_deref())
            .collect::<Vec<_>>(),
        vec![Some("Bea")]
    );

    let mut seen = Vec::new();
    let mut page = PageRequest::first(1);
    loop {
        let listed = store.list_contacts(tenant, None, None, &page).await?;
        seen.extend(listed.data.into_iter().map(|contact| contact.id));
        let Some(cursor) = listed.next_cursor else {
            break;
        };
        page.cursor = Some(cursor);
    }
    assert_eq!(
        seen.len(),
        3,
        "the fixture's contact, Ada and Bea, once each"
    );
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 3);

    let renamed = store
        .update_contact(
            tenant,
            ada.id,
            ContactUpdate {
                name: Some("Ada L.".into()),
                ..Default::default()
            },
        )
        .await?;
    assert_eq!(renamed.name.as_deref(), Some("Ada L."));
    assert_eq!(
        renamed.phone, ada.phone,
        "fields left out of an update are kept"
    );
    assert_eq!(renamed.external_id, ada.external_id);

    store.delete_contact(tenant, ada.id).await?;
    assert_not_found(store.get_contact(tenant, ada.id).await);
    assert_not_found(store.delete_contact(tenant, ada.id).await);
    // A contact a conversation refers to stays.
    assert_foreign_key(store.delete_contact(tenant, acme.contact.id).await);
    assert!(store.get_contact(tenant, acme.contact.id).await.is_ok());
    Ok(())
}

async fn channels_keep_their_secrets_and_agents(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    let agent = store.create_agent(tenant, echo_agent("greeter")).await?;
    let config = ChannelConfig::parse(
        ChannelKind::Whatsapp,
        json!({
            "phoneNumberId": "10001", "appSecret": "app-s3cret",
            "verifyToken": "verify-s3cret", "accessToken": "access-s3cret"
        }),
    )?;
    let new = NewChannel {
        name: "WhatsApp".into(),
        agent_id: Some(agent.id),
        config: config.clone(),
    };
    let channel = store.create_channel(tenant, new).await?;
    let stored = store.get_channel(tenant, channel.id).await?;
    assert_eq!(stored, channel);
    assert_eq!(
        stored.config, config,
        "secrets come back as given, for the gateway's own use"
    );
    assert_eq!(stored.kind(), ChannelKind::Whatsapp);

    let rotated = config.merged(json!({ "accessToken": "rotated-token" }))?;
    let update = ChannelUpdate {
        config: Some(rotated.clone()),
        agent_id: Some(None),
        ..Default::default()
    };
    let updated = store.update_channel(tenant, channel.id, update).await?;
    assert_eq!(updated.config, rotated);
    assert_eq!(updated.agent_id, None, "Some(None) detaches the agent");
    assert_eq!(updated.name, "WhatsApp");
    let reattach = ChannelUpdate {
        agent_id: Some(Some(agent.id)),
        ..Default::default()
    };
    let reattached = store.update_channel(tenant, channel.id, reattach).await?;
    assert_eq!(reattached.agent_id, Some(agent.id));
    let renamed = store
        .update_channel(
            tenant,
            channel.id,
            ChannelUpdate {
                name: Some("WA".into()),
                ..Default::default()
            },
        )
        .await?;
    assert_eq!(
        (renamed.agent_id, renamed.config),
        (Some(agent.id), rotated),
        "None leaves fields alone"
    );

    assert_eq!(
        store
            .list_channels(tenant, &PageRequest::default())
            .await?
            .data
            .len(),
        2
    );
    assert_foreign_key(store.delete_channel(tenant, acme.channel.id).await);
    store.delete_channel(tenant, channel.id).await?;
    assert_not_found(store.get_channel(tenant, channel.id).await);
    Ok(())
}

async fn agents_round_trip(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    let agent = store.create_agent(tenant, echo_agent("echo")).await?;
    assert_eq!(store.get_agent(tenant, agent.id).await?, agent);

    let cheaper = AgentUpdate {
        cost_per_run: Some(Credits(1)),
        ..Default::default()
    };
    let updated = store.update_agent(tenant, agent.id, cheaper).await?;
    assert_eq!(
        (updated.cost_per_run, &updated.config),
        (Credits(1), &agent.config)
    );
    let replaced = AgentUpdate {
        config: Some(json!({ "model": "small" })),
        ..Default::default()
    };
    let updated = store.update_agent(tenant, agent.id, replaced).await?;
    assert_eq!(
        updated.config,
        json!({ "model": "small" }),
        "config is replaced whole"
    );
    assert_eq!(updated.cost_per_run, Credits(1));
    assert_eq!(
        store
            .list_agents(tenant, &PageRequest::default())
            .await?
            .data,
        vec![updated]
    );

    let attach = ChannelUpdate {
        agent_id: Some(Some(agent.id)),
        ..Default::default()
    };
    store
        .update_channel(tenant, acme.channel.id, attach)
        .await?;
    assert_foreign_key(store.delete_agent(tenant, agent.id).await);
    let detach = ChannelUpdate {
        agent_id: Some(None),
        ..Default::default()
    };
    store
        .update_channel(tenant, acme.channel.id, detach)
        .await?;
    store.delete_agent(tenant, agent.id).await?;
    assert_not_found(store.get_agent(tenant, agent.id).await);
    Ok(())
}
