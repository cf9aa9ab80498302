//! API keys over the API: created (the secret shown once), listed, revoked.

use voxline_core::ApiKeyId;
use voxline_db::api_keys;

use crate::auth::Caller;
use crate::error::{ApiError, Code};
use crate::state::AppState;
use crate::views::{CreatedKeyView, KeyView};

pub async fn create(
    state: &AppState,
    caller: Caller,
    name: &str,
) -> Result<CreatedKeyView, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::new(
            Code::InvalidKeyName,
            "name the key with 1 to 100 printable characters, e.g. \"ci\"",
        ));
    }
    let created = api_keys::create(&state.db, caller.tenant, name).await?;
    let info = api_keys::list(&state.db, caller.tenant)
        .await?
        .into_iter()
        .find(|k| k.id == created.id)
        .ok_or_else(|| ApiError::internal("the new key vanished", created.id))?;
    tracing::info!(key_id = %created.id, tenant_id = %caller.tenant, "api key created");
    Ok(CreatedKeyView {
        key: KeyView::from(&info),
        secret: created.secret,
    })
}

pub async fn list(state: &AppState, caller: Caller) -> Result<Vec<KeyView>, ApiError> {
    Ok(api_keys::list(&state.db, caller.tenant)
        .await?
        .iter()
        .map(KeyView::from)
        .collect())
}

pub async fn revoke(state: &AppState, caller: Caller, id: &str) -> Result<(), ApiError> {
    let id = ApiKeyId::parse(id).map_err(|_| ApiError::not_found("key"))?;
    let prefix = api_keys::revoke(&state.db, caller.tenant, id)
        .await
        .map_err(|e| match e {
            voxline_db::DbError::NotFound => ApiError::not_found("key"),
            e => e.into(),
        })?;
    state.auth.forget_key(&prefix);
    tracing::info!(key_id = %id, tenant_id = %caller.tenant, "api key revoked");
    Ok(())
}
