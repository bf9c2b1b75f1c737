//! What "this user exists" and "this user is active" mean for every service that asks the
//! token issuer about users (`checks_users = true` in the spec): one rule, one set of error
//! messages, instead of five hand-written variants.
//!
//! The generated `Users` type of such a service (in its `wiring` module) asks the issuer
//! (`GetUser`, `GetUsersByIds`, both cached by the client) and turns each account into an
//! [`AccountState`]; the decisions are made here.

use tonic::{Code, Status};
use uuid::Uuid;

use crate::LogicError;

/// The most ids one `GetUsersByIds` call may carry (the issuer's documented bound): larger
/// checks are split into calls of this size.
pub const MAX_BATCH: usize = 100;

/// Where an account stands, as far as other services care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountState {
    /// Usable: may author, stream, upload.
    Active,
    /// Exists but may not act now (e.g. locked by an operator); the issuer's status name.
    Inactive(&'static str),
    /// Deleted: answered exactly like an id the issuer never knew.
    Deleted,
}

/// What a check demands of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demand {
    /// Exists and is not deleted (may be locked): e.g. someone a message is sent to.
    Live,
    /// Exists and is active: e.g. the author of a new post.
    Active,
}

/// The verdict on one account: `Ok` when it meets `demand`, otherwise NOT_FOUND naming
/// `field` for an unknown or deleted user (the two are not told apart), FAILED_PRECONDITION
/// naming the status for an inactive one under [`Demand::Active`].
pub fn judge(field: &str, id: Uuid, state: Option<&AccountState>, demand: Demand) -> Result<(), LogicError> {
    match (state, demand) {
        (None | Some(AccountState::Deleted), _) => Err(LogicError::not_found(format!("{field}: no user {id}"))),
        (Some(AccountState::Active), _) | (Some(AccountState::Inactive(_)), Demand::Live) => Ok(()),
        (Some(AccountState::Inactive(status)), Demand::Active) => {
            Err(LogicError::FailedPrecondition(format!("{field}: the account of {id} is {status}, not active")))
        }
    }
}

/// The issuer's answer to a lookup of one user: its NOT_FOUND means "no such user" (`None`);
/// any other failure is the issuer's (see [`LogicError::upstream`]).
pub fn found<T>(issuer: &'static str, answer: Result<T, Status>) -> Result<Option<T>, LogicError> {
    match answer {
        Ok(found) => Ok(Some(found)),
        Err(status) if status.code() == Code::NotFound => Ok(None),
        Err(status) => Err(LogicError::upstream(issuer, status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: Uuid = Uuid::from_u128(7);

    #[test]
    fn unknown_and_deleted_users_are_the_same_not_found_naming_the_field() {
        for state in [None, Some(AccountState::Deleted)] {
            for demand in [Demand::Live, Demand::Active] {
                let refused = judge("author_id", ID, state.as_ref(), demand).err().map(|e| (e.code(), e.to_string()));
                assert_eq!(refused, Some((Code::NotFound, format!("author_id: no user {ID}"))), "{state:?} {demand:?}");
            }
        }
    }

    #[test]
    fn an_inactive_account_is_live_but_not_active() {
        let locked = AccountState::Inactive("ACCOUNT_STATUS_LOCKED");
        assert!(judge("user_id", ID, Some(&locked), Demand::Live).is_ok());
        let refused = judge("user_id", ID, Some(&locked), Demand::Active).err().map(|e| (e.code(), e.to_string()));
        assert_eq!(refused, Some((Code::FailedPrecondition, format!("user_id: the account of {ID} is ACCOUNT_STATUS_LOCKED, not active"))));
        assert!(judge("user_id", ID, Some(&AccountState::Active), Demand::Active).is_ok());
    }

    #[test]
    fn the_issuers_not_found_is_an_answer_and_its_outage_stays_retryable() {
        assert_eq!(found("auth", Ok::<_, Status>(1)).ok(), Some(Some(1)));
        assert_eq!(found::<i32>("auth", Err(Status::not_found("x"))).ok(), Some(None));
        let outage = found::<i32>("auth", Err(Status::unavailable("down"))).err().map(|e| e.code());
        assert_eq!(outage, Some(Code::Unavailable));
    }
}
