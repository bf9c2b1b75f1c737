//! Who may see a media: its owner, and the services that show media to others (content and
//! messaging, which check the audience of the post or message referencing it), as themselves
//! or while serving any user. Anyone else is told the media does not exist. Real auth and media
//! (started as their binaries would be) over mutual TLS, with users' tokens and services'
//! certificates.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_media::{MediaClient, pb};
use nova_tests::media_upload::{initiate_as, png, upload_png_as};
use nova_tests::{TestSystem, TestUser};
use tonic::Code;

async fn media_system() -> TestSystem {
    let mut system = TestSystem::new();
    system.start_with_callees(nova_media::SERVICE).await;
    system
}

fn code<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// What `client` learns about media `id` through each read of one media (and ProcessMedia):
/// the code of each call, in a fixed order.
async fn reads(client: &MediaClient, id: &str) -> Vec<Code> {
    let media_id = id.to_string();
    vec![
        code(client.get_media(pb::GetMediaRequest { media_id: media_id.clone() }).await),
        code(client.get_media_variants(pb::GetMediaVariantsRequest { media_id: media_id.clone() }).await),
        code(client.get_processing_status(pb::GetProcessingStatusRequest { media_id: media_id.clone() }).await),
        code(client.get_media_cdn_url(pb::GetMediaCdnUrlRequest { media_id: media_id.clone(), preset: 0 }).await),
        code(client.process_media(pb::ProcessMediaRequest { media_id, presets: vec![] }).await),
    ]
}

/// Whether GetMediaByIds shows `id` to `client` (rather than listing it as missing).
async fn listed_by_ids(client: &MediaClient, id: &str) -> bool {
    let response = client.get_media_by_ids(pb::GetMediaByIdsRequest { media_ids: vec![id.to_string()] }).await.unwrap();
    let shown = response.media.iter().any(|m| m.id == id);
    assert_eq!(shown, response.missing_media_ids.is_empty(), "{response:?}");
    shown
}

#[tokio::test]
async fn a_media_is_seen_by_its_owner_and_the_referring_services_only() {
    let system = media_system().await;
    let ada = system.sign_up("ada").await;
    let bob = system.sign_up("bob").await;
    let edge = system.client(MediaClient::from_peers);
    let photo = upload_png_as(&edge, &ada, &png(16, 16)).await;
    let visible = vec![Code::Ok; 5];
    let hidden = vec![Code::NotFound; 5];

    // Ada, and content and messaging as themselves or serving anyone (bob included).
    let as_ada = edge.with_token(&ada.token);
    assert_eq!(reads(&as_ada, &photo.id).await, visible);
    assert!(listed_by_ids(&as_ada, &photo.id).await);
    for service in ["content", "messaging"] {
        let itself = system.service_client(service, MediaClient::from_peers);
        assert_eq!(reads(&itself, &photo.id).await, visible, "{service} as itself");
        assert!(listed_by_ids(&itself, &photo.id).await, "{service} as itself");
        let serving_bob = itself.with_token(&bob.token);
        assert_eq!(reads(&serving_bob, &photo.id).await, visible, "{service} serving bob");
        assert!(listed_by_ids(&serving_bob, &photo.id).await, "{service} serving bob");
    }

    // Bob, in person or through another service: no such media. The same client that cached
    // ada's answers asks: answers are cached per caller, never shared.
    let as_bob = edge.with_token(&bob.token);
    assert_eq!(reads(&as_bob, &photo.id).await, hidden);
    assert!(!listed_by_ids(&as_bob, &photo.id).await);
    let refused = as_bob.get_media(pb::GetMediaRequest { media_id: photo.id.clone() }).await.unwrap_err();
    assert!(refused.message().contains("media_id: no media"), "{refused:?}");
    let feed_serving_bob = system.service_client("feed", MediaClient::from_peers).with_token(&bob.token);
    assert_eq!(reads(&feed_serving_bob, &photo.id).await, hidden);
    // A service the policies do not list, as itself, and nobody signed in: refused outright.
    assert_eq!(reads(&system.service_client("feed", MediaClient::from_peers), &photo.id).await, vec![Code::PermissionDenied; 5]);
    assert_eq!(reads(&edge, &photo.id).await, vec![Code::Unauthenticated; 5]);
    system.stop().await;
}

/// Every id GetMediaByOwner lists for `owner` to `client`, or the refusal's code.
async fn listing(client: &MediaClient, owner: &str) -> Result<Vec<String>, Code> {
    let request = pb::GetMediaByOwnerRequest { owner_id: owner.to_string(), page_size: 100, ..Default::default() };
    client.get_media_by_owner(request).await.map(|r| r.media.into_iter().map(|m| m.id).collect()).map_err(|status| status.code())
}

#[tokio::test]
async fn only_the_owner_or_a_service_as_itself_lists_a_users_media() {
    let system = media_system().await;
    let ada = system.sign_up("ada").await;
    let bob: TestUser = system.sign_up("bob").await;
    let edge = system.client(MediaClient::from_peers);
    // A posted photo and an attachment still being uploaded (what a message would carry).
    let photo = upload_png_as(&edge, &ada, &png(8, 8)).await.id;
    let attachment = initiate_as(&edge, &ada, &png(8, 8)).await.media_id;
    let both = Ok(vec![attachment.clone(), photo.clone()]);

    assert_eq!(listing(&edge.with_token(&ada.token), &ada.id).await, both);
    assert_eq!(listing(&edge.with_token(&ada.token), "").await, both, "empty means the caller");
    for service in ["content", "messaging"] {
        let itself = system.service_client(service, MediaClient::from_peers);
        assert_eq!(listing(&itself, &ada.id).await, both, "{service} as itself");
        // Serving a user, a service lists that user's media only.
        assert_eq!(listing(&itself.with_token(&ada.token), &ada.id).await, both, "{service} serving ada");
        assert_eq!(listing(&itself.with_token(&bob.token), &ada.id).await, Err(Code::PermissionDenied), "{service} serving bob");
    }
    // Bob, in person: refused for ada's listing; his own is empty.
    let as_bob = edge.with_token(&bob.token);
    let refused = as_bob.get_media_by_owner(pb::GetMediaByOwnerRequest { owner_id: ada.id.clone(), ..Default::default() }).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(refused.message().contains("owner_id"), "{refused:?}");
    assert_eq!(listing(&as_bob, "").await, Ok(vec![]));
    // Nobody signed in, and a service the policy does not list.
    assert_eq!(listing(&edge, &ada.id).await, Err(Code::Unauthenticated));
    assert_eq!(listing(&system.service_client("feed", MediaClient::from_peers), &ada.id).await, Err(Code::PermissionDenied));
    system.stop().await;
}
