//! What one bucket holds: a count per [`Counter`] and a sketch per [`Distribution`], for one
//! tenant × channel × agent × campaign. Buckets merge by adding, so any range is the merge of
//! the buckets that cover it.

use crate::Sketch;

macro_rules! measures {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $column:literal, $field:literal;)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The roll-up table's column.
            pub fn column(self) -> &'static str {
                match self {
                    $($name::$variant => $column,)*
                }
            }

            /// The name clients use (JSON fields, `metric=`).
            pub fn field(self) -> &'static str {
                match self {
                    $($name::$variant => $field,)*
                }
            }

            pub fn from_field(field: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|measure| measure.field() == field)
            }

            fn index(self) -> usize {
                self as usize
            }
        }
    };
}

measures! {
    /// What is counted per bucket.
    Counter {
        ConversationsOpened => "conversations_opened", "conversationsOpened";
        ConversationsResolved => "conversations_resolved", "conversationsResolved";
        MessagesInbound => "messages_inbound", "messagesInbound";
        MessagesOutbound => "messages_outbound", "messagesOutbound";
        RunsCompleted => "runs_completed", "runsCompleted";
        RunsFailed => "runs_failed", "runsFailed";
        RunsHandedOff => "runs_handed_off", "runsHandedOff";
        Handoffs => "handoffs", "handoffs";
        ToolCalls => "tool_calls", "toolCalls";
        CreditsSpent => "credits_spent", "creditsSpent";
    }
}

measures! {
    /// What is measured per bucket, in milliseconds, as a sketch.
    Distribution {
        FirstResponse => "first_response_ms", "firstResponseSeconds";
        Resolution => "resolution_ms", "resolutionSeconds";
        AgentLatency => "agent_latency_ms", "agentLatencyMs";
        QueueWait => "queue_wait_ms", "queueWaitMs";
        WebhookAck => "webhook_ack_ms", "webhookAckMs";
    }
}

impl Distribution {
    /// Whether it is measured outside the database (not recomputable from stored rows).
    pub fn is_measured(self) -> bool {
        self == Distribution::WebhookAck
    }

    /// What a stored millisecond is divided by for clients: the `…Seconds` fields are seconds.
    pub fn scale(self) -> f64 {
        if self.field().ends_with("Seconds") {
            1000.0
        } else {
            1.0
        }
    }
}

/// One stored measure: a counter or a sketch (a column of the roll-up table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Count(Counter),
    Spread(Distribution),
}

impl Measure {
    pub fn column(self) -> &'static str {
        match self {
            Measure::Count(counter) => counter.column(),
            Measure::Spread(distribution) => distribution.column(),
        }
    }

    /// Every measure, counters first.
    pub fn all() -> Vec<Measure> {
        Counter::ALL
            .iter()
            .map(|counter| Measure::Count(*counter))
            .chain(
                Distribution::ALL
                    .iter()
                    .map(|sketch| Measure::Spread(*sketch)),
            )
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollup {
    counters: Vec<i64>,
    sketches: Vec<Sketch>,
}

impl Default for Rollup {
    fn default() -> Self {
        Rollup {
            counters: vec![0; Counter::ALL.len()],
            sketches: vec![Sketch::default(); Distribution::ALL.len()],
        }
    }
}

impl Rollup {
    pub fn count(&self, counter: Counter) -> i64 {
        self.counters[counter.index()]
    }

    pub fn add(&mut self, counter: Counter, amount: i64) {
        self.counters[counter.index()] += amount;
    }

    pub fn sketch(&self, distribution: Distribution) -> &Sketch {
        &self.sketches[distribution.index()]
    }

    pub fn sketch_mut(&mut self, distribution: Distribution) -> &mut Sketch {
        &mut self.sketches[distribution.index()]
    }

    pub fn record(&mut self, distribution: Distribution, millis: u64) {
        self.sketch_mut(distribution).insert(millis);
    }

    pub fn merge(&mut self, other: &Rollup) {
        for (mine, theirs) in self.counters.iter_mut().zip(&other.counters) {
            *mine += theirs;
        }
        for (mine, theirs) in self.sketches.iter_mut().zip(&other.sketches) {
            mine.merge(theirs);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.counters.iter().all(|count| *count == 0) && self.sketches.iter().all(Sketch::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_columns_name_each_measure_once() {
        let mut names: Vec<&str> = Counter::ALL
            .iter()
            .map(|counter| counter.column())
            .chain(
                Distribution::ALL
                    .iter()
                    .map(|distribution| distribution.column()),
            )
            .collect();
        let all = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all);
        assert_eq!(
            Counter::from_field("messagesInbound"),
            Some(Counter::MessagesInbound)
        );
        assert_eq!(Distribution::FirstResponse.scale(), 1000.0);
        assert_eq!(Distribution::QueueWait.scale(), 1.0);
    }

    #[test]
    fn rollups_merge_by_adding() {
        let mut left = Rollup::default();
        left.add(Counter::MessagesInbound, 2);
        left.record(Distribution::AgentLatency, 40);
        let mut right = Rollup::default();
        right.add(Counter::MessagesInbound, 3);
        right.record(Distribution::AgentLatency, 60);
        left.merge(&right);
        assert_eq!(left.count(Counter::MessagesInbound), 5);
        assert_eq!(left.sketch(Distribution::AgentLatency).count(), 2);
        assert!(!left.is_empty());
        assert!(Rollup::default().is_empty());
    }
}
