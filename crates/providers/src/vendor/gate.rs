//! The door every vendor request goes through: it holds a request back
//! until the vendor's concurrency cap and request rate allow it. The limits
//! are shared by every replica, so the implementation workers use lives in
//! the queue crate, on Redis; this crate only names the contract.

use voxline_config::VendorLimits;

use crate::ProviderError;

#[async_trait::async_trait]
pub trait VendorGate: Send + Sync {
    /// Waits for a turn at `vendor` within `limits`; the turn holds a place
    /// under the concurrency cap until it is dropped. Fails `Unavailable`
    /// when no turn comes within the vendor's timeout.
    async fn enter(&self, vendor: &str, limits: &VendorLimits) -> Result<Turn, ProviderError>;
}

/// A place under a vendor's concurrency cap, given back when dropped.
pub struct Turn(Option<Box<dyn FnOnce() + Send>>);

impl Turn {
    /// A turn that runs `release` when it ends.
    pub fn new(release: impl FnOnce() + Send + 'static) -> Self {
        Self(Some(Box::new(release)))
    }

    /// A turn with nothing to give back.
    pub fn free() -> Self {
        Self(None)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(release) = self.0.take() {
            release();
        }
    }
}

/// No limits at all: for processes that list engines but never call them
/// (the gateway), and for tests of one engine.
pub struct Unlimited;

#[async_trait::async_trait]
impl VendorGate for Unlimited {
    async fn enter(&self, _: &str, _: &VendorLimits) -> Result<Turn, ProviderError> {
        Ok(Turn::free())
    }
}
