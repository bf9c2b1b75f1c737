//! nova-seed: fills a running nova with demo data through the services' public RPCs (never
//! SQL), as `nova-gen dev --seed` and the benchmarks do. Steps, in order, each in a module:
//! [`social`] (accounts, profiles, follows), [`posts`] (images, posts, likes and their
//! engagement), [`talk`] (direct messages) and [`live`] (streams with viewers and chat).

pub mod clients;
pub mod error;
pub mod live;
pub mod media;
pub mod plan;
pub mod posts;
pub mod social;
pub mod talk;
pub mod words;

pub use clients::Clients;
pub use error::SeedError;
pub use plan::{Plan, SeedUser, Seeded};

use futures_util::StreamExt as _;

/// Runs every step of `plan` against the services behind `clients`; `progress` hears one line
/// per finished step.
pub async fn seed(clients: &Clients, plan: &Plan, progress: impl Fn(&str)) -> Result<Seeded, SeedError> {
    let mut rng = fastrand::Rng::with_seed(plan.rng_seed);
    let mut seeded = Seeded { users: social::register(clients, plan, &mut rng).await?, ..Seeded::default() };
    progress(&format!("{} users registered, with profiles", seeded.users.len()));
    seeded.follows = social::follow(clients, plan, &seeded.users, &mut rng).await?;
    progress(&format!("{} follows", seeded.follows.len()));
    let (posts, images) = posts::publish(clients, plan, &seeded.users, &mut rng).await?;
    seeded.posts = posts;
    seeded.images = images;
    progress(&format!("{} posts ({} with an image)", seeded.posts.len(), seeded.images));
    seeded.likes = posts::like(clients, plan, &seeded.users, &seeded.posts, &mut rng).await?;
    progress(&format!("{} likes, each reported to feed", seeded.likes));
    seeded.messages = talk::converse(clients, plan, &seeded.users, &mut rng).await?;
    progress(&format!("{} direct messages in {} conversations", seeded.messages, plan.conversations));
    let (streams, chat) = live::broadcast(clients, plan, &seeded.users, &mut rng).await?;
    seeded.streams = streams;
    seeded.chat_messages = chat;
    progress(&format!("{} live streams, {} chat messages", seeded.streams.len(), seeded.chat_messages));
    Ok(seeded)
}

/// Runs `calls` with at most `concurrency` in flight, stopping at the first error.
pub(crate) async fn bounded<T, F>(concurrency: usize, calls: impl IntoIterator<Item = F>) -> Result<Vec<T>, SeedError>
where
    F: std::future::Future<Output = Result<T, SeedError>>,
{
    let mut results = futures_util::stream::iter(calls).buffered(concurrency.max(1));
    let mut out = Vec::new();
    while let Some(result) = results.next().await {
        out.push(result?);
    }
    Ok(out)
}
