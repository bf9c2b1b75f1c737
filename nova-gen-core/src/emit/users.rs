//! The generated user check: a `Users` type that asks the token issuer (`GetUser`,
//! `GetUsersByIds`, both cached by the issuer's client) and applies `nova_runtime::users`' one
//! rule: an unknown or deleted user is NOT_FOUND naming the request field, an inactive one
//! FAILED_PRECONDITION where the check demands an active account.
//!
//! It is written once, into the issuer's API crate (`generated/<issuer>-api/src/users.rs`,
//! next to the client it calls), when some service declares `checks_users = true`; each such
//! service's `wiring` re-exports it and holds one in its `Dependencies`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ir::{Service, Spec};
use crate::names::{api_lib, client_struct};

/// What `wiring.rs` gets for the check: a field `users` of `Dependencies`, its value in
/// `from_config` (after the clients), and the re-export of the issuer's `Users`.
pub struct UserCheck {
    pub field: TokenStream,
    pub init: TokenStream,
    pub definition: TokenStream,
}

/// The issuer's names the generated check uses, resolved once.
struct Names {
    /// `crate`: the issuer's API crate, where the type is written.
    api: TokenStream,
    /// `crate::AuthClient`
    client: TokenStream,
    /// `"auth"`, for logs and errors.
    issuer: String,
    get_one_request: proc_macro2::Ident,
    get_many_request: proc_macro2::Ident,
    /// `crate::pb::User`
    user: TokenStream,
    status: proc_macro2::Ident,
    active: String,
    deleted: String,
}

/// The check, when `service` declares it (validation made sure the issuer is called and has
/// the lookups, and the model resolved them).
pub fn user_check(spec: &Spec, service: &Service) -> Option<UserCheck> {
    if !service.checks_users || spec.user_directory.is_none() {
        return None;
    }
    let issuer = spec.token_issuer()?;
    let api = api_lib(issuer);
    let client_field = crate::names::ident(&issuer.name);
    Some(UserCheck {
        field: quote! {
            /// Whether users exist and are active (`checks_users`), asked of the token issuer.
            pub users: Users,
        },
        // The issuer's client of `Dependencies` (the issuer is in `calls`), shared: one cache.
        init: quote!(Users::new(#client_field.clone())),
        definition: quote! {
            pub use ::#api::users::{Users, state_of};
        },
    })
}

/// `generated/<issuer>-api/src/users.rs`, when `issuer` is the token issuer and some service
/// checks users.
pub fn users_module(spec: &Spec, issuer: &Service) -> Option<TokenStream> {
    let directory = spec.user_directory.as_ref()?;
    if spec.token_issuer()?.id != issuer.id {
        return None;
    }
    let client_ident = client_struct(issuer);
    let user_ident = format_ident!("{}", directory.user);
    let names = Names {
        api: quote!(crate),
        client: quote!(crate::#client_ident),
        issuer: issuer.name.clone(),
        get_one_request: format_ident!("{}", directory.get_one_request),
        get_many_request: format_ident!("{}", directory.get_many_request),
        user: quote!(crate::pb::#user_ident),
        status: format_ident!("{}", directory.status),
        active: directory.active.clone(),
        deleted: directory.deleted.clone(),
    };
    let (single, batch, state) = (single_lookups(&names), batch_lookups(&names), state_of_fn(&names));
    let type_doc = format!(
        " Whether users exist and are active, asked of `{}` (the token issuer) through its client: `GetUser` and `GetUsersByIds`, cached; the rule is `nova_runtime::users::judge`. Services that set `checks_users = true` get one in their `Dependencies`.",
        names.issuer
    );
    let client = &names.client;
    Some(quote! {
        //! The user check of the services that declare `checks_users = true` (see [`Users`]).

        #[doc = #type_doc]
        #[derive(Clone, Debug)]
        pub struct Users {
            issuer: #client,
        }

        impl Users {
            /// Checks users with `issuer`, the token issuer's client.
            pub fn new(issuer: #client) -> Self {
                Users { issuer }
            }

            #single
            #batch
        }

        #state
    })
}

/// `get`, `require_live`, `require_active`: one user, one cached `GetUser`.
fn single_lookups(names: &Names) -> TokenStream {
    let Names { api, issuer, get_one_request, user, .. } = names;
    quote! {
        /// The user `id` as the issuer shows it to this caller (deleted ones with their
        /// status); `None` when it does not know the id.
        pub async fn get(&self, id: ::nova_runtime::codegen::uuid::Uuid) -> Result<Option<#user>, ::nova_runtime::LogicError> {
            let request = #api::pb::#get_one_request { user_id: id.to_string() };
            let answer = ::nova_runtime::users::found(#issuer, self.issuer.get_user(request).await)?;
            Ok(answer.and_then(|response| response.user))
        }

        /// `id` is a user that is not deleted (it may be locked): NOT_FOUND naming
        /// `field` otherwise. Its account, as [`Users::get`] shows it.
        pub async fn require_live(&self, field: &str, id: ::nova_runtime::codegen::uuid::Uuid) -> Result<#user, ::nova_runtime::LogicError> {
            self.require(field, id, ::nova_runtime::users::Demand::Live).await
        }

        /// `id` is a user whose account is active: NOT_FOUND naming `field` for an unknown
        /// or deleted user, FAILED_PRECONDITION naming the status of any other.
        pub async fn require_active(&self, field: &str, id: ::nova_runtime::codegen::uuid::Uuid) -> Result<#user, ::nova_runtime::LogicError> {
            self.require(field, id, ::nova_runtime::users::Demand::Active).await
        }

        async fn require(
            &self,
            field: &str,
            id: ::nova_runtime::codegen::uuid::Uuid,
            demand: ::nova_runtime::users::Demand,
        ) -> Result<#user, ::nova_runtime::LogicError> {
            let user = self.get(id).await?;
            ::nova_runtime::users::judge(field, id, user.as_ref().map(state_of).as_ref(), demand)?;
            // `judge` refused a missing user already.
            user.ok_or_else(|| ::nova_runtime::LogicError::not_found(format!("{field}: no user {id}")))
        }
    }
}

/// `live`, `require_all_live`: many users, one cached `GetUsersByIds` per batch.
fn batch_lookups(names: &Names) -> TokenStream {
    let Names { api, issuer, get_many_request, user, .. } = names;
    quote! {
        /// The users among `ids` that are not deleted, by id: one `GetUsersByIds` per
        /// `nova_runtime::users::MAX_BATCH` ids.
        pub async fn live(
            &self,
            ids: &[::nova_runtime::codegen::uuid::Uuid],
        ) -> Result<::std::collections::HashMap<::nova_runtime::codegen::uuid::Uuid, #user>, ::nova_runtime::LogicError> {
            let mut live = ::std::collections::HashMap::with_capacity(ids.len());
            for chunk in ids.chunks(::nova_runtime::users::MAX_BATCH) {
                let request = #api::pb::#get_many_request { user_ids: chunk.iter().map(|id| id.to_string()).collect() };
                let response = self.issuer.get_users_by_ids(request).await.map_err(|status| ::nova_runtime::LogicError::upstream(#issuer, status))?;
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
}

/// `state_of`: the issuer's status enum read as a `nova_runtime::users::AccountState`, by the
/// value names validation found (`…_ACTIVE`, `…_DELETED`).
fn state_of_fn(names: &Names) -> TokenStream {
    let Names { api, user, status, active, deleted, .. } = names;
    let (active, deleted) = (active.as_str(), deleted.as_str());
    quote! {
        /// What an account's status means to other services.
        pub fn state_of(user: &#user) -> ::nova_runtime::users::AccountState {
            match #api::pb::#status::try_from(user.status).map(|status| status.as_str_name()) {
                Ok(#active) => ::nova_runtime::users::AccountState::Active,
                Ok(#deleted) => ::nova_runtime::users::AccountState::Deleted,
                Ok(other) => ::nova_runtime::users::AccountState::Inactive(other),
                Err(_) => ::nova_runtime::users::AccountState::Inactive("an unknown status"),
            }
        }
    }
}
