//! Credit amounts. The ledger counts in ten-thousandths of a credit, so sums
//! are exact integers; people see credits as decimals.

/// Ledger units in one credit.
pub const UNITS_PER_CREDIT: i64 = 10_000;

/// An amount of credits, in ledger units.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Credits(pub i64);

impl Credits {
    pub fn from_credits(credits: f64) -> Self {
        Credits((credits * UNITS_PER_CREDIT as f64).round() as i64)
    }

    pub fn as_credits(self) -> f64 {
        self.0 as f64 / UNITS_PER_CREDIT as f64
    }

    /// The price of dubbing `seconds` of media into one language:
    /// `per_second` credits a second, times the language's multiplier.
    pub fn for_media(seconds: f64, per_second: f64, multiplier: f64) -> Self {
        Self::from_credits(seconds.max(0.0) * per_second * multiplier)
    }
}

impl std::fmt::Display for Credits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.4}", self.as_credits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_follow_the_frontend_table() {
        // 0.1 credits a second; Arabic at 1.2.
        assert_eq!(Credits::for_media(30.0, 0.1, 1.0).as_credits(), 3.0);
        assert_eq!(Credits::for_media(30.0, 0.1, 1.2), Credits(36_000));
        assert_eq!(Credits::from_credits(20.0).to_string(), "20.0000");
    }
}
