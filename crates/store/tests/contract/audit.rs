//! The audit log: events read back newest first, filtered by actor, action, resource and time,
//! paged by cursor, one tenant's only unless every tenant's is asked for.

use serde_json::json;
use switchboard_core::{AuditAction, AuditEvent, AuditEventId, Origin, Role, TenantId, UserId};
use switchboard_store::{AuditFilter, PageRequest, Store};
use switchboard_test_database::{TestDatabase, backend_tests};
use time::Duration;

use crate::fixtures::{TestResult, open};

backend_tests!(
    the_log_reads_back_newest_first_with_filters_and_pages,
    a_tenant_sees_its_own_events_and_the_platform_every_one,
);

fn event(tenant_id: TenantId, actor: UserId, action: AuditAction, minutes_ago: i64) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::new(),
        tenant_id,
        actor_user_id: actor,
        actor_api_key_id: None,
        actor_role: Role::Admin,
        action,
        resource: action.resource(),
        resource_id: Some(format!("{action}-resource")),
        details: json!({"fields": ["name"]}),
        origin: Origin {
            ip: Some("203.0.113.7".into()),
            user_agent: Some("curl/8".into()),
            request_id: Some("request-1".into()),
        },
        created_at: time::OffsetDateTime::now_utc() - Duration::minutes(minutes_ago),
    }
}

async fn record(store: &Store, events: &[AuditEvent]) -> TestResult {
    for event in events {
        store.record_audit(event.clone()).await?;
    }
    Ok(())
}

async fn the_log_reads_back_newest_first_with_filters_and_pages(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let tenant = store.create_tenant("audited".into()).await?;
    let (alice, bob) = (UserId::new(), UserId::new());
    let events = [
        event(tenant.id, alice, AuditAction::ChannelCreated, 30),
        event(tenant.id, bob, AuditAction::AgentUpdated, 20),
        event(tenant.id, alice, AuditAction::ChannelDeleted, 10),
    ];
    record(&store, &events).await?;

    let every = AuditFilter {
        tenant_id: Some(tenant.id),
        ..AuditFilter::default()
    };
    let all = store.list_audit(&every, &PageRequest::first(10)).await?;
    let ids: Vec<_> = all.data.iter().map(|event| event.id).collect();
    assert_eq!(ids, [events[2].id, events[1].id, events[0].id]);
    assert_eq!(all.data[2].origin, events[0].origin);
    assert_eq!(all.data[2].details, json!({"fields": ["name"]}));

    let first = store.list_audit(&every, &PageRequest::first(2)).await?;
    assert_eq!(first.data.len(), 2);
    let rest = PageRequest {
        limit: Some(2),
        cursor: first.next_cursor.clone(),
    };
    let second = store.list_audit(&every, &rest).await?;
    assert_eq!(
        second.data.iter().map(|event| event.id).collect::<Vec<_>>(),
        [events[0].id]
    );
    assert!(second.next_cursor.is_none());

    let by_alice = AuditFilter {
        actor_user_id: Some(alice),
        ..every.clone()
    };
    assert_eq!(
        store
            .list_audit(&by_alice, &PageRequest::first(10))
            .await?
            .data
            .len(),
        2
    );
    let channels = AuditFilter {
        resource: Some(switchboard_core::AuditResource::Channel),
        ..every.clone()
    };
    assert_eq!(
        store
            .list_audit(&channels, &PageRequest::first(10))
            .await?
            .data
            .len(),
        2
    );
    let deletions = AuditFilter {
        action: Some(AuditAction::ChannelDeleted),
        ..every.clone()
    };
    let deleted = store
        .list_audit(&deletions, &PageRequest::first(10))
        .await?;
    assert_eq!(deleted.data.len(), 1);
    assert_eq!(deleted.data[0].id, events[2].id);
    let window = AuditFilter {
        from: Some(events[1].created_at - Duration::minutes(1)),
        to: Some(events[2].created_at - Duration::minutes(1)),
        ..every
    };
    let between = store.list_audit(&window, &PageRequest::first(10)).await?;
    assert_eq!(
        between
            .data
            .iter()
            .map(|event| event.id)
            .collect::<Vec<_>>(),
        [events[1].id]
    );
    Ok(())
}

async fn a_tenant_sees_its_own_events_and_the_platform_every_one(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let first = store.create_tenant("first".into()).await?;
    let second = store.create_tenant("second".into()).await?;
    let actor = UserId::new();
    record(
        &store,
        &[
            event(first.id, actor, AuditAction::UserCreated, 2),
            event(second.id, actor, AuditAction::CreditsGranted, 1),
        ],
    )
    .await?;
    let only_first = AuditFilter {
        tenant_id: Some(first.id),
        ..AuditFilter::default()
    };
    let page = store
        .list_audit(&only_first, &PageRequest::first(10))
        .await?;
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].tenant_id, first.id);
    let everything = store
        .list_audit(&AuditFilter::default(), &PageRequest::first(10))
        .await?;
    assert_eq!(everything.data.len(), 2);
    Ok(())
}
