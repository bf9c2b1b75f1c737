//! Posts (some with an uploaded image) and likes, each like also reported to feed as an
//! engagement event so that trending and personalized feeds have something to rank.

use nova_content_api::pb as content;
use nova_feed_api::pb as feed;

use crate::error::{SeedError, Step as _, idempotent, present};
use crate::media::{png, upload_png};
use crate::plan::{Plan, SeedUser};
use crate::{Clients, bounded, words};

/// Publishes `plan.posts_per_user` posts per user; returns (author index, post id) and how many
/// carry an image.
pub async fn publish(
    clients: &Clients,
    plan: &Plan,
    users: &[SeedUser],
    rng: &mut fastrand::Rng,
) -> Result<(Vec<(usize, String)>, usize), SeedError> {
    let image = if plan.image_every > 0 { Some(png(320, 240)?) } else { None };
    let mut drafts = Vec::new();
    for author in 0..users.len() {
        for _ in 0..plan.posts_per_user {
            let with_image = plan.image_every > 0 && (drafts.len() + 1) % plan.image_every == 0;
            drafts.push((author, words::post(rng), with_image));
        }
    }
    let images = drafts.iter().filter(|(_, _, with_image)| *with_image).count();
    let image = image.as_deref();
    let posts = bounded(
        plan.concurrency,
        drafts.into_iter().map(|(author, body, with_image)| async move {
            let Some(user) = users.get(author) else { return Ok((author, String::new())) };
            let clients = clients.as_user(&user.token);
            let mut media_ids = Vec::new();
            if with_image && let Some(image) = image {
                media_ids.push(upload_png(&clients.media, &user.id, image).await?.id);
            }
            let request =
                content::CreatePostRequest { author_id: user.id.clone(), body, media_ids, visibility: content::PostVisibility::Public as i32 };
            let step = format!("CreatePost by {}", user.username);
            let created = clients.content.create_post(request).await.step(&step)?;
            Ok((author, present(created.post, &step, "post")?.id))
        }),
    )
    .await?;
    Ok((posts, images))
}

/// Each user likes `plan.likes_per_user` random posts of others; returns the number of likes.
pub async fn like(
    clients: &Clients,
    plan: &Plan,
    users: &[SeedUser],
    posts: &[(usize, String)],
    rng: &mut fastrand::Rng,
) -> Result<usize, SeedError> {
    let mut likes = Vec::new();
    for liker in 0..users.len() {
        let mut chosen: Vec<usize> = Vec::new();
        let wanted = plan.likes_per_user.min(posts.iter().filter(|(author, _)| *author != liker).count());
        while chosen.len() < wanted {
            let post = rng.usize(..posts.len());
            if posts.get(post).is_some_and(|(author, _)| *author != liker) && !chosen.contains(&post) {
                chosen.push(post);
            }
        }
        likes.extend(chosen.into_iter().map(|post| (liker, post)));
    }
    let done = bounded(
        plan.concurrency,
        likes.iter().map(|&(liker, post)| async move {
            let (Some(user), Some((author, post_id))) = (users.get(liker), posts.get(post)) else { return Ok(0) };
            let clients = clients.as_user(&user.token);
            let request = content::LikePostRequest { post_id: post_id.clone(), user_id: user.id.clone() };
            idempotent(format!("LikePost by {}", user.username), || clients.content.like_post(request.clone())).await?;
            let engagement = feed::UpdateEngagementScoreRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                user_id: user.id.clone(),
                post_id: post_id.clone(),
                author_id: users.get(*author).map(|a| a.id.clone()).unwrap_or_default(),
                engagement_type: feed::EngagementType::Like as i32,
                category: String::new(),
            };
            idempotent("UpdateEngagementScore", || clients.feed.update_engagement_score(engagement.clone())).await?;
            Ok(1)
        }),
    )
    .await?;
    Ok(done.into_iter().sum())
}
