//! Per-worker tallies and the merged summary: request count, errors, latency percentiles.

/// What one worker saw inside the measurement window.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Latency of each successful (HTTP 200) request, in microseconds.
    pub(crate) latencies_us: Vec<u32>,
    /// Requests that got a non-200 status or no response at all.
    pub(crate) errors: u64,
}

impl Tally {
    /// Records one successful request.
    pub(crate) fn ok(&mut self, latency: std::time::Duration) {
        self.latencies_us.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }
}

/// The merged result of all workers.
#[derive(Debug, PartialEq)]
pub(crate) struct Summary {
    /// Successful requests.
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
}

impl Summary {
    /// Merges the workers' tallies.
    pub(crate) fn merge(tallies: Vec<Tally>) -> Self {
        let errors = tallies.iter().map(|t| t.errors).sum();
        let mut all: Vec<u32> = tallies.into_iter().flat_map(|t| t.latencies_us).collect();
        all.sort_unstable();
        Self {
            requests: all.len() as u64,
            errors,
            p50_ms: percentile_us(&all, 50) / 1000.0,
            p99_ms: percentile_us(&all, 99) / 1000.0,
        }
    }
}

/// The nearest-rank `pct`th percentile of sorted samples (0 for none).
fn percentile_us(sorted: &[u32], pct: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank: ceil(pct/100 * n), 1-based; at least 1 and at most n.
    let rank = (pct * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted.get(rank - 1).map_or(0.0, |&v| f64::from(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_uses_nearest_rank() {
        let samples: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile_us(&samples, 50), 50.0);
        assert_eq!(percentile_us(&samples, 99), 99.0);
        assert_eq!(percentile_us(&[7], 99), 7.0);
        assert_eq!(percentile_us(&[], 50), 0.0);
    }

    #[test]
    fn merge_counts_successes_and_errors_across_workers() {
        let a = Tally { latencies_us: vec![1000, 3000], errors: 1 };
        let b = Tally { latencies_us: vec![2000], errors: 2 };
        let s = Summary::merge(vec![a, b]);
        assert_eq!(s, Summary { requests: 3, errors: 3, p50_ms: 2.0, p99_ms: 3.0 });
    }
}
