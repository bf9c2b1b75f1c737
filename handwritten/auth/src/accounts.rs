//! Accounts as a whole: existence checks, listing, and deletion.

use ::nova_runtime::codegen::chrono::{DateTime, TimeZone, Utc};
use ::nova_runtime::codegen::serde_json::json;
use ::nova_runtime::convert::{parse_uuid, parse_uuids, text};
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use ::nova_runtime::{CallContext, LogicError};
use nova_auth::pb;
use nova_auth::repo::users as users_table;

use crate::login::audit;
use crate::{AuthLogic, MAX_BATCH, revocations, sql, users};

/// ListUsers' default and largest page sizes (documented in the proto).
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 1000;
/// The name page tokens of ListUsers carry.
const LIST: &str = "ListUsers";

/// CheckUserExists: a live account whose status is active.
pub async fn check_user_exists(logic: &AuthLogic, request: pb::CheckUserExistsRequest) -> Result<pb::CheckUserExistsResponse, LogicError> {
    let id = parse_uuid("user_id", &request.user_id)?;
    let exists = users_table::get(logic.db(), id).await?.is_some_and(|row| row.status == users_table::Status::Active);
    Ok(pb::CheckUserExistsResponse { exists })
}

/// ListUsers: live users by creation time then id, keyset-paged over `users_created_at_idx`
/// (emails as for GetUser).
/// Not cached by callers (no policy), so no invalidation to do.
pub async fn list_users(logic: &AuthLogic, ctx: &CallContext, request: pb::ListUsersRequest) -> Result<pb::ListUsersResponse, LogicError> {
    let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
    // The token holds the generated cursor of the last row: its `created_at` and `id`.
    let after: Option<users_table::CreatedAtCursor> = decode_token(LIST, &request.page_token)?;
    let since = DateTime::<Utc>::UNIX_EPOCH;
    let until = Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::MAX_UTC);
    let limit = i64::try_from(size + 1).unwrap_or(i64::MAX);
    let rows = users_table::list_by_created_at_between(logic.db(), since, until, after.as_ref(), limit).await?;
    let (rows, next_page_token) = split_page(rows, size, LIST, |row| users_table::CreatedAtCursor::from(row));
    Ok(pb::ListUsersResponse { users: rows.iter().map(|row| users::visible_to(&ctx.principal, row)).collect(), next_page_token })
}

/// DeleteUser: soft-deletes the account, revokes its sessions and refresh tokens, records a
/// revocation of every token of the user for verifiers and publishes `users.deleted` (which
/// every service holding the user's rows follows, as the spec's references say), in one
/// transaction, then drops every cached read of the user. Idempotent: a repeated call
/// publishes nothing more.
pub async fn delete_user(logic: &AuthLogic, ctx: &CallContext, request: pb::DeleteUserRequest) -> Result<pb::DeleteUserResponse, LogicError> {
    let id = parse_uuid("user_id", &request.user_id)?;
    let mut tx = logic.db().begin().await.map_err(|e| LogicError::internal("starting a transaction", e))?;
    match sql::account_deleted_at(&mut *tx, id).await? {
        None => return Err(LogicError::not_found(format!("no user {id}"))),
        Some(Some(_)) => return Ok(pb::DeleteUserResponse {}),
        Some(None) => {}
    }
    let patch = users_table::Patch { status: Some(users_table::Status::Deleted), deleted_at: Some(Some(Utc::now())), ..Default::default() };
    match users_table::update(&mut *tx, id, &patch).await {
        // Deleted by a concurrent call between our read and our write: same outcome.
        Err(::nova_runtime::RepoError::NotFound { .. }) => return Ok(pb::DeleteUserResponse {}),
        other => other?,
    };
    let sessions = sql::revoke_user_sessions(&mut *tx, id).await?;
    sql::revoke_user_tokens(&mut *tx, id).await?;
    audit(&mut tx, Some(id), "delete_account", json!({ "sessions_revoked": sessions })).await?;
    revocations::revoke_user(&mut tx, logic.settings(), id).await?;
    nova_auth::events::publish::users_deleted(&mut tx, &id, ctx.principal.user_id()).await?;
    tx.commit().await.map_err(|e| LogicError::internal("committing the account deletion", e))?;
    // GetUser, GetUsersByIds, CheckUserExists and the permission reads are cached by user id.
    logic.forget_user(id).await;
    Ok(pb::DeleteUserResponse {})
}

/// GetUser: a live user by id, its email only for the user themself or a service.
pub async fn get_user(logic: &AuthLogic, ctx: &CallContext, request: pb::GetUserRequest) -> Result<pb::GetUserResponse, LogicError> {
    let id = parse_uuid("user_id", &request.user_id)?;
    match users_table::get(logic.db(), id).await? {
        Some(row) if row.deleted_at.is_none() => Ok(pb::GetUserResponse { user: Some(users::visible_to(&ctx.principal, &row)) }),
        _ => Err(LogicError::not_found(format!("no user {id}"))),
    }
}

/// GetUsersByIds: live users among the ids, in the order asked (emails as for GetUser); the
/// others listed as missing.
pub async fn get_users_by_ids(
    logic: &AuthLogic,
    ctx: &CallContext,
    request: pb::GetUsersByIdsRequest,
) -> Result<pb::GetUsersByIdsResponse, LogicError> {
    let ids = parse_uuids("user_ids", &request.user_ids, MAX_BATCH)?;
    let rows = users_table::get_many(logic.db(), &ids).await?;
    let live: Vec<&users_table::Row> = rows.iter().filter(|r| r.deleted_at.is_none()).collect();
    let missing_user_ids = ids.iter().filter(|id| !live.iter().any(|r| r.id == **id)).map(|id| id.to_string()).collect();
    // Answer in the order asked, which callers zip with their own lists.
    let users = ids.iter().filter_map(|id| live.iter().find(|r| r.id == *id)).map(|r| users::visible_to(&ctx.principal, r)).collect();
    Ok(pb::GetUsersByIdsResponse { users, missing_user_ids })
}

/// GetUserByEmail: a live user by email, case-insensitively.
pub async fn get_user_by_email(logic: &AuthLogic, request: pb::GetUserByEmailRequest) -> Result<pb::GetUserByEmailResponse, LogicError> {
    let email = text("email", &request.email)?.trim().to_lowercase();
    match users_table::find_by_email(logic.db(), &email).await? {
        Some(row) if row.deleted_at.is_none() => Ok(pb::GetUserByEmailResponse { user: Some(users::to_proto(&row)) }),
        _ => Err(LogicError::not_found("no user with that email")),
    }
}
