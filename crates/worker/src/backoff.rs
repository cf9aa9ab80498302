use std::time::Duration;

use rand::Rng;

/// Delay before retry number `failures` (1 for the first retry): exponential
/// from `base`, capped at `max`, with full jitter over its upper half so
/// retries of many runs spread out instead of arriving together.
pub fn delay(failures: u32, base: f64, max: f64) -> Duration {
    let exp = base * 2f64.powi(failures.saturating_sub(1).min(30) as i32);
    let capped = exp.min(max).max(0.0);
    let jittered = rand::rng().random_range(capped / 2.0..=capped.max(f64::MIN_POSITIVE));
    Duration::from_secs_f64(jittered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_caps() {
        for _ in 0..100 {
            let first = delay(1, 2.0, 60.0).as_secs_f64();
            assert!((1.0..=2.0).contains(&first), "{first}");
            let late = delay(20, 2.0, 60.0).as_secs_f64();
            assert!((30.0..=60.0).contains(&late), "{late}");
        }
    }
}
