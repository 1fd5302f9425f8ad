//! Call analytics: the attempts that ended in a period, by outcome, with the durations of the
//! answered ones (read from the attempts; see `Store::call_totals`).

use switchboard_core::{Caller, Permission, Timestamp};
use switchboard_store::{CallAnalyticsFilter, CallTotals};

use crate::{Engine, EngineError, require};

impl Engine {
    pub async fn call_analytics(
        &self,
        caller: &Caller,
        from: Timestamp,
        to: Timestamp,
        filter: &CallAnalyticsFilter,
    ) -> Result<CallTotals, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self
            .store
            .call_totals(caller.tenant_id, from, to, filter)
            .await?)
    }
}
