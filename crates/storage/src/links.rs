//! Download links for the local backend: the gateway serves
//! `/v1/files?key=…&name=…&expires=…&sig=…`, where `sig` is an HMAC-SHA256 of
//! the other three under the configured signing key. No auth header is
//! needed, and nothing but the signed key can be fetched.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::StorageError;

/// The fields of a local download link, as the gateway receives them.
#[derive(Debug, Clone)]
pub struct SignedLink {
    pub key: String,
    pub name: String,
    pub expires: i64,
    pub sig: String,
}

pub(crate) fn sign(secret: &[u8], key: &str, name: &str, expires: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac takes any key length");
    mac.update(format!("{key}\n{name}\n{expires}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a link's signature (in constant time) and expiry; returns the key.
pub(crate) fn verify(secret: &[u8], link: &SignedLink, now: i64) -> Result<String, StorageError> {
    let sig = hex::decode(&link.sig).map_err(|_| StorageError::BadLink)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac takes any key length");
    mac.update(format!("{}\n{}\n{}", link.key, link.name, link.expires).as_bytes());
    mac.verify_slice(&sig).map_err(|_| StorageError::BadLink)?;
    if link.expires < now {
        return Err(StorageError::BadLink);
    }
    Ok(link.key.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampering_and_expiry_are_refused() {
        let sig = sign(b"k", "jobs/a/es/render/dub.mp4", "dub.mp4", 100);
        let link = SignedLink {
            key: "jobs/a/es/render/dub.mp4".into(),
            name: "dub.mp4".into(),
            expires: 100,
            sig,
        };
        assert!(verify(b"k", &link, 50).is_ok());
        assert!(verify(b"k", &link, 101).is_err());
        let other = SignedLink {
            key: "uploads/x/y".into(),
            ..link.clone()
        };
        assert!(verify(b"k", &other, 50).is_err());
        assert!(verify(b"other", &link, 50).is_err());
    }
}
