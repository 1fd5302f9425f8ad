//! Relay-style connections over the engine's keyset pages: `edges { node cursor }`, `nodes`,
//! `pageInfo { hasNextPage endCursor }`, asked for with `pagination: { first, after }`.
//!
//! The engine's pages carry one cursor, after their last row: that is the last edge's `cursor`
//! and `endCursor`; the other edges' `cursor` is null (a page resumes after its end).
//!
//! A connection field costs its selection once per row its page may hold
//! ([`Pagination::complexity`]), so the complexity budget bounds what a query can return:
//! nested connections multiply.

use async_graphql::{InputObject, OutputType, SimpleObject};
use switchboard_core::Page;
use switchboard_engine::PageRequest;

/// Which page: at most `first` rows (default 50, at most 200), after the cursor `after`.
#[derive(InputObject, Default)]
pub(crate) struct Pagination {
    pub first: Option<u32>,
    pub after: Option<String>,
}

impl Pagination {
    pub(crate) fn request(pagination: Option<Pagination>) -> PageRequest {
        let pagination = pagination.unwrap_or_default();
        PageRequest {
            limit: pagination.first,
            cursor: pagination.after,
        }
    }

    /// What a connection field asked for with `pagination` costs against the complexity
    /// budget: one for itself, and `child_complexity` (its selection) for each row of the
    /// largest page it can answer: `first`, within the engine's page limits.
    pub(crate) fn complexity(pagination: &Option<Pagination>, child_complexity: usize) -> usize {
        let page = PageRequest {
            limit: pagination.as_ref().and_then(|pagination| pagination.first),
            cursor: None,
        };
        let rows = usize::try_from(page.limit()).unwrap_or(usize::MAX);
        rows.saturating_mul(child_complexity).saturating_add(1)
    }
}

#[derive(SimpleObject)]
pub(crate) struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(concrete(name = "UserEdge", params(super::types::User)))]
#[graphql(concrete(name = "TenantEdge", params(super::types::Tenant)))]
#[graphql(concrete(name = "ApiKeyEdge", params(super::types::ApiKey)))]
#[graphql(concrete(name = "ChannelEdge", params(super::types::Channel)))]
#[graphql(concrete(name = "AgentEdge", params(super::types::Agent)))]
#[graphql(concrete(name = "ContactEdge", params(super::types::Contact)))]
#[graphql(concrete(name = "ConversationEdge", params(super::query::Conversation)))]
#[graphql(concrete(name = "MessageEdge", params(super::types::Message)))]
#[graphql(concrete(name = "SearchHitEdge", params(super::types::SearchHit)))]
#[graphql(concrete(name = "RunEdge", params(super::types::Run)))]
#[graphql(concrete(name = "LedgerEntryEdge", params(super::types::LedgerEntry)))]
#[graphql(concrete(name = "DeadLetterEdge", params(super::types::DeadLetter)))]
pub(crate) struct Edge<T: OutputType> {
    pub node: T,
    pub cursor: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(concrete(name = "UserConnection", params(super::types::User)))]
#[graphql(concrete(name = "TenantConnection", params(super::types::Tenant)))]
#[graphql(concrete(name = "ApiKeyConnection", params(super::types::ApiKey)))]
#[graphql(concrete(name = "ChannelConnection", params(super::types::Channel)))]
#[graphql(concrete(name = "AgentConnection", params(super::types::Agent)))]
#[graphql(concrete(name = "ContactConnection", params(super::types::Contact)))]
#[graphql(concrete(name = "ConversationConnection", params(super::query::Conversation)))]
#[graphql(concrete(name = "MessageConnection", params(super::types::Message)))]
#[graphql(concrete(name = "SearchHitConnection", params(super::types::SearchHit)))]
#[graphql(concrete(name = "RunConnection", params(super::types::Run)))]
#[graphql(concrete(name = "LedgerEntryConnection", params(super::types::LedgerEntry)))]
#[graphql(concrete(name = "DeadLetterConnection", params(super::types::DeadLetter)))]
pub(crate) struct Connection<T: OutputType>
where
    Edge<T>: OutputType,
{
    pub edges: Vec<Edge<T>>,
    pub page_info: PageInfo,
}

impl<T: OutputType> Connection<T>
where
    Edge<T>: OutputType,
{
    /// The page's rows, each made a node by `node`.
    pub(crate) fn from_page<R>(page: Page<R>, node: impl FnMut(R) -> T) -> Self {
        let last = page.data.len().saturating_sub(1);
        let edges = page
            .data
            .into_iter()
            .map(node)
            .enumerate()
            .map(|(index, node)| Edge {
                node,
                cursor: (index == last).then(|| page.next_cursor.clone()).flatten(),
            })
            .collect();
        Self {
            edges,
            page_info: PageInfo {
                has_next_page: page.next_cursor.is_some(),
                end_cursor: page.next_cursor,
            },
        }
    }
}
