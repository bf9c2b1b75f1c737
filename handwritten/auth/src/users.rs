//! Users: validating registrations, and the proto view of a row.

use ::nova_runtime::CallContext;
use ::nova_runtime::LogicError;
use ::nova_runtime::RepoError;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{optional_timestamp, text, timestamp};
use ::nova_runtime::identity::Principal;
use nova_auth::pb;
use nova_auth::repo::{auth_logs, users};

use crate::{AuthLogic, passwords};

/// A registration whose fields passed validation, email normalised to lower case.
pub struct Registration {
    pub email: String,
    pub username: String,
    pub password: String,
}

impl Registration {
    pub fn parse(request: pb::RegisterRequest) -> Result<Self, LogicError> {
        let email = text("email", &request.email)?.trim().to_lowercase();
        let valid_email = email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'))
            && !email.chars().any(char::is_whitespace);
        if !valid_email {
            return Err(LogicError::invalid_argument("email must be an address like name@example.com"));
        }
        let username = text("username", &request.username)?.trim().to_string();
        let valid_username = (3..=32).contains(&username.len()) && username.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_username {
            return Err(LogicError::invalid_argument("username must be 3 to 32 characters: a-z, 0-9 or _"));
        }
        passwords::check_new("password", &request.password)?;
        Ok(Registration { email, username, password: request.password })
    }
}

/// A taken email or username is the caller's problem, named precisely.
pub fn explain_conflict(error: RepoError) -> LogicError {
    match &error {
        RepoError::UniqueViolation { constraint: Some(c), .. } if c == "users_email_live_key" => {
            LogicError::AlreadyExists("email is already registered".into())
        }
        RepoError::UniqueViolation { constraint: Some(c), .. } if c == "users_username_live_key" => {
            LogicError::AlreadyExists("username is taken".into())
        }
        _ => error.into(),
    }
}

/// Whether `viewer` may see `user`'s email: the user themself (in person or through a service
/// serving them), or a nova service calling as itself (a background job, with no end user to
/// answer). When a service serves another end user, the answer is what that user may see (the
/// audience rule for reads): no email. Never the anonymous audience.
pub fn may_see_email(viewer: &Principal, user: Uuid) -> bool {
    viewer.is_user(user) || matches!(viewer, Principal::Service(_))
}

/// What `viewer` may see of a user (GetUser, GetUsersByIds, ListUsers): [`to_proto`], with
/// the email left empty unless [`may_see_email`].
pub fn visible_to(viewer: &Principal, row: &users::Row) -> pb::User {
    let mut user = to_proto(row);
    if !may_see_email(viewer, row.id) {
        user.email.clear();
    }
    user
}

/// A user as the user themself may see it (Register, Login, GetUserByEmail, whose caller
/// already knows the email): never the password hash.
pub fn to_proto(row: &users::Row) -> pb::User {
    // Failed sign-ins never lock an account: `locked_until` is not read (see login_throttles).
    let status = if row.deleted_at.is_some() { pb::AccountStatus::Deleted } else { pb::AccountStatus::from(row.status) };
    pb::User {
        id: row.id.to_string(),
        email: row.email.clone(),
        username: row.username.clone(),
        email_verified: row.email_verified,
        status: status as i32,
        created_at: Some(timestamp(row.created_at)),
        last_login_at: optional_timestamp(row.last_login_at),
    }
}

/// Register: see the proto. The account and its audit entry commit together.
pub async fn register(logic: &AuthLogic, ctx: &CallContext, request: pb::RegisterRequest) -> Result<pb::RegisterResponse, LogicError> {
    let registration = Registration::parse(request)?;
    let password_hash = logic.hashing().hash(ctx.deadline, registration.password).await?;
    // A database outage here is UNAVAILABLE, a lost race ABORTED (see nova_runtime::sql_error).
    let mut tx = logic.db().begin().await.map_err(|e| LogicError::internal("starting a transaction", e))?;
    let new = users::New {
        id: None,
        email: registration.email,
        username: registration.username,
        password_hash,
        email_verified: None,
        status: Some(users::Status::Active),
        failed_login_attempts: None,
        locked_until: None,
        last_login_at: None,
        created_at: None,
        updated_at: None,
        deleted_at: None,
    };
    let row = users::insert(&mut *tx, &new).await.map_err(explain_conflict)?;
    let event = auth_logs::New { id: None, user_id: Some(row.id), event: "register".to_string(), ip_address: None, detail: None, created_at: None };
    auth_logs::insert(&mut *tx, &event).await?;
    tx.commit().await.map_err(|e| LogicError::internal("committing the registration", e))?;
    Ok(pb::RegisterResponse { user: Some(to_proto(&row)) })
}

#[cfg(test)]
mod tests {
    use ::nova_runtime::identity::UserPrincipal;

    use super::*;

    fn request(email: &str, username: &str, password: &str) -> pb::RegisterRequest {
        pb::RegisterRequest { email: email.into(), username: username.into(), password: password.into() }
    }

    fn row(email: &str) -> users::Row {
        let now = ::nova_runtime::codegen::chrono::Utc::now();
        users::Row {
            id: Uuid::new_v4(),
            email: email.into(),
            username: "ada".into(),
            password_hash: "$argon2id$...".into(),
            email_verified: true,
            status: users::Status::Active,
            failed_login_attempts: 0,
            locked_until: None,
            last_login_at: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            version: 0,
        }
    }

    #[test]
    fn only_the_user_themself_and_services_see_an_email() {
        let ada = row("ada@example.com");
        let as_user = |id: Uuid, via: Option<&str>| Principal::User(UserPrincipal { id, session_id: Uuid::new_v4(), via: via.map(str::to_string) });
        let cases = [
            (Principal::Anonymous, ""),
            (as_user(Uuid::new_v4(), None), ""),
            (as_user(ada.id, None), "ada@example.com"),
            (as_user(ada.id, Some("feed")), "ada@example.com"),
            (Principal::Service("content".into()), "ada@example.com"),
            (as_user(Uuid::new_v4(), Some("messaging")), ""),
        ];
        for (viewer, email) in cases {
            let seen = visible_to(&viewer, &ada);
            assert_eq!(seen.email, email, "{viewer}");
            assert_eq!((seen.id, seen.username.as_str()), (ada.id.to_string(), "ada"), "the rest is shown to {viewer}");
        }
        assert!(!format!("{:?}", to_proto(&ada)).contains("argon2"), "never the password hash");
    }

    #[test]
    fn registrations_are_validated_and_normalised() {
        let ok = Registration::parse(request(" Ada@Example.COM ", "ada_l", "correct horse")).unwrap();
        assert_eq!(ok.email, "ada@example.com");
        for bad in [request("nope", "ada", "long enough"), request("a@b.c", "A!", "long enough"), request("a@b.c", "ada", "short")] {
            let error = Registration::parse(bad).err().unwrap();
            assert_eq!(error.code(), ::nova_runtime::codegen::tonic::Code::InvalidArgument);
        }
    }
}
