//! Credits and usage as a tenant sees them, and the administrator's grants.

use chrono::{Duration, Utc};
use voxline_core::Credits;
use voxline_db::usage::{self, GroupBy};
use voxline_db::{api_keys, credits};

use crate::auth::Caller;
use crate::error::{ApiError, Code};
use crate::requests::{GrantRequest, UsageQuery};
use crate::state::AppState;
use crate::views::{CreditEntryView, CreditsView, UsagePage, UsageTotalView};

/// Entries listed with the balance.
const RECENT_ENTRIES: i64 = 100;

pub async fn show(state: &AppState, caller: Caller) -> Result<CreditsView, ApiError> {
    let client = state.db.client().await?;
    let balance = credits::balance(&client, caller.tenant).await?;
    drop(client);
    let entries = credits::entries(&state.db, caller.tenant, RECENT_ENTRIES).await?;
    Ok(CreditsView {
        enabled: state.settings.credits.enabled,
        available: balance.available.as_credits(),
        reserved: balance.reserved.as_credits(),
        entries: entries.iter().map(CreditEntryView::from).collect(),
    })
}

/// Grants credits to a tenant (created if new); answers its balance.
pub async fn grant(state: &AppState, req: GrantRequest) -> Result<CreditsView, ApiError> {
    if !req.amount.is_finite() || req.amount == 0.0 || req.amount.abs() > 1e9 {
        return Err(ApiError::new(
            Code::InvalidAmount,
            "amount must be a non-zero number of credits (negative to take some back)",
        ));
    }
    let tenant_name = req.tenant.trim();
    if tenant_name.is_empty()
        || tenant_name.len() > 200
        || tenant_name.chars().any(char::is_control)
    {
        return Err(ApiError::new(
            Code::InvalidTenant,
            "tenant must name the tenant (its API-key tenant name or the JWT's tenant claim)",
        ));
    }
    let tenant = api_keys::ensure_tenant(&state.db, tenant_name).await?;
    // PostgreSQL keeps no U+0000 in text.
    let note = req.note.as_deref().map(|n| n.replace('\0', ""));
    let note = note
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or("granted by an administrator");
    credits::grant(&state.db, tenant, Credits::from_credits(req.amount), note).await?;
    tracing::info!(tenant = %tenant_name, amount = req.amount, "credits granted");
    show(state, Caller { tenant }).await
}

pub async fn usage(state: &AppState, caller: Caller, q: UsageQuery) -> Result<UsagePage, ApiError> {
    // A period given by one end is the 30 days from (or up to) it.
    let (from, to) = match (q.from, q.to) {
        (Some(from), Some(to)) => (from, to),
        (Some(from), None) => (from, from + Duration::days(30)),
        (None, to) => {
            let to = to.unwrap_or_else(Utc::now);
            (to - Duration::days(30), to)
        }
    };
    if from >= to || to - from > Duration::days(366) {
        return Err(ApiError::new(
            Code::InvalidPeriod,
            "`from` must come before `to`, at most 366 days apart (RFC 3339 times)",
        ));
    }
    let group_by = match q.group_by.as_deref().unwrap_or("engine") {
        "engine" => GroupBy::Engine,
        "stage" => GroupBy::Stage,
        "day" => GroupBy::Day,
        other => {
            return Err(ApiError::new(
                Code::InvalidGroupBy,
                format!("group_by `{other}` is not one of: engine, stage, day"),
            ));
        }
    };
    let totals = usage::totals(&state.db, caller.tenant, from, to, group_by).await?;
    Ok(UsagePage {
        from,
        to,
        cost_usd: totals.iter().map(|t| t.cost_usd).sum(),
        totals: totals.iter().map(UsageTotalView::from).collect(),
    })
}
