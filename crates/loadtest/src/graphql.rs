//! GraphQL over HTTP as the scenarios speak it: the documents they send to `POST /graphql`, how a
//! request body is built, and how an answer is judged. GraphQL reports most failures inside a
//! `200` (`{"data": null, "errors": [...]}`), so the status alone says little: an answer counts as
//! a success only when it is a `200` carrying `data` and no error.

use bytes::Bytes;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use crate::http::Response;
use crate::metrics::ErrorKind;

/// Where the server answers GraphQL.
pub const PATH: &str = "/graphql";

/// The caller, with every field REST's `GET /api/v1/users/{id}` returns.
pub const ME: &str =
    "query Me { me { id tenantId username role externalId name email createdAt } }";

/// The conversations with the newest activity, each with its unread count, the preview of its
/// last message and its newest messages, with every field REST's two lists return. Variables:
/// `conversations` and `messages` (how many of each).
pub const LIST: &str = "query List($conversations: Int!, $messages: Int!) { \
    conversations(pagination: {first: $conversations}) { \
      edges { node { \
        id channelId contactId type businessId status agentId lastSeq lastActivityAt \
        createdAt updatedAt unreadCount \
        lastMessage { id seq direction authorKind text createdAt } \
        messages(pagination: {first: $messages}) { \
          edges { node { \
            id conversationId channelId seq direction authorKind authorId type text content \
            providerMessageId status createdAt deletedAt \
          } } \
          pageInfo { hasNextPage endCursor } \
        } \
      } } \
      pageInfo { hasNextPage endCursor } \
    } }";

/// Messages matching `q`, best first. Variables: `q`, `first`.
pub const SEARCH: &str = "query Search($q: String!, $first: Int!) { \
    searchMessages(q: $q, pagination: {first: $first}) { \
      edges { node { rank message { id conversationId seq authorKind text createdAt } } } \
    } }";

/// Posts a message as the caller. Variables: `conversationId`, `text`.
pub const SEND_MESSAGE: &str = "mutation Send($conversationId: ID!, $text: String!) { \
    sendMessage(conversationId: $conversationId, text: $text) { id seq status createdAt } }";

/// The JSON body of a request: `{"query": document, "variables": variables}`.
pub fn body(document: &str, variables: Value) -> Bytes {
    let request = json!({"query": document, "variables": variables});
    Bytes::from(serde_json::to_vec(&request).unwrap_or_default())
}

/// Only what decides the verdict; the rest of the answer is skipped unread.
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    data: Option<IgnoredAny>,
    #[serde(default)]
    errors: Option<Vec<IgnoredAny>>,
}

/// Why an answer is not a success, or `None` when it is: a status other than `200` is an error
/// of that status, a non-empty `errors` list a GraphQL error, and a `200` that is not a GraphQL
/// answer (no `data`, not JSON) an invalid body.
pub fn verdict(response: &Response) -> Option<ErrorKind> {
    if response.status != 200 {
        return Some(ErrorKind::Status(response.status));
    }
    match serde_json::from_slice::<Answer>(&response.body) {
        Ok(answer)
            if answer
                .errors
                .as_ref()
                .is_some_and(|errors| !errors.is_empty()) =>
        {
            Some(ErrorKind::Graphql)
        }
        Ok(Answer { data: Some(_), .. }) => None,
        _ => Some(ErrorKind::InvalidBody),
    }
}
