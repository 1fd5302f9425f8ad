//! `[graphql]`: how GraphQL requests at `/graphql` are bounded.

use serde::{Deserialize, Serialize};
use switchboard_api::graphql::GraphqlSettings;

use super::{ConfigError, require};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GraphqlSection {
    /// How deep a query may nest.
    pub max_depth: usize,
    /// How many fields a query may ask for, a connection's fields counted once per row of its
    /// page.
    pub max_complexity: usize,
    /// Whether the schema answers introspection queries.
    pub introspection: bool,
}

impl Default for GraphqlSection {
    fn default() -> Self {
        let graphql = GraphqlSettings::default();
        Self {
            max_depth: graphql.max_depth,
            max_complexity: graphql.max_complexity,
            introspection: graphql.introspection,
        }
    }
}

impl GraphqlSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        require(
            self.max_depth >= 3,
            "graphql.max_depth",
            "must be at least 3",
        )?;
        require(
            self.max_complexity >= 10,
            "graphql.max_complexity",
            "must be at least 10",
        )
    }

    pub fn settings(&self) -> GraphqlSettings {
        GraphqlSettings {
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            introspection: self.introspection,
        }
    }
}
