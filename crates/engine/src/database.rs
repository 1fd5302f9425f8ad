//! Database administration, for platform admins only.

use switchboard_core::{Caller, Permission};
use switchboard_store::{DatabaseMetrics, DatabaseSize, IndexSuggestion};

use crate::{Engine, EngineError, require};

impl Engine {
    pub async fn database_metrics(&self, caller: &Caller) -> Result<DatabaseMetrics, EngineError> {
        require(caller, Permission::ManageTenants)?;
        Ok(self.store.database_metrics().await?)
    }

    pub async fn database_size(&self, caller: &Caller) -> Result<DatabaseSize, EngineError> {
        require(caller, Permission::ManageTenants)?;
        Ok(self.store.database_size().await?)
    }

    pub async fn index_suggestions(
        &self,
        caller: &Caller,
    ) -> Result<Vec<IndexSuggestion>, EngineError> {
        require(caller, Permission::ManageTenants)?;
        Ok(self.store.index_suggestions().await?)
    }

    /// The plan of a read-only SELECT; anything else is refused.
    pub async fn analyze_query(
        &self,
        caller: &Caller,
        statement: &str,
    ) -> Result<Vec<String>, EngineError> {
        require(caller, Permission::ManageTenants)?;
        Ok(self.store.explain(statement).await?)
    }

    /// Refreshes the query planner's statistics; returns the statements run.
    pub async fn optimize_database(
        &self,
        caller: &Caller,
    ) -> Result<Vec<&'static str>, EngineError> {
        require(caller, Permission::ManageTenants)?;
        Ok(self.store.optimize().await?)
    }
}
