//! A worker's own source of chance for picking operations, conversations and search words:
//! xorshift64*, cheap and `Send`, seeded per worker so workers do not roll in step.

use crate::target::SEARCH_WORDS;

/// An operation mix: cumulative weights out of 100, each with what it picks.
pub type Mix<T> = [(u64, T)];

pub struct Dice {
    state: u64,
}

impl Dice {
    /// Dice for worker `index`, never in the all-zero state xorshift cannot leave.
    pub fn new(index: usize) -> Self {
        Self {
            state: rand::random::<u64>() | 1 | (index as u64) << 1,
        }
    }

    pub fn roll(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// An index below `length`, or `None` when there is nothing to pick from.
    pub fn index(&mut self, length: usize) -> Option<usize> {
        (length > 0).then(|| (self.roll() % length as u64) as usize)
    }

    /// One of `items`, or `None` when there are none.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        self.index(items.len()).and_then(|index| items.get(index))
    }

    /// One of the words the seeded messages hold, for a search that finds something.
    pub fn search_word(&mut self) -> &'static str {
        self.pick(&SEARCH_WORDS).copied().unwrap_or(SEARCH_WORDS[0])
    }

    /// What `mix` picks for a roll out of 100 (its last entry if the weights fall short).
    pub fn weighted<T: Copy>(&mut self, mix: &Mix<T>) -> Option<T> {
        let roll = self.roll() % 100;
        mix.iter()
            .find(|(limit, _)| roll < *limit)
            .or(mix.last())
            .map(|(_, item)| *item)
    }
}
