//! Latency recording (sharded HDR histograms, in microseconds) and percentile summaries.

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;

/// Highest latency recorded, in microseconds (larger values are clamped): 60 s.
const MAX_US: u64 = 60_000_000;
/// Shards, so that thousands of connection tasks rarely contend on one lock.
const SHARDS: usize = 32;

/// A latency recorder shared by many tasks.
#[derive(Debug)]
pub struct Latencies {
    shards: Vec<Mutex<Histogram<u64>>>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    /// An empty recorder (1 µs .. 60 s, 3 significant digits).
    pub fn new() -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(new_histogram())).collect();
        Self { shards }
    }

    /// Records one latency in microseconds; `who` picks the shard (e.g. connection index).
    pub fn record(&self, who: usize, micros: u64) {
        let value = micros.clamp(1, MAX_US);
        // Cannot fail: the value is clamped into the histogram's range.
        let _ = self.shards[who % SHARDS].lock().record(value);
    }

    /// Merges every shard and summarises.
    pub fn summary(&self) -> Percentiles {
        let mut all = new_histogram();
        for shard in &self.shards {
            // Same bounds on both sides, so adding cannot fail.
            let _ = all.add(&*shard.lock());
        }
        Percentiles::of(&all)
    }
}

fn new_histogram() -> Histogram<u64> {
    // The bounds are valid constants, so construction cannot fail.
    Histogram::new_with_bounds(1, MAX_US, 3)
        .unwrap_or_else(|_| unreachable!("valid histogram bounds"))
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Samples recorded.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest sample.
    pub max_us: u64,
}

impl Percentiles {
    /// Summarises a histogram (all zero when it is empty).
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_uniform_samples() {
        let lat = Latencies::new();
        for v in 1..=10_000u64 {
            lat.record(v as usize, v);
        }
        let p = lat.summary();
        assert_eq!(p.count, 10_000);
        // HDR histograms keep 3 significant digits: allow 0.1 % error.
        let close = |got: u64, want: u64| got.abs_diff(want) <= want / 1000 + 1;
        assert!(close(p.p50_us, 5_000), "p50 {}", p.p50_us);
        assert!(close(p.p99_us, 9_900), "p99 {}", p.p99_us);
        assert!(close(p.p999_us, 9_990), "p999 {}", p.p999_us);
        assert!(close(p.max_us, 10_000), "max {}", p.max_us);
    }

    #[test]
    fn empty_and_clamped() {
        let lat = Latencies::new();
        assert_eq!(lat.summary(), Percentiles::default());
        lat.record(0, 0);
        lat.record(1, u64::MAX);
        let p = lat.summary();
        assert_eq!(p.count, 2);
        assert!(p.max_us >= MAX_US);
    }
}
