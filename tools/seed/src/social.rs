//! Accounts (auth Register), their profiles (user UpdateUserProfile) and who follows whom.

use nova_auth_api::pb as auth;
use nova_user_api::pb as user;

use crate::error::{SeedError, Step as _, idempotent, present};
use crate::plan::{Plan, SeedUser};
use crate::words::{self, FIRST_NAMES, LAST_NAMES};
use crate::{Clients, bounded};

/// Registers `plan.users` accounts and gives each a display name and a bio.
pub async fn register(clients: &Clients, plan: &Plan, rng: &mut fastrand::Rng) -> Result<Vec<SeedUser>, SeedError> {
    let people: Vec<(usize, String, String)> =
        (0..plan.users).map(|i| (i, format!("{} {}", words::pick(rng, FIRST_NAMES), words::pick(rng, LAST_NAMES)), words::bio(rng))).collect();
    bounded(
        plan.concurrency,
        people.into_iter().map(|(i, display_name, bio)| async move {
            let username = format!("demo_{}_{i}", plan.tag);
            let email = format!("{username}@nova.example");
            let password = format!("demo-password-{i}-{}", plan.tag);
            let request = auth::RegisterRequest { email: email.clone(), username: username.clone(), password: password.clone() };
            let step = format!("Register {username}");
            let registered = clients.auth.register(request).await.step(&step)?;
            let id = present(registered.user, &step, "user")?.id;
            let step = format!("Login {username}");
            let login = auth::LoginRequest { email: email.clone(), password: password.clone(), device: "nova-seed".to_string() };
            let token = present(clients.auth.login(login).await.step(&step)?.tokens, &step, "tokens")?.access_token;
            let clients = clients.as_user(&token);
            let step = format!("profile of {username}");
            let profile = idempotent(&step, || clients.user.get_user_profile(user::GetUserProfileRequest { user_id: id.clone() })).await?;
            let version = present(profile.profile, &step, "profile")?.version;
            let update = user::UpdateUserProfileRequest {
                user_id: id.clone(),
                display_name: display_name.clone(),
                bio,
                visibility: user::ProfileVisibility::Public as i32,
                version,
                ..Default::default()
            };
            clients.user.update_user_profile(update).await.step(&step)?;
            Ok(SeedUser { id, email, username, password, display_name, token })
        }),
    )
    .await
}

/// Each user follows `plan.follows_per_user` others, chosen with a bias toward the first users
/// (a few popular accounts, a long tail); returns (follower, followee) indices.
pub async fn follow(clients: &Clients, plan: &Plan, users: &[SeedUser], rng: &mut fastrand::Rng) -> Result<Vec<(usize, usize)>, SeedError> {
    let mut pairs = Vec::new();
    for follower in 0..users.len() {
        let wanted = plan.follows_per_user.min(users.len().saturating_sub(1));
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < wanted {
            // Squaring a uniform draw favours small indices.
            let followee = ((rng.f64().powi(2)) * users.len() as f64) as usize;
            if followee != follower && followee < users.len() && !chosen.contains(&followee) {
                chosen.push(followee);
            }
        }
        pairs.extend(chosen.into_iter().map(|followee| (follower, followee)));
    }
    bounded(
        plan.concurrency,
        pairs.iter().map(|&(follower, followee)| async move {
            let (Some(a), Some(b)) = (users.get(follower), users.get(followee)) else { return Ok(()) };
            let request = user::FollowRequest { follower_id: a.id.clone(), followee_id: b.id.clone() };
            let as_follower = clients.user.with_token(&a.token);
            idempotent(format!("Follow {} -> {}", a.username, b.username), || as_follower.follow(request.clone())).await?;
            Ok(())
        }),
    )
    .await?;
    Ok(pairs)
}
