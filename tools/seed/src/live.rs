//! Live streams: created and started with their stream key, watched, and chatted in.

use nova_streaming_api::pb as streaming;

use crate::error::{SeedError, Step as _, idempotent, present};
use crate::plan::{Plan, SeedUser};
use crate::{Clients, bounded, words};

/// Creates and starts `plan.streams` streams, each with `plan.viewers_per_stream` viewers who
/// each say one thing in chat; returns the stream ids and the number of chat messages.
pub async fn broadcast(clients: &Clients, plan: &Plan, users: &[SeedUser], rng: &mut fastrand::Rng) -> Result<(Vec<String>, usize), SeedError> {
    if users.len() < 2 {
        return Ok((Vec::new(), 0));
    }
    let mut shows = Vec::new();
    for _ in 0..plan.streams {
        let creator = rng.usize(..users.len());
        let viewers: Vec<(usize, String)> =
            (0..plan.viewers_per_stream).map(|_| ((creator + 1 + rng.usize(..users.len() - 1)) % users.len(), words::chat_line(rng))).collect();
        shows.push((creator, words::stream_title(rng), viewers));
    }
    let streams = bounded(
        plan.concurrency,
        shows.into_iter().map(|(creator, title, viewers)| async move {
            let Some(creator) = users.get(creator) else { return Ok((String::new(), 0)) };
            let request = streaming::CreateLiveStreamRequest {
                creator_id: creator.id.clone(),
                title,
                visibility: streaming::StreamVisibility::Public as i32,
                chat_enabled: true,
                ..Default::default()
            };
            let step = format!("CreateLiveStream by {}", creator.username);
            let created = clients.streaming.with_token(&creator.token).create_live_stream(request).await.step(&step)?;
            let stream_id = present(created.stream, &step, "stream")?.id;
            let key = present(created.stream_key, &step, "stream key")?.stream_key;
            clients.streaming.start_stream(streaming::StartStreamRequest { stream_key: key }).await.step("StartStream")?;
            let mut chat = 0;
            for (viewer, line) in viewers {
                let Some(viewer) = users.get(viewer) else { continue };
                let as_viewer = clients.streaming.with_token(&viewer.token);
                let view = streaming::RecordStreamViewRequest {
                    viewer_session_id: uuid::Uuid::new_v4().to_string(),
                    stream_id: stream_id.clone(),
                    viewer_id: viewer.id.clone(),
                    client: "nova-seed".into(),
                    ..Default::default()
                };
                idempotent(format!("RecordStreamView by {}", viewer.username), || as_viewer.record_stream_view(view.clone())).await?;
                let message = streaming::SendChatMessageRequest {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    stream_id: stream_id.clone(),
                    sender_id: viewer.id.clone(),
                    body: line,
                };
                idempotent(format!("SendChatMessage by {}", viewer.username), || as_viewer.send_chat_message(message.clone())).await?;
                chat += 1;
            }
            Ok((stream_id, chat))
        }),
    )
    .await?;
    let chat = streams.iter().map(|(_, chat)| chat).sum();
    Ok((streams.into_iter().map(|(id, _)| id).collect(), chat))
}
