//! Each tenant's glossary (`voxline_core::glossary`): the terms every job of
//! theirs honours, replaced whole, and copied into a job when it is made.

use chrono::{DateTime, Utc};
use voxline_core::TenantId;
use voxline_core::glossary::Term;

use crate::pool::row;
use crate::{Db, DbError};

/// A tenant's glossary and when it last changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Glossary {
    pub terms: Vec<Term>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The tenant's glossary (no terms, never changed, when they set none).
pub async fn get(db: &Db, tenant: TenantId) -> Result<Glossary, DbError> {
    let client = db.client().await?;
    let Some(r) = row(&client, &query!("glossaries/get"), &[&tenant]).await? else {
        return Ok(Glossary {
            terms: Vec::new(),
            updated_at: None,
        });
    };
    let terms: serde_json::Value = r.try_get("terms")?;
    Ok(Glossary {
        terms: serde_json::from_value(terms).map_err(|e| DbError::Corrupt(e.to_string()))?,
        updated_at: Some(r.try_get("updated_at")?),
    })
}

/// Replaces the tenant's glossary with `terms`.
pub async fn put(db: &Db, tenant: TenantId, terms: &[Term]) -> Result<Glossary, DbError> {
    let client = db.client().await?;
    let json = serde_json::to_value(terms).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let r = row(&client, &query!("glossaries/put"), &[&tenant, &json])
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(Glossary {
        terms: terms.to_vec(),
        updated_at: Some(r.try_get("updated_at")?),
    })
}
