//! The messaging service's RPCs over real gRPC, each test with its own databases and Redis key
//! prefix (see `nova_tests::TestSystem`): auth, media, user and messaging started callees
//! first, messaging calling the others only through their generated clients.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::collections::BTreeSet;
use std::future::Future;

use nova_media::pb as media_pb;
use nova_messaging::MessagingClient;
use nova_messaging::pb;
use nova_messaging::pb::send_message_request::Target;
use nova_runtime::codegen::sqlx;
use nova_tests::cache_probe::until;
use nova_tests::{TestSystem, TestUser, media_upload};
use nova_user::UserClient;
use nova_user::pb as user_pb;
use tonic::{Code, Status};

struct Fixture {
    system: TestSystem,
    /// The edge without a token: user's RPCs (blocks, follows, settings) are made with the
    /// acting user's token through [`Fixture::users_as`].
    users: UserClient,
    /// The edge without a token: an anonymous caller; [`Fixture::as_`] adds a user's.
    messaging: MessagingClient,
}

async fn fixture() -> Fixture {
    let mut system = TestSystem::new();
    system.start_with_callees(nova_messaging::SERVICE).await;
    let users = system.client(UserClient::from_peers);
    let messaging = system.client(MessagingClient::from_peers);
    Fixture { system, users, messaging }
}

fn assert_error<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, field: &str) {
    let status = result.expect_err("the call should fail");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(field), "the message should name {field}: {status:?}");
}

/// The refusal of `result`, which must fail FAILED_PRECONDITION.
fn refusal<T: std::fmt::Debug>(result: Result<T, Status>) -> String {
    let status = result.expect_err("the call should be refused");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    status.message().to_string()
}

/// What a direct message gets when the recipient does not accept it: a block by the recipient
/// or their DirectMessagePolicy, word for word the same.
fn not_accepted_dm(recipient: &TestUser, sender: &TestUser) -> String {
    format!("recipient_id {} does not accept direct messages from sender_id {}", recipient.id, sender.id)
}

const UNKNOWN: &str = "00000000-0000-4000-8000-000000000001";

impl Fixture {
    /// Registers and signs in `name`: their id and token.
    async fn sign_up(&self, name: &str) -> TestUser {
        self.system.sign_up(name).await
    }

    /// The edge carrying `user`'s token.
    fn as_(&self, user: &TestUser) -> MessagingClient {
        self.messaging.with_token(&user.token)
    }

    fn users_as(&self, user: &TestUser) -> UserClient {
        self.users.with_token(&user.token)
    }

    async fn send(&self, sender: &TestUser, target: Target, body: &str) -> Result<pb::SendMessageResponse, Status> {
        let request = pb::SendMessageRequest { sender_id: sender.id.clone(), target: Some(target), body: body.into(), ..Default::default() };
        self.as_(sender).send_message(request).await
    }

    /// A direct message; the message and its conversation.
    async fn dm(&self, sender: &TestUser, recipient: &str, body: &str) -> Result<(pb::Message, pb::Conversation), Status> {
        let sent = self.send(sender, Target::RecipientId(recipient.into()), body).await?;
        Ok((sent.message.unwrap(), sent.conversation.unwrap()))
    }

    async fn say(&self, sender: &TestUser, conversation: &str, body: &str) -> Result<pb::Message, Status> {
        Ok(self.send(sender, Target::ConversationId(conversation.into()), body).await?.message.unwrap())
    }

    async fn group(&self, creator: &TestUser, members: &[&str]) -> Result<pb::Conversation, Status> {
        let request = pb::CreateGroupConversationRequest {
            creator_id: creator.id.clone(),
            title: "team".into(),
            member_ids: members.iter().map(|m| m.to_string()).collect(),
        };
        Ok(self.as_(creator).create_group_conversation(request).await?.conversation.unwrap())
    }

    async fn page(&self, conversation: &str, requester: &TestUser, size: i32, token: &str) -> Result<pb::GetMessagesResponse, Status> {
        let request = pb::GetMessagesRequest {
            conversation_id: conversation.into(),
            requester_id: requester.id.clone(),
            page_size: size,
            page_token: token.into(),
        };
        self.as_(requester).get_messages(request).await
    }

    async fn message(&self, id: &str, requester: &TestUser) -> Result<pb::Message, Status> {
        let request = pb::GetMessageRequest { message_id: id.into(), requester_id: requester.id.clone() };
        Ok(self.as_(requester).get_message(request).await?.message.unwrap())
    }

    async fn unread(&self, user: &TestUser, conversation: &str) -> Result<pb::GetUnreadCountResponse, Status> {
        let request = pb::GetUnreadCountRequest { user_id: user.id.clone(), conversation_id: conversation.into() };
        self.as_(user).get_unread_count(request).await
    }

    async fn mark(&self, conversation: &str, user: &TestUser, message: &str) -> Result<pb::MarkAsReadResponse, Status> {
        let request = pb::MarkAsReadRequest { conversation_id: conversation.into(), user_id: user.id.clone(), message_id: message.into() };
        self.as_(user).mark_as_read(request).await
    }

    async fn add(&self, conversation: &str, requester: &TestUser, users: &[&str]) -> Result<pb::AddConversationMembersResponse, Status> {
        let request = pb::AddConversationMembersRequest {
            conversation_id: conversation.into(),
            requester_id: requester.id.clone(),
            user_ids: users.iter().map(|u| u.to_string()).collect(),
        };
        self.as_(requester).add_conversation_members(request).await
    }

    async fn remove(&self, conversation: &str, requester: &TestUser, user: &str) -> Result<pb::RemoveConversationMemberResponse, Status> {
        let request =
            pb::RemoveConversationMemberRequest { conversation_id: conversation.into(), requester_id: requester.id.clone(), user_id: user.into() };
        self.as_(requester).remove_conversation_member(request).await
    }

    async fn set_role(&self, conversation: &str, requester: &TestUser, user: &str, role: pb::MemberRole) -> Result<pb::ConversationMember, Status> {
        let request = pb::UpdateMemberRoleRequest {
            conversation_id: conversation.into(),
            requester_id: requester.id.clone(),
            user_id: user.into(),
            role: role as i32,
        };
        Ok(self.as_(requester).update_member_role(request).await?.member.unwrap())
    }

    async fn members(&self, conversation: &str, requester: &TestUser) -> Vec<pb::ConversationMember> {
        let request =
            pb::GetConversationMembersRequest { conversation_id: conversation.into(), requester_id: requester.id.clone(), ..Default::default() };
        self.as_(requester).get_conversation_members(request).await.unwrap().members
    }

    async fn block(&self, blocker: &TestUser, blocked: &TestUser) {
        let request = user_pb::BlockRequest { blocker_id: blocker.id.clone(), blocked_id: blocked.id.clone() };
        self.users_as(blocker).block(request).await.unwrap();
    }

    async fn follow(&self, follower: &TestUser, followee: &TestUser) {
        let request = user_pb::FollowRequest { follower_id: follower.id.clone(), followee_id: followee.id.clone() };
        self.users_as(follower).follow(request).await.unwrap();
    }

    async fn set_policy(&self, user: &TestUser, policy: user_pb::DirectMessagePolicy) {
        let settings = user_pb::UserSettings {
            user_id: user.id.clone(),
            email_notifications: true,
            push_notifications: true,
            direct_message_policy: policy as i32,
            show_online_status: true,
            language: "en".into(),
            time_zone: "UTC".into(),
            updated_at: None,
        };
        self.users_as(user).update_user_settings(user_pb::UpdateUserSettingsRequest { settings: Some(settings) }).await.unwrap();
    }

    async fn stored(&self, statement: &'static str, id: &str) -> i64 {
        let mut db = self.system.connect("messaging").await;
        sqlx::query_scalar::<_, i64>(statement).bind(id).fetch_one(&mut db).await.unwrap()
    }
}

#[tokio::test]
async fn direct_messages_make_one_conversation_paged_newest_first() {
    let f = fixture().await;
    let ada = f.sign_up("ada").await;
    let bob = f.sign_up("bob").await;
    let cy = f.sign_up("cyd").await;

    // Inputs are refused naming the field, before anything is stored. The sender is the
    // caller: a sender_id that is not ada's own is refused before the handler.
    let as_sender = |sender: &str, target: Target| pb::SendMessageRequest {
        sender_id: sender.into(),
        target: Some(target),
        body: "hi".into(),
        ..Default::default()
    };
    assert_error(f.as_(&ada).send_message(as_sender("nope", Target::RecipientId(bob.id.clone()))).await, Code::PermissionDenied, "sender_id");
    assert_error(f.as_(&ada).send_message(as_sender(UNKNOWN, Target::RecipientId(bob.id.clone()))).await, Code::PermissionDenied, "sender_id");
    assert_error(f.send(&ada, Target::RecipientId("nope".into()), "hi").await, Code::InvalidArgument, "recipient_id");
    assert_error(f.send(&ada, Target::RecipientId(ada.id.clone()), "hi").await, Code::InvalidArgument, "recipient_id");
    assert_error(f.send(&ada, Target::RecipientId(bob.id.clone()), "  ").await, Code::InvalidArgument, "body");
    assert_error(f.send(&ada, Target::RecipientId(bob.id.clone()), &"x".repeat(4001)).await, Code::InvalidArgument, "body");
    let no_target = pb::SendMessageRequest { sender_id: ada.id.clone(), body: "hi".into(), ..Default::default() };
    assert_error(f.as_(&ada).send_message(no_target).await, Code::InvalidArgument, "recipient_id");
    let system = pb::SendMessageRequest {
        sender_id: ada.id.clone(),
        target: Some(Target::RecipientId(bob.id.clone())),
        body: "hi".into(),
        kind: pb::MessageKind::System as i32,
        ..Default::default()
    };
    assert_error(f.as_(&ada).send_message(system).await, Code::InvalidArgument, "SYSTEM");
    assert_error(f.dm(&ada, UNKNOWN, "hi").await, Code::NotFound, "recipient_id");
    assert_error(f.say(&ada, UNKNOWN, "hi").await, Code::NotFound, "conversation_id");
    assert_eq!(f.stored("SELECT count(*) FROM conversations WHERE $1 <> ''", "x").await, 0);

    // The first message creates the conversation; the answer from either side reuses it. An
    // empty sender_id is the caller.
    let (first, conversation) = f.dm(&ada, &bob.id, "hello bob").await.unwrap();
    assert_eq!((first.sequence, first.body.as_str(), first.kind), (1, "hello bob", pb::MessageKind::Text as i32));
    assert_eq!(first.sender_id, ada.id);
    assert_eq!(conversation.kind, pb::ConversationKind::Direct as i32);
    assert_eq!((conversation.member_count, conversation.last_sequence), (2, 1));
    let reply = f.as_(&bob).send_message(as_sender("", Target::RecipientId(ada.id.clone()))).await.unwrap();
    let (reply, again) = (reply.message.unwrap(), reply.conversation.unwrap());
    assert_eq!((again.id.as_str(), reply.sequence, reply.sender_id.as_str()), (conversation.id.as_str(), 2, bob.id.as_str()));
    for n in 3..=5 {
        assert_eq!(f.say(&ada, &conversation.id, &format!("message {n}")).await.unwrap().sequence, n);
    }
    // A reply names a message of the same conversation.
    let (elsewhere, with_cy) = f.dm(&ada, &cy.id, "hi cy").await.unwrap();
    let reply_request = |to: &str| pb::SendMessageRequest {
        sender_id: bob.id.clone(),
        target: Some(Target::ConversationId(conversation.id.clone())),
        body: "re".into(),
        reply_to_message_id: to.into(),
        ..Default::default()
    };
    assert_error(f.as_(&bob).send_message(reply_request(&elsewhere.id)).await, Code::NotFound, "reply_to_message_id");
    assert_eq!(f.unread(&bob, &conversation.id).await.unwrap().unread_messages, 3, "a refused send uses no sequence number");
    let replied = f.as_(&bob).send_message(reply_request(&first.id)).await.unwrap().message.unwrap();
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
    // To cy, who is not a member, the conversation and its messages do not exist.
    assert_error(f.page(&conversation.id, &cy, 0, "").await, Code::NotFound, "conversation_id");
    assert_error(f.say(&cy, &conversation.id, "let me in").await, Code::NotFound, "conversation_id");
    assert_error(f.page(UNKNOWN, &cy, 0, "").await, Code::NotFound, "conversation_id");

    assert_eq!(f.message(&first.id, &bob).await.unwrap(), first);
    assert_error(f.message(&first.id, &cy).await, Code::NotFound, "message_id");
    assert_error(f.message(UNKNOWN, &cy).await, Code::NotFound, "message_id");
    let get = |requester: &TestUser| pb::GetConversationRequest { conversation_id: conversation.id.clone(), requester_id: requester.id.clone() };
    let read = f.as_(&bob).get_conversation(get(&bob)).await.unwrap().conversation.unwrap();
    assert_eq!((read.last_sequence, read.member_count, read.title.as_str()), (6, 2, ""));
    assert_error(f.as_(&cy).get_conversation(get(&cy)).await, Code::NotFound, "conversation_id");
    let members: BTreeSet<String> = f.members(&conversation.id, &ada).await.into_iter().map(|m| m.user_id).collect();
    assert_eq!(members, BTreeSet::from([ada.id.clone(), bob.id.clone()]));

    // Ada's conversations by recent activity: a new message moves one to the front.
    let list = |size: i32, token: String| pb::ListConversationsRequest { user_id: ada.id.clone(), page_size: size, page_token: token };
    let ids = |r: pb::ListConversationsResponse| r.conversations.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let whole = ids(f.as_(&ada).list_conversations(list(0, String::new())).await.unwrap());
    assert_eq!(whole, vec![conversation.id.clone(), with_cy.id.clone()]);
    f.say(&cy, &with_cy.id, "news").await.unwrap();
    let first_page = f.as_(&ada).list_conversations(list(1, String::new())).await.unwrap();
    let token = first_page.next_page_token.clone();
    assert_eq!(ids(first_page), vec![with_cy.id.clone()]);
    let second = f.as_(&ada).list_conversations(list(1, token)).await.unwrap();
    assert!(second.next_page_token.is_empty());
    assert_eq!(ids(second), vec![conversation.id.clone()]);
    f.system.stop().await;
}

#[tokio::test]
async fn edits_keep_their_history_and_check_the_version() {
    let f = fixture().await;
    let ada = f.sign_up("ada").await;
    let bob = f.sign_up("bob").await;
    let (message, _) = f.dm(&ada, &bob.id, "helo").await.unwrap();
    let edit = |editor: &TestUser, body: &str, version: i64| pb::UpdateMessageRequest {
        message_id: message.id.clone(),
        editor_id: editor.id.clone(),
        body: body.into(),
        version,
    };

    let edited = f.as_(&ada).update_message(edit(&ada, "hello", message.version)).await.unwrap().message.unwrap();
    assert_eq!((edited.body.as_str(), edited.version, edited.sequence), ("hello", message.version + 1, 1));
    assert!(edited.edited_at.is_some() && message.edited_at.is_none());
    assert_eq!(f.message(&message.id, &bob).await.unwrap(), edited);
    assert_eq!(f.stored("SELECT count(*) FROM message_edit_history WHERE message_id = $1::uuid AND previous_body = 'helo'", &message.id).await, 1);

    // An empty editor_id is the caller.
    let by_caller = pb::UpdateMessageRequest { editor_id: String::new(), ..edit(&ada, "hello!", edited.version) };
    let again = f.as_(&ada).update_message(by_caller).await.unwrap().message.unwrap();
    assert_eq!(again.version, edited.version + 1);
    // The history, newest edit first, a page at a time, for every member.
    let history = |requester: &TestUser, token: String| pb::ListMessageEditsRequest {
        message_id: message.id.clone(),
        requester_id: requester.id.clone(),
        page_size: 1,
        page_token: token,
    };
    let first_page = f.as_(&bob).list_message_edits(history(&bob, String::new())).await.unwrap();
    assert_eq!(first_page.edits.iter().map(|e| (e.version, e.previous_body.as_str())).collect::<Vec<_>>(), vec![(1, "hello")]);
    let second_page = f.as_(&bob).list_message_edits(history(&bob, first_page.next_page_token.clone())).await.unwrap();
    assert_eq!(
        second_page.edits.iter().map(|e| (e.version, e.previous_body.as_str(), e.edited_by.as_str())).collect::<Vec<_>>(),
        vec![(0, "helo", ada.id.as_str())]
    );
    assert!(second_page.next_page_token.is_empty());
    let stranger = f.sign_up("stranger").await;
    assert_error(f.as_(&stranger).list_message_edits(history(&stranger, String::new())).await, Code::NotFound, "message_id");
    let unknown = pb::ListMessageEditsRequest { message_id: UNKNOWN.into(), ..history(&bob, String::new()) };
    assert_error(f.as_(&bob).list_message_edits(unknown).await, Code::NotFound, "message_id");

    // The old version lost: ABORTED, nothing written. Only the sender edits; to a stranger the
    // message does not exist.
    assert_error(f.as_(&ada).update_message(edit(&ada, "hullo", message.version)).await, Code::Aborted, "version");
    assert_error(f.as_(&bob).update_message(edit(&bob, "hullo", again.version)).await, Code::PermissionDenied, "editor_id");
    assert_error(f.as_(&stranger).update_message(edit(&stranger, "hullo", again.version)).await, Code::NotFound, "message_id");
    assert_error(f.as_(&ada).update_message(edit(&ada, "", again.version)).await, Code::InvalidArgument, "body");
    let unknown = pb::UpdateMessageRequest { message_id: UNKNOWN.into(), ..edit(&ada, "x", 0) };
    assert_error(f.as_(&ada).update_message(unknown).await, Code::NotFound, "message_id");
    assert_eq!(f.stored("SELECT count(*) FROM message_edit_history WHERE message_id = $1::uuid", &message.id).await, 2);

    // Past the 15-minute window the message is final.
    f.stored(
        "WITH moved AS (UPDATE messages SET created_at = now() - interval '16 minutes' WHERE id = $1::uuid RETURNING 1) SELECT count(*) FROM moved",
        &message.id,
    )
    .await;
    assert_error(f.as_(&ada).update_message(edit(&ada, "hullo", again.version)).await, Code::FailedPrecondition, "edit window");

    // A recall takes the earlier bodies with it.
    f.as_(&ada).delete_message(pb::DeleteMessageRequest { message_id: message.id.clone(), requester_id: ada.id.clone() }).await.unwrap();
    assert!(f.as_(&bob).list_message_edits(history(&bob, String::new())).await.unwrap().edits.is_empty());
    assert_eq!(f.stored("SELECT count(*) FROM message_edit_history WHERE message_id = $1::uuid", &message.id).await, 0);
    f.system.stop().await;
}

#[tokio::test]
async fn a_recall_leaves_one_tombstone_however_often_it_is_asked() {
    let f = fixture().await;
    let ada = f.sign_up("ada").await;
    let bob = f.sign_up("bob").await;
    let cy = f.sign_up("cyd").await;
    let (message, conversation) = f.dm(&ada, &bob.id, "oops").await.unwrap();
    let delete = |requester: &TestUser| pb::DeleteMessageRequest { message_id: message.id.clone(), requester_id: requester.id.clone() };

    // Reactions: one per user and emoji, counted most used first.
    let react =
        |user: &TestUser, emoji: &str| pb::AddReactionRequest { message_id: message.id.clone(), user_id: user.id.clone(), emoji: emoji.into() };
    let counts = |reactions: Vec<pb::ReactionCount>| reactions.into_iter().map(|r| (r.emoji, r.count)).collect::<Vec<_>>();
    f.as_(&bob).add_reaction(react(&bob, "👍")).await.unwrap();
    assert_eq!(
        counts(f.as_(&bob).add_reaction(react(&bob, "👍")).await.unwrap().reactions),
        vec![("👍".to_string(), 1)],
        "reacting twice counts once"
    );
    f.as_(&ada).add_reaction(react(&ada, "❤️")).await.unwrap();
    let both = f.as_(&ada).add_reaction(react(&ada, "👍")).await.unwrap().reactions;
    assert_eq!(counts(both.clone()), vec![("👍".to_string(), 2), ("❤️".to_string(), 1)]);
    assert_eq!(f.message(&message.id, &bob).await.unwrap().reactions, both);
    let unreact =
        |user: &TestUser, emoji: &str| pb::RemoveReactionRequest { message_id: message.id.clone(), user_id: user.id.clone(), emoji: emoji.into() };
    f.as_(&ada).remove_reaction(unreact(&ada, "❤️")).await.unwrap();
    assert_eq!(
        counts(f.as_(&ada).remove_reaction(unreact(&ada, "❤️")).await.unwrap().reactions),
        vec![("👍".to_string(), 2)],
        "removing twice removes once"
    );
    // Bob's reaction is bob's to remove: ada removing "her" 👍 leaves his.
    assert_eq!(counts(f.as_(&ada).remove_reaction(unreact(&ada, "👍")).await.unwrap().reactions), vec![("👍".to_string(), 1)]);
    assert_error(f.as_(&cy).add_reaction(react(&cy, "👍")).await, Code::NotFound, "message_id");
    assert_error(f.as_(&bob).add_reaction(react(&bob, "")).await, Code::InvalidArgument, "emoji");
    assert_error(f.as_(&bob).add_reaction(react(&bob, "a b")).await, Code::InvalidArgument, "emoji");
    let unknown = pb::AddReactionRequest { message_id: UNKNOWN.into(), ..react(&bob, "👍") };
    assert_error(f.as_(&bob).add_reaction(unknown).await, Code::NotFound, "message_id");

    assert_error(f.as_(&bob).delete_message(delete(&bob)).await, Code::PermissionDenied, "requester_id");
    assert_error(f.as_(&cy).delete_message(delete(&cy)).await, Code::NotFound, "message_id");
    let unknown = pb::DeleteMessageRequest { message_id: UNKNOWN.into(), requester_id: ada.id.clone() };
    assert_error(f.as_(&ada).delete_message(unknown).await, Code::NotFound, "message_id");
    let first = f.as_(&ada).delete_message(delete(&ada)).await.unwrap().deleted_at.unwrap();
    let again = f.as_(&ada).delete_message(delete(&ada)).await.unwrap().deleted_at.unwrap();
    assert_eq!(first, again, "a repeated recall answers the first deletion");
    assert_eq!(f.stored("SELECT count(*) FROM message_recalls WHERE message_id = $1::uuid", &message.id).await, 1);

    let tombstone = f.message(&message.id, &bob).await.unwrap();
    assert_eq!((tombstone.body.as_str(), tombstone.deleted_at, tombstone.sequence), ("", Some(first), 1));
    assert_eq!(f.stored("SELECT count(*) FROM messages WHERE id = $1::uuid AND body = ''", &message.id).await, 1, "the body is gone from storage");
    let page = f.page(&conversation.id, &bob, 0, "").await.unwrap();
    assert_eq!(page.messages, vec![tombstone.clone()], "the tombstone keeps its place");
    assert!(tombstone.reactions.is_empty(), "a recall removes the reactions");
    assert_error(f.as_(&bob).add_reaction(react(&bob, "👍")).await, Code::FailedPrecondition, "deleted");
    let edit = pb::UpdateMessageRequest { message_id: message.id.clone(), editor_id: ada.id.clone(), body: "x".into(), version: tombstone.version };
    assert_error(f.as_(&ada).update_message(edit).await, Code::FailedPrecondition, "deleted");

    // In a group the owner and admins may recall anyone's message, members only their own.
    let group = f.group(&ada, &[&bob.id, &cy.id]).await.unwrap();
    let said = f.say(&cy, &group.id, "spam").await.unwrap();
    let recall = |requester: &TestUser| pb::DeleteMessageRequest { message_id: said.id.clone(), requester_id: requester.id.clone() };
    assert_error(f.as_(&bob).delete_message(recall(&bob)).await, Code::PermissionDenied, "requester_id");
    f.set_role(&group.id, &ada, &bob.id, pb::MemberRole::Admin).await.unwrap();
    f.as_(&bob).delete_message(recall(&bob)).await.unwrap();
    assert!(f.message(&said.id, &cy).await.unwrap().deleted_at.is_some());
    f.system.stop().await;
}

#[tokio::test]
async fn read_positions_never_move_back_and_unread_counts_follow_them() {
    let f = fixture().await;
    let ada = f.sign_up("ada").await;
    let bob = f.sign_up("bob").await;
    let cy = f.sign_up("cyd").await;
    let (_, conversation) = f.dm(&ada, &bob.id, "1").await.unwrap();
    let mut sent = Vec::new();
    for n in 2..=4 {
        sent.push(f.say(&ada, &conversation.id, &n.to_string()).await.unwrap());
    }
    let (_, other) = f.dm(&cy, &bob.id, "from cy").await.unwrap();
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
    // Bob's read position moved, not ada's: each mark moves the caller's own.
    assert_eq!(f.unread(&ada, &conversation.id).await.unwrap().unread_messages, 0);
    let positions = f.members(&conversation.id, &ada).await.into_iter().map(|m| (m.user_id, m.last_read_sequence)).collect::<BTreeSet<_>>();
    assert_eq!(positions, BTreeSet::from([(ada.id.clone(), 4), (bob.id.clone(), 3)]), "read positions are shown to every member");

    // Muted conversations leave the total; whether one muted a conversation is for them to
    // see only (both members of `other` muted it here).
    f.stored(
        "WITH m AS (UPDATE conversation_members SET muted = true WHERE conversation_id = $1::uuid RETURNING 1) SELECT count(*) FROM m",
        &other.id,
    )
    .await;
    assert_eq!(f.unread(&bob, "").await.unwrap().unread_messages, 1);
    let muted = |members: Vec<pb::ConversationMember>| members.into_iter().map(|m| (m.user_id, m.muted)).collect::<BTreeSet<_>>();
    assert_eq!(muted(f.members(&other.id, &bob).await), BTreeSet::from([(bob.id.clone(), true), (cy.id.clone(), false)]));
    assert_eq!(muted(f.members(&other.id, &cy).await), BTreeSet::from([(bob.id.clone(), false), (cy.id.clone(), true)]));

    assert_error(f.mark(&conversation.id, &cy, &sent[0].id).await, Code::NotFound, "conversation_id");
    assert_error(f.mark(&conversation.id, &bob, UNKNOWN).await, Code::NotFound, "message_id");
    let in_other = f.page(&other.id, &bob, 1, "").await.unwrap().messages.remove(0);
    assert_error(f.mark(&conversation.id, &bob, &in_other.id).await, Code::NotFound, "message_id");
    assert_error(f.mark(UNKNOWN, &bob, &in_other.id).await, Code::NotFound, "conversation_id");
    assert_error(f.unread(&cy, &conversation.id).await, Code::NotFound, "conversation_id");
    assert_error(f.unread(&bob, UNKNOWN).await, Code::NotFound, "conversation_id");
    let malformed = pb::GetUnreadCountRequest { user_id: "nope".into(), conversation_id: String::new() };
    assert_error(f.as_(&bob).get_unread_count(malformed).await, Code::PermissionDenied, "user_id");
    let malformed = pb::GetUnreadCountRequest { user_id: bob.id.clone(), conversation_id: "nope".into() };
    assert_error(f.as_(&bob).get_unread_count(malformed).await, Code::InvalidArgument, "conversation_id");
    f.system.stop().await;
}

#[tokio::test]
async fn blocks_and_policies_stop_direct_messages() {
    let f = fixture().await;
    let ada = f.sign_up("ada").await;
    let bob = f.sign_up("bob").await;
    let cy = f.sign_up("cyd").await;
    let dee = f.sign_up("dee").await;
    let eve = f.sign_up("eve").await;
    let gus = f.sign_up("gus").await;
    // Policies first, before messaging reads (and caches) anyone's settings.
    f.set_policy(&cy, user_pb::DirectMessagePolicy::Nobody).await;
    f.follow(&eve, &ada).await;
    f.set_policy(&eve, user_pb::DirectMessagePolicy::Following).await;

    // A block, whichever side: no direct message either way, no group together. The blocker
    // is told it is their block; the blocked user is not told they are blocked.
    f.block(&bob, &ada).await;
    let blocked = refusal(f.dm(&ada, &bob.id, "hi").await);
    assert_eq!(blocked, not_accepted_dm(&bob, &ada));
    assert!(!blocked.contains("block"), "{blocked}");
    let blocker = refusal(f.dm(&bob, &ada.id, "hi").await);
    assert!(blocker.contains(&format!("sender_id {} blocks recipient_id {}", bob.id, ada.id)), "{blocker}");
    let group_refused = refusal(f.group(&ada, &[&bob.id, &gus.id]).await);
    assert_eq!(group_refused, format!("member_ids: user {} does not accept being added to a group by creator_id {}", bob.id, ada.id));
    let group = f.group(&ada, &[&gus.id]).await.unwrap();
    let add_refused = refusal(f.add(&group.id, &ada, &[&bob.id]).await);
    assert_eq!(add_refused, format!("user_ids: user {} does not accept being added to a group by requester_id {}", bob.id, ada.id));
    // Inside a group a block silences nobody (documented in the proto).
    assert_error(f.add(&group.id, &gus, &[&bob.id]).await, Code::PermissionDenied, "requester_id");
    f.set_role(&group.id, &ada, &gus.id, pb::MemberRole::Admin).await.unwrap();
    f.add(&group.id, &gus, &[&bob.id]).await.unwrap();
    f.say(&bob, &group.id, "hello all").await.unwrap();
    f.say(&ada, &group.id, "hello").await.unwrap();
    // Adding someone already in is not checked again: the retry passes.
    assert_eq!(f.add(&group.id, &ada, &[&bob.id]).await.unwrap().member_count, 3);

    // A block after the conversation exists stops it too (once user's invalidation arrives),
    // with the same refusal as a new conversation gets.
    let (_, with_dee) = f.dm(&ada, &dee.id, "hi dee").await.unwrap();
    f.block(&dee, &ada).await;
    until("the block reaches messaging", || async { f.say(&ada, &with_dee.id, "still there?").await.is_err() }).await;
    assert_eq!(refusal(f.say(&ada, &with_dee.id, "hello?").await), not_accepted_dm(&dee, &ada));
    assert_error(f.say(&dee, &with_dee.id, "bye").await, Code::FailedPrecondition, "blocks");

    // Direct-message policies decide who may start a conversation, and who may add one to a
    // group: their refusal is the one a block gives, word for word.
    let by_policy = refusal(f.dm(&ada, &cy.id, "hi").await);
    assert_eq!(by_policy, not_accepted_dm(&cy, &ada));
    assert_eq!(by_policy.replace(&cy.id, "R"), blocked.replace(&bob.id, "R"), "a block and a policy read the same");
    assert_eq!(refusal(f.group(&ada, &[&cy.id]).await).replace(&cy.id, "R"), group_refused.replace(&bob.id, "R"));
    assert_eq!(refusal(f.add(&group.id, &ada, &[&cy.id]).await).replace(&cy.id, "R"), add_refused.replace(&bob.id, "R"));
    assert_eq!(refusal(f.dm(&cy, &eve.id, "hi").await), not_accepted_dm(&eve, &cy), "eve follows only ada");
    f.dm(&ada, &eve.id, "hi eve").await.unwrap();
    assert_eq!(f.add(&group.id, &ada, &[&eve.id]).await.unwrap().member_count, 4);
    // Nothing refused was stored.
    assert_eq!(f.stored("SELECT count(*) FROM conversations WHERE kind = 1 AND $1 <> ''", "x").await, 2, "ada-dee and ada-eve only");
    assert_eq!(f.stored("SELECT count(*) FROM conversations WHERE kind = 2 AND $1 <> ''", "x").await, 1);
    f.system.stop().await;
}

#[tokio::test]
async fn group_roles_decide_who_manages_members() {
    let f = fixture().await;
    let owner = f.sign_up("owner").await;
    let admin = f.sign_up("admin").await;
    let member = f.sign_up("member").await;
    let late = f.sign_up("late").await;
    let other = f.sign_up("other").await;

    let create = |title: &str, members: Vec<String>| pb::CreateGroupConversationRequest {
        creator_id: owner.id.clone(),
        title: title.into(),
        member_ids: members,
    };
    let as_owner = f.as_(&owner);
    assert_error(as_owner.create_group_conversation(create("", vec![])).await, Code::InvalidArgument, "title");
    assert_error(as_owner.create_group_conversation(create(&"t".repeat(101), vec![])).await, Code::InvalidArgument, "title");
    assert_error(as_owner.create_group_conversation(create("t", vec![UNKNOWN.into()])).await, Code::NotFound, "member_ids");
    assert_error(as_owner.create_group_conversation(create("t", vec!["x".into()])).await, Code::InvalidArgument, "member_ids");

    let group = f.group(&owner, &[&admin.id, &member.id, &member.id, &owner.id]).await.unwrap();
    assert_eq!((group.kind, group.member_count, group.title.as_str()), (pb::ConversationKind::Group as i32, 3, "team"));
    assert_eq!(group.created_by, owner.id);
    let roles = f.members(&group.id, &member).await.into_iter().map(|m| (m.user_id, m.role)).collect::<BTreeSet<_>>();
    assert!(roles.contains(&(owner.id.clone(), pb::MemberRole::Owner as i32)));
    assert!(roles.contains(&(member.id.clone(), pb::MemberRole::Member as i32)));
    f.say(&member, &group.id, "first").await.unwrap();

    // Members in join order, one per page.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let request =
            pb::GetConversationMembersRequest { conversation_id: group.id.clone(), requester_id: admin.id.clone(), page_size: 1, page_token: token };
        let page = f.as_(&admin).get_conversation_members(request).await.unwrap();
        assert!(page.members.len() <= 1);
        paged.extend(page.members.into_iter().map(|m| m.user_id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    // All three joined in the creating transaction: ties go by user id.
    let mut expected = vec![owner.id.clone(), admin.id.clone(), member.id.clone()];
    expected.sort();
    assert_eq!(paged, expected);
    let outsider = pb::GetConversationMembersRequest { conversation_id: group.id.clone(), requester_id: other.id.clone(), ..Default::default() };
    assert_error(f.as_(&other).get_conversation_members(outsider).await, Code::NotFound, "conversation_id");

    // Roles: only the owner changes them; UNSPECIFIED is not a role.
    assert_error(f.set_role(&group.id, &admin, &member.id, pb::MemberRole::Admin).await, Code::PermissionDenied, "requester_id");
    assert_error(f.set_role(&group.id, &owner, &admin.id, pb::MemberRole::Unspecified).await, Code::InvalidArgument, "role");
    assert_error(f.set_role(&group.id, &owner, &other.id, pb::MemberRole::Admin).await, Code::NotFound, "user_id");
    assert_error(f.set_role(&group.id, &owner, &owner.id, pb::MemberRole::Member).await, Code::FailedPrecondition, "transfer");
    let promoted = f.set_role(&group.id, &owner, &admin.id, pb::MemberRole::Admin).await.unwrap();
    assert_eq!(f.set_role(&group.id, &owner, &admin.id, pb::MemberRole::Admin).await.unwrap(), promoted, "idempotent");

    // Adding: owner and admins; a retry adds nothing; newcomers start with the history read.
    assert_error(f.add(&group.id, &member, &[&late.id]).await, Code::PermissionDenied, "requester_id");
    assert_error(f.add(&group.id, &admin, &[UNKNOWN]).await, Code::NotFound, "user_ids");
    assert_error(f.add(&group.id, &admin, &[]).await, Code::InvalidArgument, "user_ids");
    let added = f.add(&group.id, &admin, &[&late.id]).await.unwrap();
    assert_eq!((added.member_count, added.members.len()), (4, 1));
    assert_eq!(added.members[0].last_read_sequence, 1);
    assert_eq!(f.add(&group.id, &admin, &[&late.id]).await.unwrap().member_count, 4, "adding twice adds once");
    assert_eq!(f.unread(&late, &group.id).await.unwrap().unread_messages, 0);

    // Removing: admins remove members only, the owner anyone, a plain member nobody (not even
    // someone who is not in); removing twice is a success.
    assert_error(f.remove(&group.id, &member, &late.id).await, Code::PermissionDenied, "requester_id");
    assert_error(f.remove(&group.id, &member, &other.id).await, Code::PermissionDenied, "requester_id");
    assert_eq!(f.remove(&group.id, &admin, &late.id).await.unwrap().member_count, 3);
    assert_eq!(f.remove(&group.id, &admin, &late.id).await.unwrap().member_count, 3, "removing twice removes once");
    // Removed, late no longer sees the group.
    assert_error(f.say(&late, &group.id, "still here?").await, Code::NotFound, "conversation_id");
    assert_error(f.page(&group.id, &late, 0, "").await, Code::NotFound, "conversation_id");
    f.set_role(&group.id, &owner, &member.id, pb::MemberRole::Admin).await.unwrap();
    assert_error(f.remove(&group.id, &admin, &member.id).await, Code::PermissionDenied, "requester_id");
    f.set_role(&group.id, &owner, &member.id, pb::MemberRole::Member).await.unwrap();

    // The owner leaves only after handing the group over.
    assert_error(f.remove(&group.id, &owner, &owner.id).await, Code::FailedPrecondition, "transfer");
    let new_owner = f.set_role(&group.id, &owner, &admin.id, pb::MemberRole::Owner).await.unwrap();
    assert_eq!(new_owner.role, pb::MemberRole::Owner as i32);
    let roles = f.members(&group.id, &admin).await.into_iter().map(|m| (m.user_id, m.role)).collect::<BTreeSet<_>>();
    assert!(roles.contains(&(owner.id.clone(), pb::MemberRole::Admin as i32)), "the previous owner is an admin");
    assert_eq!(roles.iter().filter(|(_, r)| *r == pb::MemberRole::Owner as i32).count(), 1);
    assert_eq!(f.remove(&group.id, &owner, &owner.id).await.unwrap().member_count, 2);
    // Leaving again changes nothing and, the leaver being out, tells nothing of the group:
    // the answer of a leave from a conversation that does not exist.
    assert_eq!(f.remove(&group.id, &owner, &owner.id).await.unwrap().member_count, 0, "leaving twice leaves once");
    assert_eq!(f.remove(UNKNOWN, &owner, &owner.id).await.unwrap().member_count, 0);
    assert_eq!(f.stored("SELECT member_count::bigint FROM conversations WHERE id = $1::uuid", &group.id).await, 2);

    // Direct conversations have fixed members.
    let (_, direct) = f.dm(&owner, &other.id, "hi").await.unwrap();
    assert_error(f.add(&direct.id, &owner, &[&late.id]).await, Code::FailedPrecondition, "direct");
    assert_error(f.remove(&direct.id, &owner, &other.id).await, Code::FailedPrecondition, "direct");
    assert_error(f.remove(&direct.id, &owner, &owner.id).await, Code::FailedPrecondition, "direct");
    assert_error(f.add(UNKNOWN, &owner, &[&late.id]).await, Code::NotFound, "conversation_id");

    // The last member leaving deletes the group.
    f.remove(&group.id, &member, &member.id).await.unwrap();
    assert_eq!(f.remove(&group.id, &admin, &admin.id).await.unwrap().member_count, 0);
    let get = pb::GetConversationRequest { conversation_id: group.id.clone(), requester_id: admin.id.clone() };
    assert_error(f.as_(&admin).get_conversation(get).await, Code::NotFound, "conversation_id");
    assert_eq!(f.stored("SELECT count(*) FROM conversations WHERE id = $1::uuid AND deleted_at IS NOT NULL", &group.id).await, 1);
    f.system.stop().await;
}

/// Messaging asks media (GetMediaByIds) with the sender's token, which media admits from
/// messaging: the sender's READY media attach; anyone else's is as unknown as a made-up id.
#[tokio::test]
async fn attachments_are_checked_with_media() {
    let f = fixture().await;
    let ada = f.sign_up("ada").await;
    let bob = f.sign_up("bob").await;
    let media = f.system.client(nova_media::MediaClient::from_peers);
    let png = media_upload::png(8, 8);
    let ready = media_upload::upload_png(&media.with_token(&ada.token), &ada.id, &png).await;
    assert_eq!(ready.status, media_pb::MediaStatus::Ready as i32);
    let bobs = media_upload::upload_png(&media.with_token(&bob.token), &bob.id, &png).await;
    let pending = media_upload::initiate(&media.with_token(&ada.token), &ada.id, &png).await.media_id;
    let with = |ids: Vec<String>| pb::SendMessageRequest {
        sender_id: ada.id.clone(),
        target: Some(Target::RecipientId(bob.id.clone())),
        attachment_media_ids: ids,
        ..Default::default()
    };
    let as_ada = f.as_(&ada);

    let unknown = as_ada.send_message(with(vec![UNKNOWN.into()])).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    let not_hers = as_ada.send_message(with(vec![bobs.id.clone()])).await.unwrap_err();
    assert_eq!(not_hers.code(), Code::NotFound, "{not_hers:?}");
    assert_eq!(not_hers.message().replace(&bobs.id, "M"), unknown.message().replace(UNKNOWN, "M"), "bob's media is not ada's to know of");
    assert!(not_hers.message().contains("attachment_media_ids"), "{not_hers:?}");
    assert_error(as_ada.send_message(with(vec![pending])).await, Code::FailedPrecondition, "attachment_media_ids");
    assert_error(as_ada.send_message(with(vec![ready.id.clone(), ready.id.clone()])).await, Code::InvalidArgument, "attachment_media_ids");
    let text_kind = pb::SendMessageRequest { kind: pb::MessageKind::Text as i32, ..with(vec![ready.id.clone()]) };
    assert_error(as_ada.send_message(text_kind).await, Code::InvalidArgument, "kind");
    // Bob cannot send ada's media as his own: the sender is the caller, and his media only.
    let as_bob =
        pb::SendMessageRequest { sender_id: bob.id.clone(), target: Some(Target::RecipientId(ada.id.clone())), ..with(vec![ready.id.clone()]) };
    assert_error(f.as_(&bob).send_message(as_bob).await, Code::NotFound, "attachment_media_ids");
    assert_error(f.as_(&bob).send_message(with(vec![ready.id.clone()])).await, Code::PermissionDenied, "sender_id");

    let sent = as_ada.send_message(with(vec![ready.id.clone()])).await.unwrap().message.unwrap();
    assert_eq!((sent.kind, sent.body.as_str(), sent.sequence), (pb::MessageKind::Media as i32, "", 1));
    let attachment = &sent.attachments[0];
    assert_eq!((attachment.media_id.as_str(), attachment.kind), (ready.id.as_str(), pb::AttachmentKind::Image as i32));
    assert_eq!((attachment.mime_type.as_str(), attachment.size_bytes), (ready.mime_type.as_str(), ready.size_bytes));
    assert_eq!(f.message(&sent.id, &bob).await.unwrap(), sent);

    as_ada.delete_message(pb::DeleteMessageRequest { message_id: sent.id.clone(), requester_id: ada.id.clone() }).await.unwrap();
    assert!(f.message(&sent.id, &bob).await.unwrap().attachments.is_empty(), "a recall removes the attachments");
    assert_eq!(f.stored("SELECT count(*) FROM message_attachments WHERE message_id = $1::uuid", &sent.id).await, 0);
    f.system.stop().await;
}

/// Many concurrent senders: sequence numbers 1..n without gaps or repeats, and unread counts
/// exact for every member; concurrent first messages of one pair make one conversation.
#[tokio::test]
async fn concurrent_senders_get_gapless_sequences_and_exact_unread_counts() {
    let f = fixture().await;
    let owner = f.sign_up("owner").await;
    let mut senders = Vec::new();
    for n in 0..4 {
        senders.push(f.sign_up(&format!("sender{n}")).await);
    }
    let silent = f.sign_up("silent").await;
    let mut invited: Vec<&str> = senders.iter().map(|s| s.id.as_str()).collect();
    invited.push(&silent.id);
    let group = f.group(&owner, &invited).await.unwrap();

    // Below the pool's 10 connections: every send waits on the conversation's row lock, not
    // for a connection.
    const PER_SENDER: i64 = 10;
    let mut tasks = Vec::new();
    for sender in &senders {
        let client = f.system.client(MessagingClient::from_peers).with_token(&sender.token);
        let (sender, conversation) = (sender.clone(), group.id.clone());
        tasks.push(tokio::spawn(async move {
            let mut sequences = Vec::new();
            for n in 0..PER_SENDER {
                let request = pb::SendMessageRequest {
                    sender_id: sender.id.clone(),
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
        assert_eq!(f.unread(&sender, &group.id).await.unwrap().unread_messages, total - last_own, "{} read up to their last message", sender.name);
    }
    assert_eq!(all, (1..=total).collect::<BTreeSet<_>>(), "1..{total} without gaps or repeats");
    assert_eq!(f.unread(&silent, &group.id).await.unwrap().unread_messages, total);
    assert_eq!(f.unread(&owner, "").await.unwrap().unread_messages, total);
    assert_eq!(f.stored("SELECT count(DISTINCT sequence) FROM messages WHERE conversation_id = $1::uuid", &group.id).await, total);

    // Concurrent first messages between one pair, from both sides: one conversation.
    let (ada, bob) = (senders[0].clone(), senders[1].clone());
    let mut tasks = Vec::new();
    for n in 0..8 {
        let (from, to) = if n % 2 == 0 { (&ada, &bob) } else { (&bob, &ada) };
        let client = f.system.client(MessagingClient::from_peers).with_token(&from.token);
        let (from, to) = (from.id.clone(), to.id.clone());
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

/// Refusals of a call whose acting field names `victim`, made by anyone but the victim: nobody
/// signed in (UNAUTHENTICATED, also with the field left empty), another user's token
/// (PERMISSION_DENIED naming the field), a nova service as itself (PERMISSION_DENIED: no
/// service is trusted to act for users here).
async fn refused_to_all_but<R, T, F, Fut>(f: &Fixture, victim: &TestUser, other: &TestUser, field: &str, request: impl Fn(String) -> R, call: F)
where
    F: Fn(MessagingClient, R) -> Fut,
    Fut: Future<Output = Result<T, Status>>,
    T: std::fmt::Debug,
{
    let code = |result: Result<T, Status>| result.map(|_| ()).map_err(|s| s.code()).expect_err(field);
    assert_eq!(code(call(f.messaging.clone(), request(victim.id.clone())).await), Code::Unauthenticated, "{field}: anonymous");
    assert_eq!(code(call(f.messaging.clone(), request(String::new())).await), Code::Unauthenticated, "{field}: anonymous, empty");
    assert_error(call(f.as_(other), request(victim.id.clone())).await, Code::PermissionDenied, field);
    let feed = f.system.service_client("feed", MessagingClient::from_peers);
    assert_eq!(code(call(feed.clone(), request(victim.id.clone())).await), Code::PermissionDenied, "{field}: a service as itself");
    assert_eq!(code(call(feed, request(String::new())).await), Code::PermissionDenied, "{field}: a service as itself, empty");
}

/// `hidden` (a call about `id` by someone who may not see it) must be NOT_FOUND and read as
/// `unknown` (the same call about an id that does not exist) does, word for word but the id.
fn assert_hidden<T: std::fmt::Debug>(hidden: Result<T, Status>, id: &str, unknown: Result<T, Status>) {
    let hidden = hidden.expect_err("a stranger's call should fail");
    let unknown = unknown.expect_err("a call about an unknown id should fail");
    assert_eq!(hidden.code(), Code::NotFound, "{hidden:?}");
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    assert_eq!(hidden.message().replace(id, "ID"), unknown.message().replace(UNKNOWN, "ID"), "a stranger learns nothing");
}

/// The calls and every other RPC: each acts for the caller only (who it acts for is
/// bound to the token), and a user who is not a member of a conversation cannot tell it from
/// one that does not exist. Nothing refused changes anything.
#[tokio::test]
async fn every_call_acts_for_its_caller_only_and_strangers_see_nothing() {
    let f = fixture().await;
    let ada = f.sign_up("ada").await;
    let bob = f.sign_up("bob").await;
    let mallory = f.sign_up("mallory").await;
    let (message, direct) = f.dm(&ada, &bob.id, "secret").await.unwrap();
    f.as_(&bob).add_reaction(pb::AddReactionRequest { message_id: message.id.clone(), user_id: bob.id.clone(), emoji: "👍".into() }).await.unwrap();
    let group = f.group(&ada, &[&bob.id]).await.unwrap();
    let said = f.say(&bob, &group.id, "in the group").await.unwrap();
    let before = f.page(&direct.id, &ada, 0, "").await.unwrap();

    // The issue: mallory reads ada's conversations and messages, and writes as ada.
    let listed = f.as_(&mallory).list_conversations(pb::ListConversationsRequest { user_id: ada.id.clone(), ..Default::default() }).await;
    assert_error(listed, Code::PermissionDenied, "user_id");
    let read = pb::GetMessagesRequest { conversation_id: direct.id.clone(), requester_id: ada.id.clone(), ..Default::default() };
    assert_error(f.as_(&mallory).get_messages(read.clone()).await, Code::PermissionDenied, "requester_id");
    assert_eq!(f.messaging.get_messages(read).await.unwrap_err().code(), Code::Unauthenticated);
    let forged = pb::SendMessageRequest {
        sender_id: ada.id.clone(),
        target: Some(Target::RecipientId(bob.id.clone())),
        body: "from ada?".into(),
        ..Default::default()
    };
    assert_error(f.as_(&mallory).send_message(forged).await, Code::PermissionDenied, "sender_id");
    // Her own list and counts are hers: none of theirs.
    let own = f.as_(&mallory).list_conversations(pb::ListConversationsRequest::default()).await.unwrap();
    assert!(own.conversations.is_empty(), "{own:?}");
    assert_eq!(f.unread(&mallory, "").await.unwrap(), pb::GetUnreadCountResponse::default());

    // Every RPC, its acting field naming ada, made by anyone but ada.
    let (d, m, g, s) = (direct.id.clone(), message.id.clone(), group.id.clone(), said.id.clone());
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "requester_id",
        |id| pb::GetMessagesRequest { conversation_id: d.clone(), requester_id: id, ..Default::default() },
        |c, r| async move { c.get_messages(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "requester_id",
        |id| pb::GetMessageRequest { message_id: m.clone(), requester_id: id },
        |c, r| async move { c.get_message(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "requester_id",
        |id| pb::GetConversationRequest { conversation_id: d.clone(), requester_id: id },
        |c, r| async move { c.get_conversation(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "requester_id",
        |id| pb::GetConversationMembersRequest { conversation_id: g.clone(), requester_id: id, ..Default::default() },
        |c, r| async move { c.get_conversation_members(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "sender_id",
        |id| pb::SendMessageRequest { sender_id: id, target: Some(Target::ConversationId(d.clone())), body: "x".into(), ..Default::default() },
        |c, r| async move { c.send_message(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "editor_id",
        |id| pb::UpdateMessageRequest { message_id: m.clone(), editor_id: id, body: "edited".into(), version: message.version },
        |c, r| async move { c.update_message(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "requester_id",
        |id| pb::ListMessageEditsRequest { message_id: m.clone(), requester_id: id, ..Default::default() },
        |c, r| async move { c.list_message_edits(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "requester_id",
        |id| pb::DeleteMessageRequest { message_id: m.clone(), requester_id: id },
        |c, r| async move { c.delete_message(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "user_id",
        |id| pb::AddReactionRequest { message_id: m.clone(), user_id: id, emoji: "👎".into() },
        |c, r| async move { c.add_reaction(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "user_id",
        |id| pb::RemoveReactionRequest { message_id: m.clone(), user_id: id, emoji: "👍".into() },
        |c, r| async move { c.remove_reaction(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "user_id",
        |id| pb::MarkAsReadRequest { conversation_id: g.clone(), user_id: id, message_id: s.clone() },
        |c, r| async move { c.mark_as_read(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "user_id",
        |id| pb::GetUnreadCountRequest { user_id: id, conversation_id: String::new() },
        |c, r| async move { c.get_unread_count(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "user_id",
        |id| pb::ListConversationsRequest { user_id: id, ..Default::default() },
        |c, r| async move { c.list_conversations(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "creator_id",
        |id| pb::CreateGroupConversationRequest { creator_id: id, title: "t".into(), member_ids: vec![] },
        |c, r| async move { c.create_group_conversation(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "requester_id",
        |id| pb::AddConversationMembersRequest { conversation_id: g.clone(), requester_id: id, user_ids: vec![mallory.id.clone()] },
        |c, r| async move { c.add_conversation_members(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "requester_id",
        |id| pb::RemoveConversationMemberRequest { conversation_id: g.clone(), requester_id: id, user_id: bob.id.clone() },
        |c, r| async move { c.remove_conversation_member(r).await },
    )
    .await;
    refused_to_all_but(
        &f,
        &ada,
        &mallory,
        "requester_id",
        |id| pb::UpdateMemberRoleRequest {
            conversation_id: g.clone(),
            requester_id: id,
            user_id: mallory.id.clone(),
            role: pb::MemberRole::Owner as i32,
        },
        |c, r| async move { c.update_member_role(r).await },
    )
    .await;

    // Mallory as herself, a member of neither: the conversations and their messages do not
    // exist for her, for every kind of call (her acting fields left empty: the caller).
    let me = f.as_(&mallory);
    let get_messages = |id: &str| pb::GetMessagesRequest { conversation_id: id.into(), ..Default::default() };
    assert_hidden(me.get_messages(get_messages(&d)).await, &d, me.get_messages(get_messages(UNKNOWN)).await);
    let get_message = |id: &str| pb::GetMessageRequest { message_id: id.into(), ..Default::default() };
    assert_hidden(me.get_message(get_message(&m)).await, &m, me.get_message(get_message(UNKNOWN)).await);
    let get_conversation = |id: &str| pb::GetConversationRequest { conversation_id: id.into(), ..Default::default() };
    assert_hidden(me.get_conversation(get_conversation(&g)).await, &g, me.get_conversation(get_conversation(UNKNOWN)).await);
    let get_members = |id: &str| pb::GetConversationMembersRequest { conversation_id: id.into(), ..Default::default() };
    assert_hidden(me.get_conversation_members(get_members(&d)).await, &d, me.get_conversation_members(get_members(UNKNOWN)).await);
    let say = |id: &str| pb::SendMessageRequest { target: Some(Target::ConversationId(id.into())), body: "hi".into(), ..Default::default() };
    assert_hidden(me.send_message(say(&d)).await, &d, me.send_message(say(UNKNOWN)).await);
    let edit = |id: &str| pb::UpdateMessageRequest { message_id: id.into(), body: "edited".into(), version: message.version, ..Default::default() };
    assert_hidden(me.update_message(edit(&m)).await, &m, me.update_message(edit(UNKNOWN)).await);
    let edits = |id: &str| pb::ListMessageEditsRequest { message_id: id.into(), ..Default::default() };
    assert_hidden(me.list_message_edits(edits(&m)).await, &m, me.list_message_edits(edits(UNKNOWN)).await);
    let delete = |id: &str| pb::DeleteMessageRequest { message_id: id.into(), ..Default::default() };
    assert_hidden(me.delete_message(delete(&s)).await, &s, me.delete_message(delete(UNKNOWN)).await);
    let react = |id: &str| pb::AddReactionRequest { message_id: id.into(), emoji: "👎".into(), ..Default::default() };
    assert_hidden(me.add_reaction(react(&m)).await, &m, me.add_reaction(react(UNKNOWN)).await);
    let unreact = |id: &str| pb::RemoveReactionRequest { message_id: id.into(), emoji: "👍".into(), ..Default::default() };
    assert_hidden(me.remove_reaction(unreact(&m)).await, &m, me.remove_reaction(unreact(UNKNOWN)).await);
    let mark = |id: &str| pb::MarkAsReadRequest { conversation_id: id.into(), message_id: s.clone(), ..Default::default() };
    assert_hidden(me.mark_as_read(mark(&g)).await, &g, me.mark_as_read(mark(UNKNOWN)).await);
    let unread = |id: &str| pb::GetUnreadCountRequest { conversation_id: id.into(), ..Default::default() };
    assert_hidden(me.get_unread_count(unread(&d)).await, &d, me.get_unread_count(unread(UNKNOWN)).await);
    // Managing members: not even the kind of the conversation shows (a direct one used to
    // answer FAILED_PRECONDITION), nor whether she may.
    let add = |id: &str| pb::AddConversationMembersRequest { conversation_id: id.into(), user_ids: vec![mallory.id.clone()], ..Default::default() };
    assert_hidden(me.add_conversation_members(add(&d)).await, &d, me.add_conversation_members(add(UNKNOWN)).await);
    assert_hidden(me.add_conversation_members(add(&g)).await, &g, me.add_conversation_members(add(UNKNOWN)).await);
    let remove = |id: &str| pb::RemoveConversationMemberRequest { conversation_id: id.into(), user_id: bob.id.clone(), ..Default::default() };
    assert_hidden(me.remove_conversation_member(remove(&g)).await, &g, me.remove_conversation_member(remove(UNKNOWN)).await);
    assert_hidden(me.remove_conversation_member(remove(&d)).await, &d, me.remove_conversation_member(remove(UNKNOWN)).await);
    let role = |id: &str| pb::UpdateMemberRoleRequest {
        conversation_id: id.into(),
        user_id: bob.id.clone(),
        role: pb::MemberRole::Admin as i32,
        ..Default::default()
    };
    assert_hidden(me.update_member_role(role(&g)).await, &g, me.update_member_role(role(UNKNOWN)).await);
    assert_hidden(me.update_member_role(role(&d)).await, &d, me.update_member_role(role(UNKNOWN)).await);
    // Leaving what she is not in: nothing to leave, the same answer as for no conversation.
    let leave = |id: &str| pb::RemoveConversationMemberRequest { conversation_id: id.into(), user_id: mallory.id.clone(), ..Default::default() };
    assert_eq!(me.remove_conversation_member(leave(&g)).await.unwrap(), me.remove_conversation_member(leave(UNKNOWN)).await.unwrap());
    assert_eq!(me.remove_conversation_member(leave(&g)).await.unwrap().member_count, 0);

    // Nothing refused changed anything.
    assert_eq!(f.page(&direct.id, &ada, 0, "").await.unwrap(), before);
    let roles = f.members(&group.id, &ada).await.into_iter().map(|m| (m.user_id, m.role)).collect::<BTreeSet<_>>();
    assert_eq!(roles, BTreeSet::from([(ada.id.clone(), pb::MemberRole::Owner as i32), (bob.id.clone(), pb::MemberRole::Member as i32)]));
    assert!(!f.message(&said.id, &bob).await.unwrap().body.is_empty(), "not recalled");
    assert_eq!(f.unread(&ada, &group.id).await.unwrap().unread_messages, 1, "ada's read position did not move");
    assert_eq!(f.stored("SELECT count(*) FROM conversations WHERE $1 <> ''", "x").await, 2);
    assert_eq!(f.stored("SELECT count(*) FROM message_reactions WHERE user_id = $1::uuid", &mallory.id).await, 0);
    assert_eq!(f.stored("SELECT count(*) FROM conversation_members WHERE user_id = $1::uuid", &mallory.id).await, 0);
    f.system.stop().await;
}
