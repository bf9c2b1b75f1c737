//! Direct messages between random pairs of users: the first message creates the
//! conversation, the rest alternate between the two.

use nova_messaging_api::pb as messaging;

use crate::error::{SeedError, Step as _, present};
use crate::plan::{Plan, SeedUser};
use crate::{Clients, bounded, words};

/// Starts `plan.conversations` direct conversations with `plan.messages_per_conversation`
/// messages each; returns the number of messages sent.
pub async fn converse(clients: &Clients, plan: &Plan, users: &[SeedUser], rng: &mut fastrand::Rng) -> Result<usize, SeedError> {
    if users.len() < 2 {
        return Ok(0);
    }
    let mut talks = Vec::new();
    for _ in 0..plan.conversations {
        let a = rng.usize(..users.len());
        let b = (a + 1 + rng.usize(..users.len() - 1)) % users.len();
        let lines: Vec<String> = (0..plan.messages_per_conversation).map(|_| words::chat_line(rng)).collect();
        talks.push((a, b, lines));
    }
    let sent = bounded(
        plan.concurrency,
        talks.into_iter().map(|(a, b, lines)| async move {
            let (Some(a), Some(b)) = (users.get(a), users.get(b)) else { return Ok(0) };
            let mut conversation = String::new();
            for (i, body) in lines.into_iter().enumerate() {
                let (sender, recipient) = if i % 2 == 0 { (a, b) } else { (b, a) };
                let target = if conversation.is_empty() {
                    messaging::send_message_request::Target::RecipientId(recipient.id.clone())
                } else {
                    messaging::send_message_request::Target::ConversationId(conversation.clone())
                };
                let request = messaging::SendMessageRequest {
                    sender_id: sender.id.clone(),
                    target: Some(target),
                    kind: messaging::MessageKind::Text as i32,
                    body,
                    ..Default::default()
                };
                let step = format!("SendMessage {} -> {}", sender.username, recipient.username);
                let response = clients.messaging.with_token(&sender.token).send_message(request).await.step(&step)?;
                conversation = present(response.conversation, &step, "conversation")?.id;
            }
            Ok(plan.messages_per_conversation)
        }),
    )
    .await?;
    Ok(sent.into_iter().sum())
}
