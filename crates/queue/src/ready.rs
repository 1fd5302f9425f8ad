//! Keys ready to run: ten priority levels; within a level, tenants take turns (round robin) and
//! each tenant's keys wait in the order they became ready.

use std::collections::{HashMap, VecDeque};

use switchboard_core::{OrderingKey, TenantId};

pub(crate) const LEVELS: usize = 10;

#[derive(Default)]
struct Level {
    /// Tenants with ready keys at this level, in turn order.
    turns: VecDeque<TenantId>,
    keys: HashMap<TenantId, VecDeque<OrderingKey>>,
}

#[derive(Default)]
pub(crate) struct ReadyKeys {
    levels: [Level; LEVELS],
    len: usize,
}

impl ReadyKeys {
    pub(crate) fn push(&mut self, tenant: TenantId, priority: u8, key: OrderingKey) {
        let level = &mut self.levels[usize::from(priority).min(LEVELS - 1)];
        let keys = level.keys.entry(tenant).or_default();
        if keys.is_empty() {
            level.turns.push_back(tenant);
        }
        keys.push_back(key);
        self.len += 1;
    }

    /// The next key: highest priority first, tenants in turn within a priority.
    pub(crate) fn pop(&mut self) -> Option<OrderingKey> {
        for level in self.levels.iter_mut().rev() {
            while let Some(tenant) = level.turns.pop_front() {
                let Some(keys) = level.keys.get_mut(&tenant) else {
                    continue;
                };
                let Some(key) = keys.pop_front() else {
                    level.keys.remove(&tenant);
                    continue;
                };
                if keys.is_empty() {
                    level.keys.remove(&tenant);
                } else {
                    level.turns.push_back(tenant);
                }
                self.len -= 1;
                return Some(key);
            }
        }
        None
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::tests::test_key;

    #[test]
    fn higher_priority_first_then_tenants_take_turns() {
        let (busy, quiet) = (TenantId::new(), TenantId::new());
        let mut ready = ReadyKeys::default();
        for n in 0..3 {
            ready.push(busy, 0, test_key(&format!("busy-{n}")));
        }
        ready.push(quiet, 0, test_key("quiet-0"));
        ready.push(quiet, 5, test_key("urgent"));
        let order: Vec<_> = std::iter::from_fn(|| ready.pop()).collect();
        let expected: Vec<_> = ["urgent", "busy-0", "quiet-0", "busy-1", "busy-2"]
            .into_iter()
            .map(test_key)
            .collect();
        assert_eq!(order, expected);
        assert_eq!(ready.len(), 0);
    }
}
