//! Revocations every service can apply: rows of `token_revocations`, written in the same
//! transaction as the change that revokes (Logout, a reused refresh token, ChangePassword,
//! DeleteUser), read by every verifier after a cursor ([`crate::verification`]), and pruned
//! once no token they cover can still be valid.
//!
//! **Cursor order is commit order.** A reader that has seen id 7 never asks for 5 again, so 5
//! must not commit after 7 became visible. Writers therefore take one advisory lock before
//! inserting and hold it to their commit (it is the last thing each revoking transaction
//! does): ids are drawn one transaction at a time, in the order the rows become visible.
//!
//! **Times come from the database clock at insertion** (`clock_timestamp()`), after the
//! transaction took its row locks: a token whose issuance raced with the revocation was
//! issued before that moment, so "issued at or before `revoked_at`" covers it.

use ::nova_runtime::LogicError;
use ::nova_runtime::codegen::chrono::{DateTime, TimeDelta, Utc};
use ::nova_runtime::codegen::sqlx::{PgConnection, PgPool};
use ::nova_runtime::codegen::uuid::Uuid;

use crate::{AuthSettings, sql};

/// Added to the access-token lifetime for how long a revocation is kept: covers a clock
/// difference between this service and its database (a token's `exp` is stamped here, the
/// revocation's time there).
pub const CLOCK_MARGIN: TimeDelta = TimeDelta::seconds(60);

/// How long after its time a revocation must be kept: the latest moment a token it covers
/// (issued at or before it) can still be valid, plus [`CLOCK_MARGIN`].
fn kept_for(settings: &AuthSettings) -> f64 {
    let kept = settings.access_token_ttl + CLOCK_MARGIN;
    kept.num_milliseconds() as f64 / 1000.0
}

/// Records that every token of `sessions` is revoked, in the caller's transaction; call it
/// last before committing (it serialises with every other revoking transaction until then).
pub async fn revoke_sessions(conn: &mut PgConnection, settings: &AuthSettings, sessions: &[Uuid]) -> Result<(), LogicError> {
    if sessions.is_empty() {
        return Ok(());
    }
    sql::lock_revocations(&mut *conn).await?;
    sql::insert_session_revocations(&mut *conn, sessions, kept_for(settings)).await?;
    Ok(())
}

/// Records that every token of `user_id` issued so far is revoked, in the caller's
/// transaction; call it last before committing, like [`revoke_sessions`].
pub async fn revoke_user(conn: &mut PgConnection, settings: &AuthSettings, user_id: Uuid) -> Result<(), LogicError> {
    sql::lock_revocations(&mut *conn).await?;
    sql::insert_user_revocation(&mut *conn, user_id, kept_for(settings)).await?;
    Ok(())
}

/// What revokes a token, if anything does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// Its session was revoked.
    Session,
    /// Every token of its user issued until after it was revoked.
    User,
}

/// Whether a token of `session_id` and `user_id` issued at `issued_at` is revoked at `now`:
/// the same rule every service applies to [`crate::verification`]'s answer.
pub async fn covering(
    db: &PgPool,
    session_id: Uuid,
    user_id: Uuid,
    issued_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<Revoked>, LogicError> {
    let by_session = sql::revocation_covering(db, session_id, user_id, issued_at, now).await?;
    Ok(by_session.map(|session| if session { Revoked::Session } else { Revoked::User }))
}

/// Deletes revocations that cover no token still valid at `now`; how many went.
pub async fn prune(db: &PgPool, now: DateTime<Utc>) -> Result<u64, LogicError> {
    Ok(sql::prune_revocations(db, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocations_outlive_the_tokens_they_cover_by_the_clock_margin() {
        let settings = AuthSettings { access_token_ttl: TimeDelta::minutes(15), ..AuthSettings::default() };
        assert_eq!(kept_for(&settings), 960.0);
        let expired = AuthSettings { access_token_ttl: TimeDelta::seconds(-120), ..AuthSettings::default() };
        assert_eq!(kept_for(&expired), -60.0, "tokens issued already expired need no revocation kept");
    }
}
