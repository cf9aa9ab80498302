//! Tenants and their API keys. A key is shown once at creation; only the
//! SHA-256 of its secret is stored, found again by its short public prefix.

use rand::RngCore;
use sha2::{Digest, Sha256};
use voxline_core::{ApiKeyId, TenantId};

use crate::{Db, DbError};

/// Every key starts with this, so leaked keys are easy to recognize and scan for.
pub const KEY_PREFIX: &str = "vx_";
const PREFIX_LEN: usize = 12;

/// A freshly created key: the only moment its secret exists in the clear.
#[derive(Debug)]
pub struct CreatedKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub secret: String,
}

/// Finds a tenant by name, creating it if it does not exist.
pub async fn ensure_tenant(db: &Db, name: &str) -> Result<TenantId, DbError> {
    let client = db.client().await?;
    let row = client
        .query_one(
            "INSERT INTO tenants (id, name) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
             RETURNING id",
            &[&TenantId::new().0, &name],
        )
        .await?;
    Ok(TenantId(row.get(0)))
}

/// Creates a key for `tenant`, named `name` for people.
pub async fn create(db: &Db, tenant: TenantId, name: &str) -> Result<CreatedKey, DbError> {
    let mut raw = [0u8; 20];
    rand::rng().fill_bytes(&mut raw);
    let secret = format!("{KEY_PREFIX}{}", hex::encode(raw));
    let id = ApiKeyId::new();
    db.client()
        .await?
        .execute(
            "INSERT INTO api_keys (id, tenant_id, name, prefix, secret_hash)
             VALUES ($1, $2, $3, $4, $5)",
            &[&id.0, &tenant.0, &name, &prefix_of(&secret), &hash(&secret)],
        )
        .await?;
    Ok(CreatedKey {
        id,
        tenant_id: tenant,
        secret,
    })
}

/// The tenant a presented key belongs to, or `None` for an unknown,
/// malformed or revoked key. Records when the key was last used.
pub async fn authenticate(db: &Db, presented: &str) -> Result<Option<TenantId>, DbError> {
    if !presented.starts_with(KEY_PREFIX) || presented.len() < KEY_PREFIX.len() + PREFIX_LEN {
        return Ok(None);
    }
    let client = db.client().await?;
    let Some(row) = client
        .query_opt(
            "SELECT id, tenant_id, secret_hash FROM api_keys
             WHERE prefix = $1 AND revoked_at IS NULL",
            &[&prefix_of(presented)],
        )
        .await?
    else {
        return Ok(None);
    };
    let stored: String = row.get(2);
    if !constant_time_eq(stored.as_bytes(), hash(presented).as_bytes()) {
        return Ok(None);
    }
    let id: uuid::Uuid = row.get(0);
    // Last-used is informational: at most one write a minute per key.
    client
        .execute(
            "UPDATE api_keys SET last_used_at = now()
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
            &[&id],
        )
        .await?;
    Ok(Some(TenantId(row.get(1))))
}

fn prefix_of(secret: &str) -> String {
    secret.chars().take(KEY_PREFIX.len() + PREFIX_LEN).collect()
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
