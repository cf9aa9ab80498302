//! Tenants and their API keys. A key is shown once at creation; only the
//! SHA-256 of its secret is stored, found again by its short public prefix.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use voxline_core::{ApiKeyId, TenantId};

use crate::{Db, DbError};

/// Every key starts with this, so leaked keys are easy to recognize and scan for.
pub const KEY_PREFIX: &str = "vx_";
/// The channel on which every change that can end a key is announced, with
/// the key's public prefix ([`prefix_of`]), when its transaction commits.
pub const CHANGES: &str = "voxline_api_keys";
const PREFIX_LEN: usize = 12;

/// A freshly created key: the only moment its secret exists in the clear.
#[derive(Debug)]
pub struct CreatedKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub secret: String,
}

/// A key as its owner sees it later: never its secret.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub id: ApiKeyId,
    pub name: String,
    /// The first characters of the secret, to recognize it by.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Finds a tenant by name, creating it on first sight. Every JWT-authenticated
/// request passes here, so the common case is a read, not a write.
pub async fn ensure_tenant(db: &Db, name: &str) -> Result<TenantId, DbError> {
    let row = db
        .row(
            &query!("api_keys/ensure_tenant"),
            &[&TenantId::new(), &name],
        )
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(row.try_get("id")?)
}

/// A tenant's keys, newest first, revoked ones included.
pub async fn list(db: &Db, tenant: TenantId) -> Result<Vec<KeyInfo>, DbError> {
    db.rows(&query!("api_keys/list"), &[&tenant])
        .await?
        .iter()
        .map(|r| {
            Ok(KeyInfo {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                prefix: r.try_get("prefix")?,
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect()
}

/// Revokes a key of `tenant` and answers its public prefix; the revocation
/// is announced on [`CHANGES`]. Revoking twice is fine; another tenant's
/// key is not found.
pub async fn revoke(db: &Db, tenant: TenantId, id: ApiKeyId) -> Result<String, DbError> {
    let row = db
        .row(&query!("api_keys/revoke"), &[&id, &tenant])
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(row.try_get("prefix")?)
}

/// Creates a key for `tenant`, named `name` for people.
pub async fn create(db: &Db, tenant: TenantId, name: &str) -> Result<CreatedKey, DbError> {
    let mut raw = [0u8; 20];
    rand::rng().fill_bytes(&mut raw);
    let secret = format!("{KEY_PREFIX}{}", hex::encode(raw));
    let id = ApiKeyId::new();
    db.execute(
        &query!("api_keys/create"),
        &[&id, &tenant, &name, &prefix_of(&secret), &hash(&secret)],
    )
    .await?;
    Ok(CreatedKey {
        id,
        tenant_id: tenant,
        secret,
    })
}

/// Who a presented key speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyOwner {
    pub key: ApiKeyId,
    pub tenant: TenantId,
}

/// The owner of each presented key, in order: `None` for an unknown,
/// malformed or revoked key. One statement for them all (the gateway
/// gathers the keys of requests that arrive together).
pub async fn authenticate(db: &Db, presented: &[&str]) -> Result<Vec<Option<KeyOwner>>, DbError> {
    let well_formed =
        |p: &str| p.starts_with(KEY_PREFIX) && p.len() >= KEY_PREFIX.len() + PREFIX_LEN;
    let mut prefixes: Vec<String> = presented
        .iter()
        .filter(|p| well_formed(p))
        .map(|p| prefix_of(p))
        .collect();
    // The requests of a batch mostly carry the same few keys.
    prefixes.sort_unstable();
    prefixes.dedup();
    let mut stored: HashMap<String, (String, KeyOwner)> = HashMap::new();
    if !prefixes.is_empty() {
        for r in db.rows(&query!("api_keys/by_prefix"), &[&prefixes]).await? {
            let owner = KeyOwner {
                key: r.try_get("id")?,
                tenant: r.try_get("tenant_id")?,
            };
            stored.insert(r.try_get("prefix")?, (r.try_get("secret_hash")?, owner));
        }
    }
    Ok(presented
        .iter()
        .map(|p| {
            let (secret_hash, owner) = stored.get(&prefix_of(p)).filter(|_| well_formed(p))?;
            constant_time_eq(secret_hash.as_bytes(), hash(p).as_bytes()).then_some(*owner)
        })
        .collect())
}

/// Records that `key` was used (informational: at most one write a minute).
pub async fn record_use(db: &Db, key: ApiKeyId) -> Result<(), DbError> {
    db.execute(&query!("api_keys/used"), &[&key]).await?;
    Ok(())
}

/// The public part of a presented key, by which it is stored and announced.
pub fn prefix_of(secret: &str) -> String {
    secret.chars().take(KEY_PREFIX.len() + PREFIX_LEN).collect()
}

/// What is stored of a key's secret (its SHA-256), to compare a presented
/// key against.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
