//! What every engine call cost: the chains note each attempt (the ones that
//! failed too) in a `CallLog` the stage runner owns, and the runner writes
//! them as usage rows with the stage's outcome, committed or failed.

use std::sync::{Arc, Mutex};

tokio::task_local! {
    /// Units an engine reports while the chain times its call (the tokens a
    /// chat model billed, say), beside the unit the chain counts itself.
    static METERED: Mutex<Vec<(&'static str, f64)>>;
}

/// Notes `units` of `unit` against the engine call in progress; outside a
/// chain's call it does nothing.
pub(crate) fn meter(unit: &'static str, units: f64) {
    let _ = METERED.try_with(|m| m.lock().expect("meter lock").push((unit, units)));
}

/// Runs one engine call and returns what it metered along the way.
pub(crate) async fn metered<T>(
    call: impl std::future::Future<Output = T>,
) -> (T, Vec<(&'static str, f64)>) {
    METERED
        .scope(Mutex::new(Vec::new()), async {
            let out = call.await;
            let units = METERED.with(|m| std::mem::take(&mut *m.lock().expect("meter lock")));
            (out, units)
        })
        .await
}

/// One engine call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub engine: String,
    /// `audio_seconds` or `characters`.
    pub unit: &'static str,
    pub units: f64,
    pub latency_ms: i64,
    /// Why it failed; `None` when it succeeded.
    pub error: Option<String>,
}

/// Calls summed per engine, unit and outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct CallTotal {
    pub engine: String,
    pub unit: &'static str,
    pub calls: i64,
    pub units: f64,
    pub latency_ms: i64,
    pub ok: bool,
    /// The first failure's reason.
    pub error: Option<String>,
}

/// The calls of one stage run, shared by the chains it calls.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<Call>>>);

impl CallLog {
    pub fn record(&self, call: Call) {
        self.0.lock().expect("call log lock").push(call);
    }

    /// Every call so far, summed per engine, unit and outcome, in the order
    /// each group was first seen.
    pub fn totals(&self) -> Vec<CallTotal> {
        let calls = self.0.lock().expect("call log lock");
        let mut totals: Vec<CallTotal> = Vec::new();
        for c in calls.iter() {
            let ok = c.error.is_none();
            match totals
                .iter_mut()
                .find(|t| t.engine == c.engine && t.unit == c.unit && t.ok == ok)
            {
                Some(t) => {
                    t.calls += 1;
                    t.units += c.units;
                    t.latency_ms += c.latency_ms;
                }
                None => totals.push(CallTotal {
                    engine: c.engine.clone(),
                    unit: c.unit,
                    calls: 1,
                    units: c.units,
                    latency_ms: c.latency_ms,
                    ok,
                    error: c.error.clone(),
                }),
            }
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_sum_per_engine_and_outcome() {
        let log = CallLog::default();
        let call = |engine: &str, units: f64, error: Option<&str>| Call {
            engine: engine.into(),
            unit: "characters",
            units,
            latency_ms: 10,
            error: error.map(str::to_owned),
        };
        log.record(call("a", 5.0, Some("timeout")));
        log.record(call("b", 5.0, None));
        log.record(call("b", 7.0, None));
        let totals = log.totals();
        assert_eq!(totals.len(), 2);
        assert_eq!(
            (totals[0].ok, totals[0].error.as_deref()),
            (false, Some("timeout"))
        );
        assert_eq!(
            (totals[1].calls, totals[1].units, totals[1].latency_ms),
            (2, 12.0, 20)
        );
    }
}
