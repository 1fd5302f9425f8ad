//! A mergeable percentile sketch over non-negative integers (milliseconds): each value is
//! counted in a logarithmic bin `i` covering `(γ^(i-1), γ^i]` with γ = 1.02, so any percentile
//! read back is within 1 % of the true one (DDSketch's guarantee), and two sketches merge by
//! adding their bins. Zeros are counted apart; count and sum are exact. Bins are dense (a value
//! of a day in milliseconds is bin 920), so merging thousands of stored sketches is additions.

/// The bins' growth factor: every bin's representative is within `(γ-1)/(γ+1)` ≈ 0.99 % of
/// any value in it.
const GAMMA: f64 = 1.02;

/// A sketch's percentiles, mean and count, in the sketch's unit scaled by the reader.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub mean: f64,
    pub count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sketch {
    count: u64,
    sum: u64,
    zeros: u64,
    /// Counts of bins 0, 1, 2, … (values from 1 up), as far as the highest bin used.
    bins: Vec<u64>,
}

/// A stored sketch that does not decode.
#[derive(Debug, thiserror::Error)]
#[error("a stored sketch does not decode: {0:?}")]
pub struct SketchDecodeError(pub String);

impl Sketch {
    pub fn insert(&mut self, value: u64) {
        self.count += 1;
        self.sum = self.sum.saturating_add(value);
        if value == 0 {
            self.zeros += 1;
        } else {
            *self.bin_mut(bin_of(value)) += 1;
        }
    }

    pub fn merge(&mut self, other: &Sketch) {
        self.count += other.count;
        self.sum = self.sum.saturating_add(other.sum);
        self.zeros += other.zeros;
        self.grow_to(other.bins.len());
        for (mine, theirs) in self.bins.iter_mut().zip(&other.bins) {
            *mine += theirs;
        }
    }

    fn bin_mut(&mut self, bin: usize) -> &mut u64 {
        self.grow_to(bin + 1);
        &mut self.bins[bin]
    }

    /// Makes room for `length` bins (new ones empty); never shrinks.
    fn grow_to(&mut self, length: usize) {
        if self.bins.len() < length {
            self.bins.resize(length, 0);
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// The nearest-rank `q`-quantile (the value at rank ⌈q·n⌉), within 1 %; `None` if empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        if rank <= self.zeros {
            return Some(0.0);
        }
        let mut seen = self.zeros;
        let mut highest = None;
        for (bin, count) in self
            .bins
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
        {
            seen += count;
            highest = Some(bin);
            if seen >= rank {
                return Some(representative(bin));
            }
        }
        highest.map(representative)
    }

    /// p50, p90, p95, p99, mean and count, each value divided by `scale` (1000 turns
    /// milliseconds into seconds); `None` if empty.
    pub fn percentiles(&self, scale: f64) -> Option<Percentiles> {
        let at = |q| self.quantile(q).map(|value| value / scale);
        Some(Percentiles {
            p50: at(0.50)?,
            p90: at(0.90)?,
            p95: at(0.95)?,
            p99: at(0.99)?,
            mean: self.mean()? / scale,
            count: self.count,
        })
    }

    /// `count;sum;zeros;bin:count,bin:count…` with bins ascending. The numbers are written by
    /// `itoa`: through `write!` and the formatter, encoding was a quarter of adding to the
    /// roll-ups (callgrind).
    pub fn encode(&self) -> String {
        let mut number = itoa::Buffer::new();
        let mut text = String::with_capacity(64);
        for total in [self.count, self.sum, self.zeros] {
            text.push_str(number.format(total));
            text.push(';');
        }
        let used = self
            .bins
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0);
        for (index, (bin, count)) in used.enumerate() {
            if index > 0 {
                text.push(',');
            }
            text.push_str(number.format(bin));
            text.push(':');
            text.push_str(number.format(*count));
        }
        text
    }

    pub fn decode(text: &str) -> Result<Sketch, SketchDecodeError> {
        let mut sketch = Sketch::default();
        sketch.merge_encoded(text)?;
        Ok(sketch)
    }

    /// Adds a stored sketch to this one without building it first: a range's read merges
    /// thousands of them. The text is read twice, once to check it (a broken one changes
    /// nothing) and once to add its bins, which allocates nothing unless this sketch grows.
    pub fn merge_encoded(&mut self, text: &str) -> Result<(), SketchDecodeError> {
        let broken = || SketchDecodeError(text.chars().take(80).collect());
        let mut digits = Digits {
            bytes: text.as_bytes(),
            at: 0,
        };
        let count = digits.number_then(b';').ok_or_else(broken)?;
        let sum = digits.number_then(b';').ok_or_else(broken)?;
        let zeros = digits.number_then(b';').ok_or_else(broken)?;
        if digits.at == 0 || text.as_bytes().get(digits.at - 1) != Some(&b';') {
            return Err(broken());
        }
        let bins = digits;
        let mut binned: u64 = 0;
        let mut highest = None;
        for bin in bins.clone().bins() {
            let (bin, bin_count) = bin.ok_or_else(broken)?;
            binned = binned.checked_add(bin_count).ok_or_else(broken)?;
            highest = highest.max(Some(bin));
        }
        if zeros.checked_add(binned) != Some(count) {
            return Err(broken());
        }
        self.count += count;
        self.sum = self.sum.saturating_add(sum);
        self.zeros += zeros;
        if let Some(highest) = highest {
            self.grow_to(highest + 1);
        }
        for (bin, bin_count) in bins.bins().flatten() {
            self.bins[bin] += bin_count;
        }
        Ok(())
    }
}

/// Reads the numbers of an encoded sketch.
#[derive(Clone)]
struct Digits<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Digits<'_> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    /// The `bin:count` pairs left, each `None` if broken (a bin beyond [`MAX_BIN`] too).
    fn bins(mut self) -> impl Iterator<Item = Option<(usize, u64)>> {
        std::iter::from_fn(move || {
            if self.done() {
                return None;
            }
            let pair = self.number_then(b':').and_then(|bin| {
                let bin = usize::try_from(bin).ok().filter(|bin| *bin <= MAX_BIN)?;
                Some((bin, self.number_then(b',')?))
            });
            if pair.is_none() {
                self.at = self.bytes.len();
            }
            Some(pair)
        })
    }

    /// A number of at least one digit, followed by `end` (consumed) or the end of the text.
    fn number_then(&mut self, end: u8) -> Option<u64> {
        let start = self.at;
        let mut value: u64 = 0;
        while let Some(byte) = self.bytes.get(self.at).filter(|byte| byte.is_ascii_digit()) {
            value = value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
            self.at += 1;
        }
        if self.at == start {
            return None;
        }
        match self.bytes.get(self.at) {
            None => Some(value),
            Some(byte) if *byte == end => {
                self.at += 1;
                Some(value)
            }
            Some(_) => None,
        }
    }
}

/// The bin of `u64::MAX`: no stored bin is higher.
const MAX_BIN: usize = 2_241;

fn bin_of(value: u64) -> usize {
    ((value as f64).ln() / GAMMA.ln()).ceil() as usize
}

/// The value a bin stands for: the point of `(γ^(i-1), γ^i]` equally far, relatively, from both
/// ends.
fn representative(bin: usize) -> f64 {
    2.0 * GAMMA.powi(i32::try_from(bin).unwrap_or(i32::MAX)) / (GAMMA + 1.0)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn exact(values: &mut [u64], q: f64) -> f64 {
        values.sort_unstable();
        let rank = ((q * values.len() as f64).ceil() as usize).max(1);
        values[rank - 1] as f64
    }

    proptest! {
        #[test]
        fn quantiles_are_within_one_percent(mut values in prop::collection::vec(0u64..10_000_000, 1..400)) {
            let mut sketch = Sketch::default();
            values.iter().for_each(|value| sketch.insert(*value));
            for q in [0.5, 0.9, 0.95, 0.99, 1.0] {
                let truth = exact(&mut values, q);
                let read = sketch.quantile(q).unwrap_or_default();
                prop_assert!((read - truth).abs() <= truth * 0.01 + 1e-9, "q {q}: {read} vs {truth}");
            }
        }

        #[test]
        fn merging_equals_inserting_everything(
            left in prop::collection::vec(0u64..1_000_000, 0..100),
            right in prop::collection::vec(0u64..1_000_000, 0..100),
        ) {
            let mut merged = Sketch::default();
            left.iter().for_each(|value| merged.insert(*value));
            let mut other = Sketch::default();
            right.iter().for_each(|value| other.insert(*value));
            merged.merge(&other);
            let mut whole = Sketch::default();
            left.iter().chain(&right).for_each(|value| whole.insert(*value));
            prop_assert_eq!(&merged, &whole);
            prop_assert_eq!(Sketch::decode(&merged.encode()).ok(), Some(whole));
        }
    }

    #[test]
    fn an_empty_sketch_has_no_percentiles() {
        let sketch = Sketch::default();
        assert_eq!(sketch.percentiles(1.0), None);
        assert_eq!(Sketch::decode(&sketch.encode()).ok(), Some(sketch));
    }

    #[test]
    fn broken_text_is_refused() {
        for text in [
            "",
            "1;2",
            "2;5;0;3:1",
            "1;1;0;x:1",
            "1;1;0;3",
            "1;1;0;99999999:1",
        ] {
            assert!(Sketch::decode(text).is_err(), "{text}");
        }
    }

    #[test]
    fn the_largest_value_has_the_highest_bin() {
        assert_eq!(bin_of(u64::MAX), MAX_BIN);
        assert_eq!(bin_of(1), 0);
    }

    #[test]
    fn mean_and_count_are_exact() {
        let mut sketch = Sketch::default();
        [0, 10, 20, 30]
            .iter()
            .for_each(|value| sketch.insert(*value));
        let read = sketch.percentiles(1000.0).expect("values");
        assert_eq!(read.count, 4);
        assert!((read.mean - 0.015).abs() < 1e-12);
    }
}
