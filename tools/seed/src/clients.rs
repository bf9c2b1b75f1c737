//! The generated clients the seeder calls, one per service it writes to.

use nova_runtime::client::{ClientError, Peers};

/// Clients of every service the seed writes through, from one set of peers (endpoints, the
/// client certificate and cache options: `Peers::from_env` reads `NOVA_<SVC>_ENDPOINT`,
/// `NOVA_REDIS_URL`...). Anonymous as built; [`Clients::as_user`] acts for a signed-in user.
#[derive(Clone)]
pub struct Clients {
    pub auth: nova_auth_api::AuthClient,
    pub user: nova_user_api::UserClient,
    pub media: nova_media_api::MediaClient,
    pub content: nova_content_api::ContentClient,
    pub messaging: nova_messaging_api::MessagingClient,
    pub feed: nova_feed_api::FeedClient,
    pub streaming: nova_streaming_api::StreamingClient,
}

impl Clients {
    pub fn from_peers(peers: &Peers) -> Result<Self, ClientError> {
        Ok(Clients {
            auth: nova_auth_api::AuthClient::from_peers(peers)?,
            user: nova_user_api::UserClient::from_peers(peers)?,
            media: nova_media_api::MediaClient::from_peers(peers)?,
            content: nova_content_api::ContentClient::from_peers(peers)?,
            messaging: nova_messaging_api::MessagingClient::from_peers(peers)?,
            feed: nova_feed_api::FeedClient::from_peers(peers)?,
            streaming: nova_streaming_api::StreamingClient::from_peers(peers)?,
        })
    }

    /// The same clients (sharing caches and breakers) acting for the user whose access token
    /// this is, as the edge does for a signed-in user.
    pub fn as_user(&self, token: &str) -> Clients {
        Clients {
            auth: self.auth.with_token(token),
            user: self.user.with_token(token),
            media: self.media.with_token(token),
            content: self.content.with_token(token),
            messaging: self.messaging.with_token(token),
            feed: self.feed.with_token(token),
            streaming: self.streaming.with_token(token),
        }
    }
}
