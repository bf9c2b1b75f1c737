//! How much demo data to make, and what was made.

/// What [`crate::seed`] makes. Every choice (who follows whom, what each post says, which
/// users talk) comes from an RNG seeded with `rng_seed`: one plan, one system.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Distinguishes this run's accounts from an earlier run's (emails and usernames carry it):
    /// lower-case letters and digits, at most 8.
    pub tag: String,
    pub rng_seed: u64,
    pub users: usize,
    /// Each user follows this many others, popular users (low indices) more often.
    pub follows_per_user: usize,
    pub posts_per_user: usize,
    /// Every n-th post carries an uploaded image (0: none).
    pub image_every: usize,
    /// Each user likes this many posts (each like also reported to feed as engagement).
    pub likes_per_user: usize,
    /// Direct conversations between random pairs, and messages in each.
    pub conversations: usize,
    pub messages_per_conversation: usize,
    /// Live streams, each with viewers and chat.
    pub streams: usize,
    pub viewers_per_stream: usize,
    /// Calls in flight at once.
    pub concurrency: usize,
}

impl Plan {
    /// What `nova-gen dev --seed` makes: small enough to take seconds on a laptop, big enough
    /// that every feed, search and list has something to show.
    pub fn demo(tag: &str) -> Self {
        Plan {
            tag: tag.to_string(),
            rng_seed: 2026,
            users: 24,
            follows_per_user: 6,
            posts_per_user: 3,
            image_every: 4,
            likes_per_user: 5,
            conversations: 10,
            messages_per_conversation: 4,
            streams: 3,
            viewers_per_stream: 5,
            concurrency: 4,
        }
    }
}

/// One account the seed made.
#[derive(Debug, Clone)]
pub struct SeedUser {
    pub id: String,
    pub email: String,
    pub username: String,
    pub password: String,
    pub display_name: String,
    /// An access token of the user (from Login), which every call made as them carries.
    pub token: String,
}

/// What a seed made, for the summary and for benchmarks that build on it.
#[derive(Debug, Clone, Default)]
pub struct Seeded {
    pub users: Vec<SeedUser>,
    /// (follower index, followee index)
    pub follows: Vec<(usize, usize)>,
    /// (author index, post id)
    pub posts: Vec<(usize, String)>,
    pub images: usize,
    pub likes: usize,
    pub messages: usize,
    pub streams: Vec<String>,
    pub chat_messages: usize,
}
