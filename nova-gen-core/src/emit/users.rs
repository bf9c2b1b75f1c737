//! The generated user check of a service that declares `checks_users = true`: a `Users`
//! type in its `wiring` module that asks the token issuer (`GetUser`, `GetUsersByIds`, both
//! cached by the issuer's client) and applies `nova_runtime::users`' one rule: an unknown or
//! deleted user is NOT_FOUND naming the request field, an inactive one FAILED_PRECONDITION
//! where the check demands an active account.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ir::{Service, Spec};
use crate::names::{api_lib, client_struct};

/// What `wiring.rs` gets for the check: a field `users` of `Dependencies`, its value in
/// `from_config` (after the clients), and the `Users` type itself.
pub struct UserCheck {
    pub field: TokenStream,
    pub init: TokenStream,
    pub definition: TokenStream,
}

/// The check, when `service` declares it (validation made sure the issuer is called and has
/// the lookups, and the model resolved them).
pub fn user_check(spec: &Spec, service: &Service) -> Option<UserCheck> {
    if !service.checks_users {
        return None;
    }
    let directory = spec.user_directory.as_ref()?;
    let issuer = spec.token_issuer()?;
    let api = api_lib(issuer);
    let client = client_struct(issuer);
    let issuer_name = issuer.name.as_str();
    let client_field = crate::names::ident(&issuer.name);
    let get_one_request = format_ident!("{}", directory.get_one_request);
    let get_many_request = format_ident!("{}", directory.get_many_request);
    let user = format_ident!("{}", directory.user);
    let status = format_ident!("{}", directory.status);
    let (active, deleted) = (directory.active.as_str(), directory.deleted.as_str());
    let type_doc = format!(
        " Whether users exist and are active, asked of the token issuer `{issuer_name}` (`checks_users` in the spec): `GetUser` and `GetUsersByIds`, cached by its client; the rule is `nova_runtime::users::judge`."
    );
    let definition = quote! {
        #[doc = #type_doc]
        #[derive(Clone, Debug)]
        pub struct Users {
            issuer: ::#api::#client,
        }

        impl Users {
            /// Checks users with `issuer`, the token issuer's client.
            pub fn new(issuer: ::#api::#client) -> Self {
                Users { issuer }
            }

            /// The user `id` as the issuer shows it to this caller (deleted ones with their
            /// status); `None` when it does not know the id.
            pub async fn get(&self, id: ::nova_runtime::codegen::uuid::Uuid) -> Result<Option<::#api::pb::#user>, ::nova_runtime::LogicError> {
                let request = ::#api::pb::#get_one_request { user_id: id.to_string() };
                let answer = ::nova_runtime::users::found(#issuer_name, self.issuer.get_user(request).await)?;
                Ok(answer.and_then(|response| response.user))
            }

            /// `id` is a user that is not deleted (it may be locked): NOT_FOUND naming
            /// `field` otherwise. Its account, as [`Users::get`] shows it.
            pub async fn require_live(&self, field: &str, id: ::nova_runtime::codegen::uuid::Uuid) -> Result<::#api::pb::#user, ::nova_runtime::LogicError> {
                self.require(field, id, ::nova_runtime::users::Demand::Live).await
            }

            /// `id` is a user whose account is active: NOT_FOUND naming `field` for an unknown
            /// or deleted user, FAILED_PRECONDITION naming the status of any other.
            pub async fn require_active(&self, field: &str, id: ::nova_runtime::codegen::uuid::Uuid) -> Result<::#api::pb::#user, ::nova_runtime::LogicError> {
                self.require(field, id, ::nova_runtime::users::Demand::Active).await
            }

            async fn require(
                &self,
                field: &str,
                id: ::nova_runtime::codegen::uuid::Uuid,
                demand: ::nova_runtime::users::Demand,
            ) -> Result<::#api::pb::#user, ::nova_runtime::LogicError> {
                let user = self.get(id).await?;
                ::nova_runtime::users::judge(field, id, user.as_ref().map(state_of).as_ref(), demand)?;
                // `judge` refused a missing user already.
                user.ok_or_else(|| ::nova_runtime::LogicError::not_found(format!("{field}: no user {id}")))
            }

            /// The users among `ids` that are not deleted, by id: one `GetUsersByIds` per
            /// `nova_runtime::users::MAX_BATCH` ids.
            pub async fn live(
                &self,
                ids: &[::nova_runtime::codegen::uuid::Uuid],
            ) -> Result<::std::collections::HashMap<::nova_runtime::codegen::uuid::Uuid, ::#api::pb::#user>, ::nova_runtime::LogicError> {
                let mut live = ::std::collections::HashMap::with_capacity(ids.len());
                for chunk in ids.chunks(::nova_runtime::users::MAX_BATCH) {
                    let request = ::#api::pb::#get_many_request { user_ids: chunk.iter().map(|id| id.to_string()).collect() };
                    let response = self.issuer.get_users_by_ids(request).await.map_err(|status| ::nova_runtime::LogicError::upstream(#issuer_name, status))?;
                    for user in response.users {
                        // An id the issuer answers that does not parse is its bug: that user
                        // then counts as missing rather than failing the whole check.
                        let id = ::nova_runtime::codegen::uuid::Uuid::parse_str(&user.id);
                        if let (Ok(id), false) = (id, state_of(&user) == ::nova_runtime::users::AccountState::Deleted) {
                            live.insert(id, user);
                        }
                    }
                }
                Ok(live)
            }

            /// Every `(field, id)` is a user that is not deleted, asked in as few calls as
            /// [`Users::live`] makes: NOT_FOUND naming the field of the first that is not.
            pub async fn require_all_live(&self, users: &[(&str, ::nova_runtime::codegen::uuid::Uuid)]) -> Result<(), ::nova_runtime::LogicError> {
                let ids: Vec<::nova_runtime::codegen::uuid::Uuid> = users.iter().map(|(_, id)| *id).collect();
                let live = self.live(&ids).await?;
                match users.iter().find(|(_, id)| !live.contains_key(id)) {
                    Some((field, id)) => ::nova_runtime::users::judge(field, *id, None, ::nova_runtime::users::Demand::Live),
                    None => Ok(()),
                }
            }
        }

        /// What an account's status means to other services.
        pub fn state_of(user: &::#api::pb::#user) -> ::nova_runtime::users::AccountState {
            match ::#api::pb::#status::try_from(user.status).map(|status| status.as_str_name()) {
                Ok(#active) => ::nova_runtime::users::AccountState::Active,
                Ok(#deleted) => ::nova_runtime::users::AccountState::Deleted,
                Ok(other) => ::nova_runtime::users::AccountState::Inactive(other),
                Err(_) => ::nova_runtime::users::AccountState::Inactive("an unknown status"),
            }
        }
    };
    Some(UserCheck {
        field: quote! {
            /// Whether users exist and are active (`checks_users`), asked of the token issuer.
            pub users: Users,
        },
        // The issuer's client of `Dependencies` (the issuer is in `calls`), shared: one cache.
        init: quote!(Users::new(#client_field.clone())),
        definition,
    })
}
