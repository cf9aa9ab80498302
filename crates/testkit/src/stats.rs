//! Latency figures for the benchmarks.

use std::time::Duration;

/// The `p` quantile (0 to 1) of `samples`, in milliseconds (nearest rank).
pub fn percentile_ms(samples: &[Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let i = ((sorted.len() as f64 - 1.0) * p.clamp(0.0, 1.0)).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// `| p50 | p95 | p99 | max |` cells, in milliseconds with one decimal.
pub fn latency_cells(samples: &[Duration]) -> String {
    format!(
        "{:.1} | {:.1} | {:.1} | {:.1}",
        percentile_ms(samples, 0.5),
        percentile_ms(samples, 0.95),
        percentile_ms(samples, 0.99),
        percentile_ms(samples, 1.0)
    )
}
