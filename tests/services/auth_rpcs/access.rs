//! Who may call which auth RPC, and what each caller is shown: every RPC refuses the callers
//! its policy excludes (and a refused call changes nothing), emails are shown only to the user
//! themself and to services, and operators named by email (`NOVA_AUTH_ADMIN_EMAILS`) hold the
//! `auth.*` permissions without anyone granting them.
//! (`tests/identity.rs` checks the same machinery across services.)

use nova_runtime::identity::Access;

use super::*;

/// What an RPC's policy admits, as this file tests it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Anyone, signed in or not.
    Public,
    /// A signed-in user, acting on their own sessions (checked by the handler).
    User,
    /// A signed-in user, whose `user_id` the server binds to the caller.
    Bound,
    /// Nova services only.
    Service,
    /// A user holding `auth.admin`.
    Operator,
}

/// Every auth RPC and its kind, written out so that a changed policy in the spec fails
/// [`the_table_is_the_spec`] until its refusals here are reconsidered.
const RPCS: &[(&str, Kind)] = &[
    ("Register", Kind::Public),
    ("Login", Kind::Public),
    ("Refresh", Kind::Public),
    ("Logout", Kind::User),
    ("GetUser", Kind::Public),
    ("GetUsersByIds", Kind::Public),
    ("VerifyToken", Kind::Public),
    ("CheckUserExists", Kind::Public),
    ("GetUserByEmail", Kind::Service),
    ("ListUsers", Kind::Operator),
    ("CheckPermission", Kind::Service),
    ("GetUserPermissions", Kind::Bound),
    ("GrantPermission", Kind::Operator),
    ("RevokePermission", Kind::Operator),
    ("RecordFailedLogin", Kind::Service),
    ("DeleteUser", Kind::Bound),
    ("RotateSigningKey", Kind::Operator),
    ("GetTokenVerification", Kind::Service),
    ("ChangePassword", Kind::Bound),
];

fn kind_of(rpc: &nova_runtime::rpc::RpcDescriptor) -> Kind {
    let policy = rpc.access;
    match (policy.access, policy.acting) {
        (Access::Public, []) => Kind::Public,
        (Access::User, []) => Kind::User,
        (Access::User, ["user_id"]) => Kind::Bound,
        (Access::Service, []) => Kind::Service,
        (Access::Permission("auth.admin"), []) => Kind::Operator,
        other => panic!("{}: a policy this file does not test: {other:?}", rpc.method),
    }
}

#[test]
fn the_table_is_the_spec() {
    let generated: Vec<(&str, Kind)> = nova_auth::rpc::ALL.iter().map(|rpc| (rpc.method, kind_of(rpc))).collect();
    assert_eq!(generated, RPCS);
    // No auth RPC admits services beyond the service-only ones (as themselves, naming anyone).
    for rpc in nova_auth::rpc::ALL.iter().filter(|rpc| kind_of(rpc) != Kind::Service) {
        assert!(rpc.access.services.is_empty(), "{} admits services {:?}", rpc.method, rpc.access.services);
    }
}

/// Calls `method` through `auth`, aimed at `victim` (their id, session, email), and returns the
/// code of the answer.
async fn call(auth: &AuthClient, method: &str, victim: &TestUser) -> Code {
    let id = || victim.id.clone();
    let result = match method {
        "Register" => {
            let request = pb::RegisterRequest { email: "newcomer@example.com".into(), username: "newcomer".into(), password: PASSWORD.into() };
            auth.register(request).await.map(drop)
        }
        "Login" => auth.login(credentials(&victim.name, PASSWORD)).await.map(drop),
        "Refresh" => auth.refresh(pb::RefreshRequest { refresh_token: victim.refresh_token.clone() }).await.map(drop),
        "Logout" => auth.logout(pb::LogoutRequest { session_id: victim.session_id.clone() }).await.map(drop),
        "GetUser" => auth.get_user(pb::GetUserRequest { user_id: id() }).await.map(drop),
        "GetUsersByIds" => auth.get_users_by_ids(pb::GetUsersByIdsRequest { user_ids: vec![id()] }).await.map(drop),
        "VerifyToken" => auth.verify_token(pb::VerifyTokenRequest { access_token: victim.token.clone() }).await.map(drop),
        "CheckUserExists" => auth.check_user_exists(pb::CheckUserExistsRequest { user_id: id() }).await.map(drop),
        "GetUserByEmail" => auth.get_user_by_email(pb::GetUserByEmailRequest { email: victim.email.clone() }).await.map(drop),
        "ListUsers" => auth.list_users(pb::ListUsersRequest::default()).await.map(drop),
        "CheckPermission" => auth.check_permission(pb::CheckPermissionRequest { user_id: id(), permission: "auth.admin".into() }).await.map(drop),
        "GetUserPermissions" => auth.get_user_permissions(pb::GetUserPermissionsRequest { user_id: id() }).await.map(drop),
        "GrantPermission" => auth.grant_permission(pb::GrantPermissionRequest { user_id: id(), permission: "auth.admin".into() }).await.map(drop),
        "RevokePermission" => {
            auth.revoke_permission(pb::RevokePermissionRequest { user_id: id(), permission: "content.moderate".into() }).await.map(drop)
        }
        "RecordFailedLogin" => {
            auth.record_failed_login(pb::RecordFailedLoginRequest { user_id: id(), source_address: "198.51.100.1".into() }).await.map(drop)
        }
        "DeleteUser" => auth.delete_user(pb::DeleteUserRequest { user_id: id() }).await.map(drop),
        "RotateSigningKey" => auth.rotate_signing_key(pb::RotateSigningKeyRequest {}).await.map(drop),
        "GetTokenVerification" => auth.get_token_verification(pb::GetTokenVerificationRequest { revocations_after: 0 }).await.map(drop),
        "ChangePassword" => {
            let request = pb::ChangePasswordRequest { user_id: id(), current_password: PASSWORD.into(), new_password: "a new password".into() };
            auth.change_password(request).await.map(drop)
        }
        other => panic!("no call for {other}"),
    };
    result.map_or_else(|status| status.code(), |()| Code::Ok)
}

#[tokio::test]
async fn every_rpc_refuses_the_callers_its_policy_excludes_and_changes_nothing() {
    let (system, client) = start(AuthSettings::default()).await;
    let ada = system.sign_up("ada").await;
    let bob = system.sign_up("bob").await;
    // Ada holds a permission, but not auth.admin.
    grant_in_database(&system, &ada.id, "content.moderate").await;
    let anonymous = client.clone();
    let as_ada = client.with_token(&ada.token);
    let as_bob = client.with_token(&bob.token);
    let as_service = service(&system);

    for (method, kind) in RPCS {
        // (caller, its name, the code expected), every call aimed at ada.
        let expected: Vec<(&AuthClient, &str, Code)> = match kind {
            Kind::Public => vec![(&anonymous, "anonymous", Code::Ok)],
            // Bob's token on ada's session: not his, answered as if it did not exist.
            Kind::User => vec![
                (&anonymous, "anonymous", Code::Unauthenticated),
                (&as_bob, "another user", Code::NotFound),
                (&as_service, "a service as itself", Code::PermissionDenied),
            ],
            Kind::Bound => vec![
                (&anonymous, "anonymous", Code::Unauthenticated),
                (&as_bob, "another user", Code::PermissionDenied),
                (&as_service, "a service as itself", Code::PermissionDenied),
            ],
            Kind::Service => vec![
                (&anonymous, "anonymous", Code::PermissionDenied),
                (&as_ada, "the user themself", Code::PermissionDenied),
                (&as_bob, "another user", Code::PermissionDenied),
            ],
            // Ada herself, granting herself auth.admin among others: nobody gets the permission
            // without already holding it.
            Kind::Operator => vec![
                (&anonymous, "anonymous", Code::Unauthenticated),
                (&as_ada, "a user without auth.admin", Code::PermissionDenied),
                (&as_bob, "another user without auth.admin", Code::PermissionDenied),
                (&as_service, "a service as itself", Code::PermissionDenied),
            ],
        };
        for (caller, who, code) in expected {
            assert_eq!(call(caller, method, &ada).await, code, "{method} called by {who}");
        }
    }
    let refused = as_ada.rotate_signing_key(pb::RotateSigningKeyRequest {}).await.unwrap_err();
    assert!(refused.message().contains("auth.admin"), "{}", refused.message());

    // Nothing a refused call asked for happened: ada's account, password, session and
    // permissions are as they were, no failure was counted, no key rotated.
    verify(&direct(&system), &ada.token).await.unwrap();
    client.login(credentials("ada", PASSWORD)).await.unwrap();
    let mut db = system.connect("auth").await;
    let permissions: Vec<(String, String)> =
        sqlx::query_as("SELECT user_id::text, permission FROM user_permissions").fetch_all(&mut db).await.unwrap();
    assert_eq!(permissions, [(ada.id.clone(), "content.moderate".to_string())]);
    let counted: i64 = sqlx::query_scalar("SELECT count(*) FROM login_throttles").fetch_one(&mut db).await.unwrap();
    let revoked: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL").fetch_one(&mut db).await.unwrap();
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM jwt_signing_keys").fetch_one(&mut db).await.unwrap();
    let deleted: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE deleted_at IS NOT NULL").fetch_one(&mut db).await.unwrap();
    let changed: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_logs WHERE event = 'password_changed'").fetch_one(&mut db).await.unwrap();
    assert_eq!((counted, revoked, keys, deleted, changed), (0, 0, 1, 0, 0));
    system.stop().await;
}

#[tokio::test]
async fn emails_are_shown_only_to_the_user_themself_and_to_services_as_themselves() {
    let (system, client) = start(AuthSettings::default()).await;
    let ada = system.sign_up("ada").await;
    let bob = system.sign_up("bob").await;
    let email_seen = |auth: AuthClient| {
        let (ada, bob) = (ada.id.clone(), bob.id.clone());
        async move {
            let one = auth.get_user(pb::GetUserRequest { user_id: ada.clone() }).await.unwrap().user.unwrap();
            let many = auth.get_users_by_ids(pb::GetUsersByIdsRequest { user_ids: vec![ada, bob] }).await.unwrap().users;
            assert_eq!(many.len(), 2);
            assert_eq!(one.email, many[0].email, "GetUser and GetUsersByIds agree");
            (one.email, many[1].email.clone())
        }
    };
    let none = (String::new(), String::new());
    // Through one edge client, so through one cache: each caller's answer is its own.
    assert_eq!(email_seen(client.clone()).await, none, "the anonymous audience");
    assert_eq!(email_seen(client.with_token(&ada.token)).await, (ada.email.clone(), String::new()), "ada herself");
    assert_eq!(email_seen(client.with_token(&bob.token)).await, (String::new(), bob.email.clone()), "bob");
    assert_eq!(email_seen(client.clone()).await, none, "nothing of theirs leaked to the anonymous audience");
    // A service as itself sees every email; a service serving a user sees what that user may.
    let messaging = system.service_client("messaging", AuthClient::from_peers);
    assert_eq!(email_seen(messaging.clone()).await, (ada.email.clone(), bob.email.clone()), "a service as itself");
    assert_eq!(email_seen(messaging.with_token(&bob.token)).await, (String::new(), bob.email.clone()), "a service serving bob");
    assert_eq!(email_seen(messaging.with_token(&ada.token)).await, (ada.email.clone(), String::new()), "a service serving ada");
    system.stop().await;
}

#[tokio::test]
async fn operators_named_by_email_hold_every_auth_permission_from_their_first_sign_in() {
    let settings = AuthSettings { admin_emails: vec![" Root@Example.com".into(), "nobody-yet@example.com".into()], ..AuthSettings::default() };
    let (system, client) = start(settings).await;
    let root = system.sign_up("root").await;
    let ada = system.sign_up("ada").await;
    let as_root = client.with_token(&root.token);
    let services = service(&system);
    let check = |user: &TestUser, permission: &str| pb::CheckPermissionRequest { user_id: user.id.clone(), permission: permission.into() };

    // Without a row in user_permissions, root is an operator ...
    as_root.rotate_signing_key(pb::RotateSigningKeyRequest {}).await.unwrap();
    assert_eq!(as_root.list_users(pb::ListUsersRequest::default()).await.unwrap().users.len(), 2);
    assert_eq!(as_root.get_user_permissions(pb::GetUserPermissionsRequest::default()).await.unwrap().permissions, ["auth.admin"]);
    for (permission, allowed) in [("auth.admin", true), ("auth.audit", true), ("content.moderate", false)] {
        assert_eq!(services.check_permission(check(&root, permission)).await.unwrap().allowed, allowed, "{permission}");
    }
    // ... who makes ada one; ada was not one before.
    let as_ada = client.with_token(&ada.token);
    assert_code(as_ada.list_users(pb::ListUsersRequest::default()).await, Code::PermissionDenied);
    assert!(!services.check_permission(check(&ada, "auth.admin")).await.unwrap().allowed);
    as_root.grant_permission(pb::GrantPermissionRequest { user_id: ada.id.clone(), permission: "auth.admin".into() }).await.unwrap();
    as_ada.list_users(pb::ListUsersRequest::default()).await.unwrap();
    assert!(services.check_permission(check(&ada, "auth.admin")).await.unwrap().allowed);
    // Granted permissions add to the operator's; revoking auth.admin from root changes nothing
    // while the email is listed (it is the settings that make root an operator).
    as_root.grant_permission(pb::GrantPermissionRequest { user_id: root.id.clone(), permission: "content.moderate".into() }).await.unwrap();
    as_root.revoke_permission(pb::RevokePermissionRequest { user_id: root.id.clone(), permission: "auth.admin".into() }).await.unwrap();
    // Asked with an empty user_id, as before the grant, through the same cache: the grant shows.
    let held = as_root.get_user_permissions(pb::GetUserPermissionsRequest::default()).await.unwrap().permissions;
    assert_eq!(held, ["auth.admin", "content.moderate"]);
    as_root.list_users(pb::ListUsersRequest::default()).await.unwrap();

    // An operator's account deleted is no operator: the email signs up anew as a fresh account,
    // which is one again (the email is listed), while the old token is refused.
    as_root.delete_user(pb::DeleteUserRequest::default()).await.unwrap();
    assert_code(services.check_permission(check(&root, "auth.admin")).await, Code::NotFound);
    let refused = as_root.list_users(pb::ListUsersRequest::default()).await.unwrap_err();
    assert!(matches!(refused.code(), Code::PermissionDenied | Code::Unauthenticated), "{refused:?}");
    let again = system.sign_up("root").await;
    client.with_token(&again.token).list_users(pb::ListUsersRequest::default()).await.unwrap();
    nova_tests::eventually::eventually("the deleted operator's token is refused", || async {
        as_root.list_users(pb::ListUsersRequest::default()).await.err().map(|s| s.code()) == Some(Code::Unauthenticated)
    })
    .await;
    system.stop().await;
}
