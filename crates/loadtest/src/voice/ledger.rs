//! The ledger of a `scheduling` run's calls: each number the workers placed (due now, or an
//! hour ahead) and each dial the fake received. Every number is placed once, so after the
//! drain a number placed due now must have been dialled exactly once, and one placed ahead not
//! at all. The queue depth is what was placed due now and not yet dialled.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::metrics::{Metric, SampleSink};

/// What a run placed and what was dialled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallCorrectness {
    /// Calls placed (`201`) due now.
    pub placed_now: u64,
    /// Calls placed (`201`) an hour ahead.
    pub placed_ahead: u64,
    /// Calls placed due now that were dialled.
    pub dialled: u64,
    /// Calls placed due now never dialled by the end of the drain.
    pub undialled: u64,
    /// Numbers dialled more than once (a repeated `Idempotency-Key` is no new dial).
    pub dialled_twice: u64,
    /// Calls placed an hour ahead that were dialled during the run.
    pub dialled_early: u64,
    /// Dials of numbers this run did not place (a refused or timed-out request the server
    /// stored anyway); reported, not a failure.
    pub unexpected: u64,
    /// The most calls placed due now and not yet dialled, sampled every 100 ms during the load.
    pub most_queued: u64,
    /// The same when the load ended.
    pub queued_at_end: u64,
    /// The most calls live at once at the fake (dialled, final callback not yet sent).
    pub most_live: u64,
}

impl CallCorrectness {
    /// Every call due now dialled once, none twice, none placed ahead dialled.
    pub fn holds(&self) -> bool {
        self.undialled == 0 && self.dialled_twice == 0 && self.dialled_early == 0
    }

    /// Every count with its label, in report order.
    pub fn counts(&self) -> [(&'static str, u64); 10] {
        [
            ("placed due now", self.placed_now),
            ("placed ahead", self.placed_ahead),
            ("dialled", self.dialled),
            ("undialled", self.undialled),
            ("dialled twice", self.dialled_twice),
            ("dialled early", self.dialled_early),
            ("unexpected", self.unexpected),
            ("most queued", self.most_queued),
            ("queued at end", self.queued_at_end),
            ("most live", self.most_live),
        ]
    }
}

/// When a call was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placed {
    /// Due now; the request went out at this instant (its due time, near enough).
    Now(Instant),
    Ahead,
    /// The request failed: the server may or may not have the call.
    Refused,
}

#[derive(Default)]
struct Book {
    placed: HashMap<String, Placed>,
    /// Dials per number.
    dials: HashMap<String, u32>,
    /// Calls due now placed and not yet dialled.
    queued: u64,
    most_queued: u64,
    sink: Option<SampleSink>,
}

/// Shared by a run's workers (what they place) and the fake (what it dials).
#[derive(Default)]
pub struct CallLedger {
    book: Mutex<Book>,
}

impl CallLedger {
    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a run: forgets the last one; dial lateness goes to `sink`.
    pub fn begin(&self, sink: Option<SampleSink>) {
        *self.book() = Book {
            sink,
            ..Book::default()
        };
    }

    /// A call about to be placed to `to`, due now (`at` its request's instant) or ahead.
    /// Recorded before the request, so its dial cannot come first.
    pub fn placing(&self, to: &str, due_now: Option<Instant>) {
        let mut book = self.book();
        let placed = due_now.map_or(Placed::Ahead, Placed::Now);
        book.placed.insert(to.to_owned(), placed);
        if due_now.is_some() && !book.dials.contains_key(to) {
            book.queued += 1;
            book.most_queued = book.most_queued.max(book.queued);
        }
    }

    /// The request placing `to` failed.
    pub fn refused(&self, to: &str) {
        let mut book = self.book();
        if let Some(Placed::Now(_)) = book.placed.insert(to.to_owned(), Placed::Refused)
            && !book.dials.contains_key(to)
        {
            book.queued = book.queued.saturating_sub(1);
        }
    }

    /// The fake received a (new) dial to `to` at `at`.
    pub fn dialled(&self, to: &str, at: Instant) {
        let mut book = self.book();
        let count = book.dials.entry(to.to_owned()).or_insert(0);
        *count += 1;
        let first = *count == 1;
        if let Some(Placed::Now(placed)) = book.placed.get(to).copied()
            && first
        {
            book.queued = book.queued.saturating_sub(1);
            if let Some(sink) = &book.sink {
                sink.send(Metric::Dial, placed, at, None);
            }
        }
    }

    /// Calls placed due now and not dialled yet.
    pub fn queued(&self) -> u64 {
        self.book().queued
    }

    /// Stops timing dials (the run's aggregator is closing).
    pub fn end(&self) {
        self.book().sink = None;
    }

    /// The run's figures (`most_queued` and `most_live` as sampled by the caller).
    pub fn correctness(&self) -> CallCorrectness {
        let book = self.book();
        let mut figures = CallCorrectness {
            most_queued: book.most_queued,
            ..CallCorrectness::default()
        };
        for (number, placed) in &book.placed {
            let dials = book.dials.get(number).copied().unwrap_or(0);
            match placed {
                Placed::Now(_) => {
                    figures.placed_now += 1;
                    if dials == 0 {
                        figures.undialled += 1;
                    } else {
                        figures.dialled += 1;
                    }
                }
                Placed::Ahead => {
                    figures.placed_ahead += 1;
                    if dials > 0 {
                        figures.dialled_early += 1;
                    }
                }
                Placed::Refused => {}
            }
        }
        let placed: HashSet<&String> = book
            .placed
            .iter()
            .filter(|(_, placed)| **placed != Placed::Refused)
            .map(|(number, _)| number)
            .collect();
        for (number, dials) in &book.dials {
            if !placed.contains(number) {
                figures.unexpected += 1;
            }
            if *dials > 1 {
                figures.dialled_twice += 1;
            }
        }
        figures
    }
}
