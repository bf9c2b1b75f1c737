//! The messaging service's RPCs over real gRPC, each test with its own databases and Redis key
//! prefix (see `nova_tests::TestSystem`): auth, media, user and messaging started callees
//! first, messaging calling the others only through their generated clients.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::collections::BTreeSet;

use nova_auth::AuthClient;
use nova_auth::pb as auth_pb;
use nova_media::pb as media_pb;
use nova_messaging::MessagingClient;
use nova_messaging::pb;
use nova_messaging::pb::send_message_request::Target;
use nova_runtime::codegen::sqlx;
use nova_tests::cache_probe::until;
use nova_tests::{TestSystem, media_upload};
use nova_user::UserClient;
use nova_user::pb as user_pb;
use tonic::{Code, Status};

struct Fixture {
    system: TestSystem,
    auth: AuthClient,
    users: UserClient,
    messaging: MessagingClient,
}

async fn fixture() -> Fixture {
    let mut system = TestSystem::new();
    system.start_with_callees(nova_messaging::SERVICE).await;
    let auth = system.client(AuthClient::from_peers);
    let users = system.client(UserClient::from_peers);
    let messaging = system.client(MessagingClient::from_peers);
    Fixture { system, auth, users, messaging }
}

fn assert_error<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, field: &str) {
    let status = result.expect_err("the call should fail");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(field), "the message should name {field}: {status:?}");
}

const UNKNOWN: &str = "00000000-0000-4000-8000-000000000001";

impl Fixture {
    async fn register(&self, username: &str) -> String {
        let request = auth_pb::RegisterRequest {
            email: format!("{username}@example.com"),
            username: username.to_string(),
            password: "correct horse battery".to_string(),
        };
        self.auth.register(request).await.unwrap().user.unwrap().id
    }

    async fn send(&self, sender: &str, target: Target, body: &str) -> Result<pb::SendMessageResponse, Status> {
        let request = pb::SendMessageRequest { sender_id: sender.into(), target: Some(target), body: body.into(), ..Default::default() };
        self.messaging.send_message(request).await
    }

    /// A direct message; the message and its conversation.
    async fn dm(&self, sender: &str, recipient: &str, body: &str) -> Result<(pb::Message, pb::Conversation), Status> {
        let sent = self.send(sender, Target::RecipientId(recipient.into()), body).await?;
        Ok((sent.message.unwrap(), sent.conversation.unwrap()))
    }

    async fn say(&self, sender: &str, conversation: &str, body: &str) -> Result<pb::Message, Status> {
        Ok(self.send(sender, Target::ConversationId(conversation.into()), body).await?.message.unwrap())
    }

    async fn group(&self, creator: &str, members: &[&str]) -> Result<pb::Conversation, Status> {
        let request = pb::CreateGroupConversationRequest {
            creator_id: creator.into(),
            title: "team".into(),
            member_ids: members.iter().map(|m| m.to_string()).collect(),
        };
        Ok(self.messaging.create_group_conversation(request).await?.conversation.unwrap())
    }

    async fn page(&self, conversation: &str, requester: &str, size: i32, token: &str) -> Result<pb::GetMessagesResponse, Status> {
        let request =
            pb::GetMessagesRequest { conversation_id: conversation.into(), requester_id: requester.into(), page_size: size, page_token: token.into() };
        self.messaging.get_messages(request).await
    }

    async fn message(&self, id: &str, requester: &str) -> Result<pb::Message, Status> {
        let request = pb::GetMessageRequest { message_id: id.into(), requester_id: requester.into() };
        Ok(self.messaging.get_message(request).await?.message.unwrap())
    }

    async fn unread(&self, user: &str, conversation: &str) -> Result<pb::GetUnreadCountResponse, Status> {
        self.messaging.get_unread_count(pb::GetUnreadCountRequest { user_id: user.into(), conversation_id: conversation.into() }).await
    }

    async fn mark(&self, conversation: &str, user: &str, message: &str) -> Result<pb::MarkAsReadResponse, Status> {
        let request = pb::MarkAsReadRequest { conversation_id: conversation.into(), user_id: user.into(), message_id: message.into() };
        self.messaging.mark_as_read(request).await
    }

    async fn add(&self, conversation: &str, requester: &str, users: &[&str]) -> Result<pb::AddConversationMembersResponse, Status> {
        let request = pb::AddConversationMembersRequest {
            conversation_id: conversation.into(),
            requester_id: requester.into(),
            user_ids: users.iter().map(|u| u.to_string()).collect(),
        };
        self.messaging.add_conversation_members(request).await
    }

    async fn remove(&self, conversation: &str, requester: &str, user: &str) -> Result<pb::RemoveConversationMemberResponse, Status> {
        let request = pb::RemoveConversationMemberRequest { conversation_id: conversation.into(), requester_id: requester.into(), user_id: user.into() };
        self.messaging.remove_conversation_member(request).await
    }

    async fn set_role(&self, conversation: &str, requester: &str, user: &str, role: pb::MemberRole) -> Result<pb::ConversationMember, Status> {
        let request =
            pb::UpdateMemberRoleRequest { conversation_id: conversation.into(), requester_id: requester.into(), user_id: user.into(), role: role as i32 };
        Ok(self.messaging.update_member_role(request).await?.member.unwrap())
    }

    async fn members(&self, conversation: &str, requester: &str) -> Vec<pb::ConversationMember> {
        let request = pb::GetConversationMembersRequest { conversation_id: conversation.into(), requester_id: requester.into(), ..Default::default() };
        self.messaging.get_conversation_members(request).await.unwrap().members
    }

    async fn block(&self, blocker: &str, blocked: &str) {
        self.users.block(user_pb::BlockRequest { blocker_id: blocker.into(), blocked_id: blocked.into() }).await.unwrap();
    }

    async fn set_policy(&self, user: &str, policy: user_pb::DirectMessagePolicy) {
        let settings = user_pb::UserSettings {
            user_id: user.into(),
            email_notifications: true,
            push_notifications: true,
            direct_message_policy: policy as i32,
            show_online_status: true,
            language: "en".into(),
            time_zone: "UTC".into(),
            updated_at: None,
        };
        self.users.update_user_settings(user_pb::UpdateUserSettingsRequest { settings: Some(settings) }).await.unwrap();
    }

    async fn stored(&self, statement: &'static str, id: &str) -> i64 {
        let mut db = self.system.connect("messaging").await;
        sqlx::query_scalar::<_, i64>(statement).bind(id).fetch_one(&mut db).await.unwrap()
    }
}

#[tokio::test]
async fn direct_messages_make_one_conversation_paged_newest_first() {
    let f = fixture().await;
    let ada = f.register("ada").await;
    let bob = f.register("bob").await;
    let cy = f.register("cyd").await;

    // Inputs are refused naming the field, before anything is stored.
    assert_error(f.send("nope", Target::RecipientId(bob.clone()), "hi").await, Code::InvalidArgument, "sender_id");
    assert_error(f.send(&ada, Target::RecipientId("nope".into()), "hi").await, Code::InvalidArgument, "recipient_id");
    assert_error(f.send(&ada, Target::RecipientId(ada.clone()), "hi").await, Code::InvalidArgument, "recipient_id");
    assert_error(f.send(&ada, Target::RecipientId(bob.clone()), "  ").await, Code::InvalidArgument, "body");
    assert_error(f.send(&ada, Target::RecipientId(bob.clone()), &"x".repeat(4001)).await, Code::InvalidArgument, "body");
    let no_target = pb::SendMessageRequest { sender_id: ada.clone(), body: "hi".into(), ..Default::default() };
    assert_error(f.messaging.send_message(no_target).await, Code::InvalidArgument, "recipient_id");
    let system = pb::SendMessageRequest {
        sender_id: ada.clone(),
        target: Some(Target::RecipientId(bob.clone())),
        body: "hi".into(),
        kind: pb::MessageKind::System as i32,
        ..Default::default()
    };
    assert_error(f.messaging.send_message(system).await, Code::InvalidArgument, "SYSTEM");
    assert_error(f.dm(&ada, UNKNOWN, "hi").await, Code::NotFound, "recipient_id");
    assert_error(f.dm(UNKNOWN, &bob, "hi").await, Code::NotFound, "sender_id");
    assert_error(f.say(&ada, UNKNOWN, "hi").await, Code::NotFound, "conversation_id");
    assert_eq!(f.stored("SELECT count(*) FROM conversations WHERE $1 <> ''", "x").await, 0);

    // The first message creates the conversation; the answer from either side reuses it.
    let (first, conversation) = f.dm(&ada, &bob, "hello bob").await.unwrap();
    assert_eq!((first.sequence, first.body.as_str(), first.kind), (1, "hello bob", pb::MessageKind::Text as i32));
    assert_eq!(conversation.kind, pb::ConversationKind::Direct as i32);
    assert_eq!((conversation.member_count, conversation.last_sequence), (2, 1));
    let (reply, again) = f.dm(&bob, &ada, "hi ada").await.unwrap();
    assert_eq!((again.id.as_str(), reply.sequence), (conversation.id.as_str(), 2));
    for n in 3..=5 {
        assert_eq!(f.say(&ada, &conversation.id, &format!("message {n}")).await.unwrap().sequence, n);
    }
    // A reply names a message of the same conversation.
    let (elsewhere, with_cy) = f.dm(&ada, &cy, "hi cy").await.unwrap();
    let reply_request = |to: &str| pb::SendMessageRequest {
        sender_id: bob.clone(),
        target: Some(Target::ConversationId(conversation.id.clone())),
        body: "re".into(),
        reply_to_message_id: to.into(),
        ..Default::default()
    };
    assert_error(f.messaging.send_message(reply_request(&elsewhere.id)).await, Code::NotFound, "reply_to_message_id");
    assert_eq!(f.unread(&bob, &conversation.id).await.unwrap().unread_messages, 3, "a refused send uses no sequence number");
    let replied = f.messaging.send_message(reply_request(&first.id)).await.unwrap().message.unwrap();
    assert_eq!((replied.sequence, replied.reply_to_message_id.as_str()), (6, first.id.as_str()));

    // Newest first, two at a time, with opaque tokens bound to the conversation.
    let mut sequences = Vec::new();
    let mut token = String::new();
    loop {
        let page = f.page(&conversation.id, &bob, 4, &token).await.unwrap();
        assert!(page.messages.len() <= 4);
        sequences.extend(page.messages.iter().map(|m| m.sequence));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
        assert_error(f.page(&with_cy.id, &ada, 4, &token).await, Code::InvalidArgument, "page_token");
    }
    assert_eq!(sequences, vec![6, 5, 4, 3, 2, 1]);
    assert_error(f.page(&conversation.id, &bob, -1, "").await, Code::InvalidArgument, "page_size");
    assert_error(f.page(&conversation.id, &cy, 0, "").await, Code::PermissionDenied, "requester_id");
    assert_error(f.say(&cy, &conversation.id, "let me in").await, Code::PermissionDenied, "sender_id");
    assert_error(f.page(UNKNOWN, &cy, 0, "").await, Code::NotFound, "conversation_id");

    assert_eq!(f.message(&first.id, &bob).await.unwrap(), first);
    assert_error(f.message(&first.id, &cy).await, Code::PermissionDenied, "requester_id");
    assert_error(f.message(UNKNOWN, &cy).await, Code::NotFound, "message_id");
    let get = |requester: &str| pb::GetConversationRequest { conversation_id: conversation.id.clone(), requester_id: requester.into() };
    let read = f.messaging.get_conversation(get(&bob)).await.unwrap().conversation.unwrap();
    assert_eq!((read.last_sequence, read.member_count, read.title.as_str()), (6, 2, ""));
    assert_error(f.messaging.get_conversation(get(&cy)).await, Code::PermissionDenied, "requester_id");
    let members: BTreeSet<String> = f.members(&conversation.id, &ada).await.into_iter().map(|m| m.user_id).collect();
    assert_eq!(members, BTreeSet::from([ada.clone(), bob.clone()]));

    // Ada's conversations by recent activity: a new message moves one to the front.
    let list = |size: i32, token: String| pb::ListConversationsRequest { user_id: ada.clone(), page_size: size, page_token: token };
    let ids = |r: pb::ListConversationsResponse| r.conversations.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let whole = ids(f.messaging.list_conversations(list(0, String::new())).await.unwrap());
    assert_eq!(whole, vec![conversation.id.clone(), with_cy.id.clone()]);
    f.say(&cy, &with_cy.id, "news").await.unwrap();
    let first_page = f.messaging.list_conversations(list(1, String::new())).await.unwrap();
    let token = first_page.next_page_token.clone();
    assert_eq!(ids(first_page), vec![with_cy.id.clone()]);
    let second = f.messaging.list_conversations(list(1, token)).await.unwrap();
    assert!(second.next_page_token.is_empty());
    assert_eq!(ids(second), vec![conversation.id.clone()]);
    f.system.stop().await;
}

#[tokio::test]
async fn edits_keep_their_history_and_check_the_version() {
    let f = fixture().await;
    let ada = f.register("ada").await;
    let bob = f.register("bob").await;
    let (message, _) = f.dm(&ada, &bob, "helo").await.unwrap();
    let edit = |editor: &str, body: &str, version: i64| pb::UpdateMessageRequest {
        message_id: message.id.clone(),
        editor_id: editor.into(),
        body: body.into(),
        version,
    };

    let edited = f.messaging.update_message(edit(&ada, "hello", message.version)).await.unwrap().message.unwrap();
    assert_eq!((edited.body.as_str(), edited.version, edited.sequence), ("hello", message.version + 1, 1));
    assert!(edited.edited_at.is_some() && message.edited_at.is_none());
    assert_eq!(f.message(&message.id, &bob).await.unwrap(), edited);
    assert_eq!(f.stored("SELECT count(*) FROM message_edit_history WHERE message_id = $1::uuid AND previous_body = 'helo'", &message.id).await, 1);

    let again = f.messaging.update_message(edit(&ada, "hello!", edited.version)).await.unwrap().message.unwrap();
    assert_eq!(again.version, edited.version + 1);
    // The history, newest edit first, a page at a time.
    let history = |requester: &str, token: String| pb::ListMessageEditsRequest {
        message_id: message.id.clone(),
        requester_id: requester.into(),
        page_size: 1,
        page_token: token,
    };
    let first_page = f.messaging.list_message_edits(history(&bob, String::new())).await.unwrap();
    assert_eq!(first_page.edits.iter().map(|e| (e.version, e.previous_body.as_str())).collect::<Vec<_>>(), vec![(1, "hello")]);
    let second_page = f.messaging.list_message_edits(history(&bob, first_page.next_page_token.clone())).await.unwrap();
    assert_eq!(second_page.edits.iter().map(|e| (e.version, e.previous_body.as_str(), e.edited_by.as_str())).collect::<Vec<_>>(), vec![(0, "helo", ada.as_str())]);
    assert!(second_page.next_page_token.is_empty());
    let stranger = f.register("stranger").await;
    assert_error(f.messaging.list_message_edits(history(&stranger, String::new())).await, Code::PermissionDenied, "requester_id");
    let unknown = pb::ListMessageEditsRequest { message_id: UNKNOWN.into(), ..history(&bob, String::new()) };
    assert_error(f.messaging.list_message_edits(unknown).await, Code::NotFound, "message_id");

    // The old version lost: ABORTED, nothing written.
    assert_error(f.messaging.update_message(edit(&ada, "hullo", message.version)).await, Code::Aborted, "version");
    assert_error(f.messaging.update_message(edit(&bob, "hullo", edited.version)).await, Code::PermissionDenied, "editor_id");
    assert_error(f.messaging.update_message(edit(&ada, "", edited.version)).await, Code::InvalidArgument, "body");
    let unknown = pb::UpdateMessageRequest { message_id: UNKNOWN.into(), ..edit(&ada, "x", 0) };
    assert_error(f.messaging.update_message(unknown).await, Code::NotFound, "message_id");
    assert_eq!(f.stored("SELECT count(*) FROM message_edit_history WHERE message_id = $1::uuid", &message.id).await, 2);

    // Past the 15-minute window the message is final.
    f.stored("WITH moved AS (UPDATE messages SET created_at = now() - interval '16 minutes' WHERE id = $1::uuid RETURNING 1) SELECT count(*) FROM moved", &message.id)
        .await;
    assert_error(f.messaging.update_message(edit(&ada, "hullo", edited.version)).await, Code::FailedPrecondition, "edit window");

    // A recall takes the earlier bodies with it.
    f.messaging.delete_message(pb::DeleteMessageRequest { message_id: message.id.clone(), requester_id: ada.clone() }).await.unwrap();
    assert!(f.messaging.list_message_edits(history(&bob, String::new())).await.unwrap().edits.is_empty());
    assert_eq!(f.stored("SELECT count(*) FROM message_edit_history WHERE message_id = $1::uuid", &message.id).await, 0);
    f.system.stop().await;
}

#[tokio::test]
async fn a_recall_leaves_one_tombstone_however_often_it_is_asked() {
    let f = fixture().await;
    let ada = f.register("ada").await;
    let bob = f.register("bob").await;
    let cy = f.register("cyd").await;
    let (message, conversation) = f.dm(&ada, &bob, "oops").await.unwrap();
    let delete = |requester: &str| pb::DeleteMessageRequest { message_id: message.id.clone(), requester_id: requester.into() };

    // Reactions: one per user and emoji, counted most used first.
    let react = |user: &str, emoji: &str| pb::AddReactionRequest { message_id: message.id.clone(), user_id: user.into(), emoji: emoji.into() };
    let counts = |reactions: Vec<pb::ReactionCount>| reactions.into_iter().map(|r| (r.emoji, r.count)).collect::<Vec<_>>();
    f.messaging.add_reaction(react(&bob, "👍")).await.unwrap();
    assert_eq!(counts(f.messaging.add_reaction(react(&bob, "👍")).await.unwrap().reactions), vec![("👍".to_string(), 1)], "reacting twice counts once");
    f.messaging.add_reaction(react(&ada, "❤️")).await.unwrap();
    let both = f.messaging.add_reaction(react(&ada, "👍")).await.unwrap().reactions;
    assert_eq!(counts(both.clone()), vec![("👍".to_string(), 2), ("❤️".to_string(), 1)]);
    assert_eq!(f.message(&message.id, &bob).await.unwrap().reactions, both);
    let unreact = |user: &str, emoji: &str| pb::RemoveReactionRequest { message_id: message.id.clone(), user_id: user.into(), emoji: emoji.into() };
    f.messaging.remove_reaction(unreact(&ada, "❤️")).await.unwrap();
    assert_eq!(counts(f.messaging.remove_reaction(unreact(&ada, "❤️")).await.unwrap().reactions), vec![("👍".to_string(), 2)], "removing twice removes once");
    assert_error(f.messaging.add_reaction(react(&cy, "👍")).await, Code::PermissionDenied, "user_id");
    assert_error(f.messaging.add_reaction(react(&bob, "")).await, Code::InvalidArgument, "emoji");
    assert_error(f.messaging.add_reaction(react(&bob, "a b")).await, Code::InvalidArgument, "emoji");
    let unknown = pb::AddReactionRequest { message_id: UNKNOWN.into(), ..react(&bob, "👍") };
    assert_error(f.messaging.add_reaction(unknown).await, Code::NotFound, "message_id");

    assert_error(f.messaging.delete_message(delete(&bob)).await, Code::PermissionDenied, "requester_id");
    assert_error(f.messaging.delete_message(pb::DeleteMessageRequest { message_id: UNKNOWN.into(), requester_id: ada.clone() }).await, Code::NotFound, "message_id");
    let first = f.messaging.delete_message(delete(&ada)).await.unwrap().deleted_at.unwrap();
    let again = f.messaging.delete_message(delete(&ada)).await.unwrap().deleted_at.unwrap();
    assert_eq!(first, again, "a repeated recall answers the first deletion");
    assert_eq!(f.stored("SELECT count(*) FROM message_recalls WHERE message_id = $1::uuid", &message.id).await, 1);

    let tombstone = f.message(&message.id, &bob).await.unwrap();
    assert_eq!((tombstone.body.as_str(), tombstone.deleted_at, tombstone.sequence), ("", Some(first), 1));
    assert_eq!(f.stored("SELECT count(*) FROM messages WHERE id = $1::uuid AND body = ''", &message.id).await, 1, "the body is gone from storage");
    let page = f.page(&conversation.id, &bob, 0, "").await.unwrap();
    assert_eq!(page.messages, vec![tombstone.clone()], "the tombstone keeps its place");
    assert!(tombstone.reactions.is_empty(), "a recall removes the reactions");
    assert_error(f.messaging.add_reaction(react(&bob, "👍")).await, Code::FailedPrecondition, "deleted");
    let edit = pb::UpdateMessageRequest { message_id: message.id.clone(), editor_id: ada.clone(), body: "x".into(), version: tombstone.version };
    assert_error(f.messaging.update_message(edit).await, Code::FailedPrecondition, "deleted");

    // In a group the owner and admins may recall anyone's message, members only their own.
    let group = f.group(&ada, &[&bob, &cy]).await.unwrap();
    let said = f.say(&cy, &group.id, "spam").await.unwrap();
    let recall = |requester: &str| pb::DeleteMessageRequest { message_id: said.id.clone(), requester_id: requester.into() };
    assert_error(f.messaging.delete_message(recall(&bob)).await, Code::PermissionDenied, "requester_id");
    f.set_role(&group.id, &ada, &bob, pb::MemberRole::Admin).await.unwrap();
    f.messaging.delete_message(recall(&bob)).await.unwrap();
    assert!(f.message(&said.id, &cy).await.unwrap().deleted_at.is_some());
    f.system.stop().await;
}

#[tokio::test]
async fn read_positions_never_move_back_and_unread_counts_follow_them() {
    let f = fixture().await;
    let ada = f.register("ada").await;
    let bob = f.register("bob").await;
    let cy = f.register("cyd").await;
    let (_, conversation) = f.dm(&ada, &bob, "1").await.unwrap();
    let mut sent = Vec::new();
    for n in 2..=4 {
        sent.push(f.say(&ada, &conversation.id, &n.to_string()).await.unwrap());
    }
    let (_, other) = f.dm(&cy, &bob, "from cy").await.unwrap();
    let total = f.unread(&bob, "").await.unwrap();
    assert_eq!((total.unread_messages, total.unread_conversations), (5, 2));
    assert_eq!(f.unread(&ada, &conversation.id).await.unwrap().unread_messages, 0, "sending reads up to one's own message");

    let marked = f.mark(&conversation.id, &bob, &sent[1].id).await.unwrap();
    assert_eq!((marked.last_read_sequence, marked.unread_count), (3, 1));
    let retried = f.mark(&conversation.id, &bob, &sent[1].id).await.unwrap();
    assert_eq!(retried, marked, "MarkAsRead is idempotent");
    let late = f.mark(&conversation.id, &bob, &sent[0].id).await.unwrap();
    assert_eq!((late.last_read_sequence, late.unread_count), (3, 1), "a late, older mark does not move back");
    let one = f.unread(&bob, &conversation.id).await.unwrap();
    assert_eq!((one.unread_messages, one.unread_conversations), (1, 1));
    let total = f.unread(&bob, "").await.unwrap();
    assert_eq!((total.unread_messages, total.unread_conversations), (2, 2));

    // Muted conversations leave the total.
    f.stored("WITH m AS (UPDATE conversation_members SET muted = true WHERE conversation_id = $1::uuid RETURNING 1) SELECT count(*) FROM m", &other.id).await;
    assert_eq!(f.unread(&bob, "").await.unwrap().unread_messages, 1);

    assert_error(f.mark(&conversation.id, &cy, &sent[0].id).await, Code::PermissionDenied, "user_id");
    assert_error(f.mark(&conversation.id, &bob, UNKNOWN).await, Code::NotFound, "message_id");
    let in_other = f.page(&other.id, &bob, 1, "").await.unwrap().messages.remove(0);
    assert_error(f.mark(&conversation.id, &bob, &in_other.id).await, Code::NotFound, "message_id");
    assert_error(f.mark(UNKNOWN, &bob, &in_other.id).await, Code::NotFound, "conversation_id");
    assert_error(f.unread(&cy, &conversation.id).await, Code::PermissionDenied, "user_id");
    assert_error(f.unread(&bob, UNKNOWN).await, Code::NotFound, "conversation_id");
    assert_error(f.unread("nope", "").await, Code::InvalidArgument, "user_id");
    f.system.stop().await;
}

#[tokio::test]
async fn blocks_and_policies_stop_direct_messages() {
    let f = fixture().await;
    let ada = f.register("ada").await;
    let bob = f.register("bob").await;
    let cy = f.register("cyd").await;
    let dee = f.register("dee").await;
    let eve = f.register("eve").await;

    // A block, whichever side: no direct message either way, no group together.
    f.block(&bob, &ada).await;
    assert_error(f.dm(&ada, &bob, "hi").await, Code::FailedPrecondition, "blocks");
    assert_error(f.dm(&bob, &ada, "hi").await, Code::FailedPrecondition, "blocks");
    assert_error(f.group(&ada, &[&bob, &cy]).await, Code::FailedPrecondition, "member_ids");
    let group = f.group(&ada, &[&cy]).await.unwrap();
    assert_error(f.add(&group.id, &ada, &[&bob]).await, Code::FailedPrecondition, "user_ids");
    // Inside a group a block silences nobody (documented in the proto).
    f.add(&group.id, &cy, &[&bob]).await.expect_err("cy is a plain member");
    f.set_role(&group.id, &ada, &cy, pb::MemberRole::Admin).await.unwrap();
    f.add(&group.id, &cy, &[&bob]).await.unwrap();
    f.say(&bob, &group.id, "hello all").await.unwrap();
    f.say(&ada, &group.id, "hello").await.unwrap();

    // A block after the conversation exists stops it too (once user's invalidation arrives).
    let (_, with_dee) = f.dm(&ada, &dee, "hi dee").await.unwrap();
    f.block(&dee, &ada).await;
    until("the block reaches messaging", || async { f.say(&ada, &with_dee.id, "still there?").await.is_err() }).await;
    assert_error(f.say(&ada, &with_dee.id, "hello?").await, Code::FailedPrecondition, "blocks");
    assert_error(f.say(&dee, &with_dee.id, "bye").await, Code::FailedPrecondition, "blocks");

    // Direct-message policies decide who may start a conversation.
    f.set_policy(&cy, user_pb::DirectMessagePolicy::Nobody).await;
    assert_error(f.dm(&ada, &cy, "hi").await, Code::FailedPrecondition, "nobody");
    f.users.follow(user_pb::FollowRequest { follower_id: eve.clone(), followee_id: ada.clone() }).await.unwrap();
    f.set_policy(&eve, user_pb::DirectMessagePolicy::Following).await;
    assert_error(f.dm(&cy, &eve, "hi").await, Code::FailedPrecondition, "follow");
    f.dm(&ada, &eve, "hi eve").await.unwrap();
    f.system.stop().await;
}

#[tokio::test]
async fn group_roles_decide_who_manages_members() {
    let f = fixture().await;
    let owner = f.register("owner").await;
    let admin = f.register("admin").await;
    let member = f.register("member").await;
    let late = f.register("late").await;
    let other = f.register("other").await;

    let create = |title: &str, members: Vec<String>| pb::CreateGroupConversationRequest { creator_id: owner.clone(), title: title.into(), member_ids: members };
    assert_error(f.messaging.create_group_conversation(create("", vec![])).await, Code::InvalidArgument, "title");
    assert_error(f.messaging.create_group_conversation(create(&"t".repeat(101), vec![])).await, Code::InvalidArgument, "title");
    assert_error(f.messaging.create_group_conversation(create("t", vec![UNKNOWN.into()])).await, Code::NotFound, "member_ids");
    assert_error(f.messaging.create_group_conversation(create("t", vec!["x".into()])).await, Code::InvalidArgument, "member_ids");

    let group = f.group(&owner, &[&admin, &member, &member, &owner]).await.unwrap();
    assert_eq!((group.kind, group.member_count, group.title.as_str()), (pb::ConversationKind::Group as i32, 3, "team"));
    let roles = f.members(&group.id, &member).await.into_iter().map(|m| (m.user_id, m.role)).collect::<BTreeSet<_>>();
    assert!(roles.contains(&(owner.clone(), pb::MemberRole::Owner as i32)));
    assert!(roles.contains(&(member.clone(), pb::MemberRole::Member as i32)));
    f.say(&member, &group.id, "first").await.unwrap();

    // Members in join order, one per page.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let request =
            pb::GetConversationMembersRequest { conversation_id: group.id.clone(), requester_id: admin.clone(), page_size: 1, page_token: token };
        let page = f.messaging.get_conversation_members(request).await.unwrap();
        assert!(page.members.len() <= 1);
        paged.extend(page.members.into_iter().map(|m| m.user_id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    // All three joined in the creating transaction: ties go by user id.
    let mut expected = vec![owner.clone(), admin.clone(), member.clone()];
    expected.sort();
    assert_eq!(paged, expected);
    let outsider = pb::GetConversationMembersRequest { conversation_id: group.id.clone(), requester_id: other.clone(), ..Default::default() };
    assert_error(f.messaging.get_conversation_members(outsider).await, Code::PermissionDenied, "requester_id");

    // Roles: only the owner changes them; UNSPECIFIED is not a role.
    assert_error(f.set_role(&group.id, &admin, &member, pb::MemberRole::Admin).await, Code::PermissionDenied, "requester_id");
    assert_error(f.set_role(&group.id, &owner, &admin, pb::MemberRole::Unspecified).await, Code::InvalidArgument, "role");
    assert_error(f.set_role(&group.id, &owner, &other, pb::MemberRole::Admin).await, Code::NotFound, "user_id");
    assert_error(f.set_role(&group.id, &owner, &owner, pb::MemberRole::Member).await, Code::FailedPrecondition, "transfer");
    let promoted = f.set_role(&group.id, &owner, &admin, pb::MemberRole::Admin).await.unwrap();
    assert_eq!(f.set_role(&group.id, &owner, &admin, pb::MemberRole::Admin).await.unwrap(), promoted, "idempotent");

    // Adding: owner and admins; a retry adds nothing; newcomers start with the history read.
    assert_error(f.add(&group.id, &member, &[&late]).await, Code::PermissionDenied, "requester_id");
    assert_error(f.add(&group.id, &admin, &[UNKNOWN]).await, Code::NotFound, "user_ids");
    assert_error(f.add(&group.id, &admin, &[]).await, Code::InvalidArgument, "user_ids");
    let added = f.add(&group.id, &admin, &[&late]).await.unwrap();
    assert_eq!((added.member_count, added.members.len()), (4, 1));
    assert_eq!(added.members[0].last_read_sequence, 1);
    assert_eq!(f.add(&group.id, &admin, &[&late]).await.unwrap().member_count, 4, "adding twice adds once");
    assert_eq!(f.unread(&late, &group.id).await.unwrap().unread_messages, 0);

    // Removing: admins remove members only, the owner anyone; removing twice is a success.
    assert_error(f.remove(&group.id, &member, &late).await, Code::PermissionDenied, "requester_id");
    assert_eq!(f.remove(&group.id, &admin, &late).await.unwrap().member_count, 3);
    assert_eq!(f.remove(&group.id, &admin, &late).await.unwrap().member_count, 3, "removing twice removes once");
    assert_error(f.say(&late, &group.id, "still here?").await, Code::PermissionDenied, "sender_id");
    f.set_role(&group.id, &owner, &member, pb::MemberRole::Admin).await.unwrap();
    assert_error(f.remove(&group.id, &admin, &member).await, Code::PermissionDenied, "requester_id");
    f.set_role(&group.id, &owner, &member, pb::MemberRole::Member).await.unwrap();

    // The owner leaves only after handing the group over.
    assert_error(f.remove(&group.id, &owner, &owner).await, Code::FailedPrecondition, "transfer");
    let new_owner = f.set_role(&group.id, &owner, &admin, pb::MemberRole::Owner).await.unwrap();
    assert_eq!(new_owner.role, pb::MemberRole::Owner as i32);
    let roles = f.members(&group.id, &admin).await.into_iter().map(|m| (m.user_id, m.role)).collect::<BTreeSet<_>>();
    assert!(roles.contains(&(owner.clone(), pb::MemberRole::Admin as i32)), "the previous owner is an admin");
    assert_eq!(roles.iter().filter(|(_, r)| *r == pb::MemberRole::Owner as i32).count(), 1);
    assert_eq!(f.remove(&group.id, &owner, &owner).await.unwrap().member_count, 2);
    assert_eq!(f.remove(&group.id, &owner, &owner).await.unwrap().member_count, 2, "leaving twice leaves once");
    assert_eq!(f.stored("SELECT member_count::bigint FROM conversations WHERE id = $1::uuid", &group.id).await, 2);

    // Direct conversations have fixed members.
    let (_, direct) = f.dm(&owner, &other, "hi").await.unwrap();
    assert_error(f.add(&direct.id, &owner, &[&late]).await, Code::FailedPrecondition, "direct");
    assert_error(f.remove(&direct.id, &owner, &other).await, Code::FailedPrecondition, "direct");
    assert_error(f.add(UNKNOWN, &owner, &[&late]).await, Code::NotFound, "conversation_id");

    // The last member leaving deletes the group.
    f.remove(&group.id, &member, &member).await.unwrap();
    assert_eq!(f.remove(&group.id, &admin, &admin).await.unwrap().member_count, 0);
    let get = pb::GetConversationRequest { conversation_id: group.id.clone(), requester_id: admin.clone() };
    assert_error(f.messaging.get_conversation(get).await, Code::NotFound, "conversation_id");
    f.system.stop().await;
}

#[tokio::test]
async fn attachments_are_checked_with_media() {
    let f = fixture().await;
    let ada = f.register("ada").await;
    let bob = f.register("bob").await;
    let media = f.system.client(nova_media::MediaClient::from_peers);
    let png = media_upload::png(8, 8);
    let ready = media_upload::upload_png(&media, &ada, &png).await;
    assert_eq!(ready.status, media_pb::MediaStatus::Ready as i32);
    let bobs = media_upload::upload_png(&media, &bob, &png).await;
    let pending = media_upload::initiate(&media, &ada, &png).await.media_id;
    let with = |ids: Vec<String>| pb::SendMessageRequest {
        sender_id: ada.clone(),
        target: Some(Target::RecipientId(bob.clone())),
        attachment_media_ids: ids,
        ..Default::default()
    };

    assert_error(f.messaging.send_message(with(vec![UNKNOWN.into()])).await, Code::NotFound, "attachment_media_ids");
    assert_error(f.messaging.send_message(with(vec![bobs.id.clone()])).await, Code::FailedPrecondition, "attachment_media_ids");
    assert_error(f.messaging.send_message(with(vec![pending])).await, Code::FailedPrecondition, "attachment_media_ids");
    assert_error(f.messaging.send_message(with(vec![ready.id.clone(), ready.id.clone()])).await, Code::InvalidArgument, "attachment_media_ids");
    let text_kind = pb::SendMessageRequest { kind: pb::MessageKind::Text as i32, ..with(vec![ready.id.clone()]) };
    assert_error(f.messaging.send_message(text_kind).await, Code::InvalidArgument, "kind");

    let sent = f.messaging.send_message(with(vec![ready.id.clone()])).await.unwrap().message.unwrap();
    assert_eq!((sent.kind, sent.body.as_str(), sent.sequence), (pb::MessageKind::Media as i32, "", 1));
    let attachment = &sent.attachments[0];
    assert_eq!((attachment.media_id.as_str(), attachment.kind), (ready.id.as_str(), pb::AttachmentKind::Image as i32));
    assert_eq!((attachment.mime_type.as_str(), attachment.size_bytes), (ready.mime_type.as_str(), ready.size_bytes));
    assert_eq!(f.message(&sent.id, &bob).await.unwrap(), sent);

    f.messaging.delete_message(pb::DeleteMessageRequest { message_id: sent.id.clone(), requester_id: ada.clone() }).await.unwrap();
    assert!(f.message(&sent.id, &bob).await.unwrap().attachments.is_empty(), "a recall removes the attachments");
    assert_eq!(f.stored("SELECT count(*) FROM message_attachments WHERE message_id = $1::uuid", &sent.id).await, 0);
    f.system.stop().await;
}

/// Many concurrent senders: sequence numbers 1..n without gaps or repeats, and unread counts
/// exact for every member; concurrent first messages of one pair make one conversation.
#[tokio::test]
async fn concurrent_senders_get_gapless_sequences_and_exact_unread_counts() {
    let f = fixture().await;
    let owner = f.register("owner").await;
    let mut senders = Vec::new();
    for n in 0..4 {
        senders.push(f.register(&format!("sender{n}")).await);
    }
    let silent = f.register("silent").await;
    let mut invited: Vec<&str> = senders.iter().map(String::as_str).collect();
    invited.push(&silent);
    let group = f.group(&owner, &invited).await.unwrap();

    // Below the pool's 10 connections: every send waits on the conversation's row lock, not
    // for a connection.
    const PER_SENDER: i64 = 10;
    let mut tasks = Vec::new();
    for sender in &senders {
        let client = f.system.client(MessagingClient::from_peers);
        let (sender, conversation) = (sender.clone(), group.id.clone());
        tasks.push(tokio::spawn(async move {
            let mut sequences = Vec::new();
            for n in 0..PER_SENDER {
                let request = pb::SendMessageRequest {
                    sender_id: sender.clone(),
                    target: Some(Target::ConversationId(conversation.clone())),
                    body: format!("{n}"),
                    ..Default::default()
                };
                sequences.push(client.send_message(request).await.unwrap().message.unwrap().sequence);
            }
            (sender, sequences)
        }));
    }
    let total = PER_SENDER * senders.len() as i64;
    let mut finished = Vec::new();
    for task in tasks {
        finished.push(task.await.unwrap());
    }
    // Every send has committed: the counts are read at rest.
    let mut all = BTreeSet::new();
    for (sender, sequences) in finished {
        assert!(sequences.windows(2).all(|w| w[0] < w[1]), "one sender's messages are numbered in order");
        all.extend(sequences.iter().copied());
        let last_own = *sequences.iter().max().unwrap();
        assert_eq!(f.unread(&sender, &group.id).await.unwrap().unread_messages, total - last_own, "{sender} read up to their last message");
    }
    assert_eq!(all, (1..=total).collect::<BTreeSet<_>>(), "1..{total} without gaps or repeats");
    assert_eq!(f.unread(&silent, &group.id).await.unwrap().unread_messages, total);
    assert_eq!(f.unread(&owner, "").await.unwrap().unread_messages, total);
    assert_eq!(f.stored("SELECT count(DISTINCT sequence) FROM messages WHERE conversation_id = $1::uuid", &group.id).await, total);

    // Concurrent first messages between one pair, from both sides: one conversation.
    let (ada, bob) = (senders[0].clone(), senders[1].clone());
    let mut tasks = Vec::new();
    for n in 0..8 {
        let client = f.system.client(MessagingClient::from_peers);
        let (from, to) = if n % 2 == 0 { (ada.clone(), bob.clone()) } else { (bob.clone(), ada.clone()) };
        tasks.push(tokio::spawn(async move {
            let request =
                pb::SendMessageRequest { sender_id: from, target: Some(Target::RecipientId(to)), body: "first!".into(), ..Default::default() };
            let sent = client.send_message(request).await.unwrap();
            (sent.conversation.unwrap().id, sent.message.unwrap().sequence)
        }));
    }
    let mut conversations = BTreeSet::new();
    let mut sequences = BTreeSet::new();
    for task in tasks {
        let (conversation, sequence) = task.await.unwrap();
        conversations.insert(conversation);
        sequences.insert(sequence);
    }
    assert_eq!(conversations.len(), 1, "one direct conversation per pair");
    assert_eq!(sequences, (1..=8).collect::<BTreeSet<_>>());
    assert_eq!(f.stored("SELECT count(*) FROM conversations WHERE kind = 1 AND $1 <> ''", "x").await, 1);
    f.system.stop().await;
}

#[tokio::test]
async fn handwritten_statements_prepare() {
    nova_tests::statements::assert_handwritten_prepare("messaging", nova_messaging::db::MIGRATIONS, nova_messaging_service::STATEMENTS).await;
}
