//! Links for the local backend, its stand-in for S3's pre-signed URLs: the
//! gateway serves `GET /v1/files?key=…&name=…&expires=…&sig=…` (download)
//! and `PUT /v1/files?key=…&expires=…&sig=…` (upload), where `sig` is an
//! HMAC-SHA256 of the purpose and the other fields under the configured
//! signing key. No auth header is needed; nothing but the signed key can be
//! reached, and a download link cannot be used to upload.

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

/// What a link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Download,
    Upload,
    /// Every file of one job's streaming package (the key is the job's id).
    Package,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Download => "get",
            LinkPurpose::Upload => "put",
            LinkPurpose::Package => "package",
        }
    }
}

fn mac(secret: &[u8], purpose: LinkPurpose, key: &str, name: &str, expires: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac takes any key length");
    mac.update(format!("{}\n{key}\n{name}\n{expires}", purpose.as_str()).as_bytes());
    mac
}

pub(crate) fn sign(
    secret: &[u8],
    purpose: LinkPurpose,
    key: &str,
    name: &str,
    expires: i64,
) -> String {
    hex::encode(
        mac(secret, purpose, key, name, expires)
            .finalize()
            .into_bytes(),
    )
}

/// Checks a link's signature (in constant time) and expiry; returns the key.
pub(crate) fn verify(
    secret: &[u8],
    purpose: LinkPurpose,
    link: &SignedLink,
    now: i64,
) -> Result<String, StorageError> {
    let sig = hex::decode(&link.sig).map_err(|_| StorageError::BadLink)?;
    mac(secret, purpose, &link.key, &link.name, link.expires)
        .verify_slice(&sig)
        .map_err(|_| StorageError::BadLink)?;
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
        use LinkPurpose::{Download, Upload};
        let sig = sign(b"k", Download, "jobs/a/es/render/dub.mp4", "dub.mp4", 100);
        let link = SignedLink {
            key: "jobs/a/es/render/dub.mp4".into(),
            name: "dub.mp4".into(),
            expires: 100,
            sig,
        };
        assert!(verify(b"k", Download, &link, 50).is_ok());
        assert!(verify(b"k", Download, &link, 101).is_err());
        assert!(
            verify(b"k", Upload, &link, 50).is_err(),
            "a download link cannot upload"
        );
        let other = SignedLink {
            key: "uploads/x/y".into(),
            ..link.clone()
        };
        assert!(verify(b"k", Download, &other, 50).is_err());
        assert!(verify(b"other", Download, &link, 50).is_err());
    }
}
