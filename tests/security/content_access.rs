//! Who may see and do what in content, end to end: every read answers for its caller (the
//! user whose token it carries, in person or through feed; nobody signed in is the anonymous
//! audience, which sees public posts only), never for a request field; only feed calling as
//! itself is trusted with every live post it asks for; writes act for the caller, and only
//! authors (and, for deletions, moderators) change what is theirs. Each test calls as the
//! author, a follower, a stranger, a blocked user, nobody, and services, refusals included.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use crate::content_harness::{Content, assert_error, code, ids, unknown};
use nova_content::ContentClient;
use nova_content::pb;
use nova_tests::TestUser;
use tonic::Code;

/// Ada's three posts, one of each visibility, with a like, a share and a comment with a reply
/// on each (by ada herself, so that any viewer who sees the post sees them).
struct Posts {
    public: pb::Post,
    followers: pb::Post,
    private: pb::Post,
    /// The top-level comment on each post, in the order above.
    comments: Vec<pb::Comment>,
}

impl Posts {
    async fn of(t: &Content, ada: &TestUser) -> Posts {
        let as_ada = t.as_user(ada);
        let public = t.post(ada, "public").await;
        let followers = t.post_with(ada, "followers", pb::PostVisibility::Followers).await;
        let private = t.post_with(ada, "private", pb::PostVisibility::Private).await;
        let mut comments = Vec::new();
        for post in [&public, &followers, &private] {
            as_ada.like_post(pb::LikePostRequest { post_id: post.id.clone(), user_id: ada.id.clone() }).await.unwrap();
            as_ada.share_post(pb::SharePostRequest { post_id: post.id.clone(), user_id: ada.id.clone(), quote: String::new() }).await.unwrap();
            let comment = |parent: &str| pb::CreateCommentRequest {
                post_id: post.id.clone(),
                author_id: ada.id.clone(),
                body: "c".into(),
                parent_comment_id: parent.into(),
            };
            let top = as_ada.create_comment(comment("")).await.unwrap().comment.unwrap();
            as_ada.create_comment(comment(&top.id)).await.unwrap();
            comments.push(top);
        }
        Posts { public, followers, private, comments }
    }

    /// (post, its top-level comment), public first.
    fn each(&self) -> [(&pb::Post, &pb::Comment); 3] {
        [(&self.public, &self.comments[0]), (&self.followers, &self.comments[1]), (&self.private, &self.comments[2])]
    }
}

/// Every read of one post through `client`, asserting it is shown (`true`) or answered as
/// if the post did not exist (`false`), naming `who` on failure.
async fn assert_reads(client: &ContentClient, post: &pb::Post, comment: &pb::Comment, shown: bool, who: &str) {
    let what = format!("{who} reading the {} post", post.body);
    let id = post.id.clone();
    let get = client.get_post(pb::GetPostRequest { post_id: id.clone(), viewer_id: String::new() }).await;
    let exists = client.check_post_exists(pb::CheckPostExistsRequest { post_id: id.clone() }).await.unwrap().exists;
    let batch = client.get_posts_by_ids(pb::GetPostsByIdsRequest { post_ids: vec![id.clone()] }).await.unwrap();
    let comments = client
        .list_comments(pb::ListCommentsRequest { post_id: id.clone(), page_size: 0, page_token: String::new(), viewer_id: String::new() })
        .await;
    let replies =
        client.list_comment_replies(pb::ListCommentRepliesRequest { comment_id: comment.id.clone(), page_size: 0, page_token: String::new() }).await;
    let likes = client.list_post_likes(pb::ListPostLikesRequest { post_id: id.clone(), page_size: 0, page_token: String::new() }).await;
    let shares = client.list_post_shares(pb::ListPostSharesRequest { post_id: id.clone(), page_size: 0, page_token: String::new() }).await;
    if shown {
        assert_eq!(get.unwrap().post.unwrap().id, id, "{what}: GetPost");
        assert!(exists, "{what}: CheckPostExists");
        assert_eq!((ids(&batch.posts), batch.missing_post_ids.len()), (vec![id.as_str()], 0), "{what}: GetPostsByIds");
        assert_eq!(comments.unwrap().comments.len(), 1, "{what}: ListComments");
        assert_eq!(replies.unwrap().comments.len(), 1, "{what}: ListCommentReplies");
        assert_eq!(likes.unwrap().likes.len(), 1, "{what}: ListPostLikes");
        assert_eq!(shares.unwrap().shares.len(), 1, "{what}: ListPostShares");
    } else {
        assert_error(get, Code::NotFound, "post_id");
        assert!(!exists, "{what}: CheckPostExists must not reveal it");
        assert_eq!((batch.posts.len(), batch.missing_post_ids), (0, vec![id.clone()]), "{what}: GetPostsByIds");
        assert_error(comments, Code::NotFound, "post_id");
        assert_error(replies, Code::NotFound, "comment_id");
        assert_error(likes, Code::NotFound, "post_id");
        assert_error(shares, Code::NotFound, "post_id");
    }
}

/// GetPostsByAuthor of `author` through `client` (the viewer left to the server).
async fn by_author(client: &ContentClient, author: &TestUser) -> Result<pb::GetPostsByAuthorResponse, tonic::Status> {
    client
        .get_posts_by_author(pb::GetPostsByAuthorRequest {
            author_id: author.id.clone(),
            visibilities: vec![],
            page_size: 0,
            page_token: String::new(),
            viewer_id: String::new(),
        })
        .await
}

#[tokio::test]
async fn nobody_signed_in_sees_public_posts_only() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let posts = Posts::of(&t, &ada).await;
    // The edge with no token, and a service calling as itself that the reads do not trust:
    // both are the anonymous audience, whatever `viewer_id` they leave empty.
    for (client, who) in [(&t.content, "nobody"), (&t.as_service("media"), "media as itself")] {
        for ((post, comment), shown) in posts.each().into_iter().zip([true, false, false]) {
            assert_reads(client, post, comment, shown, who).await;
        }
        assert_eq!(ids(&by_author(client, &ada).await.unwrap().posts), [posts.public.id.as_str()], "{who}");
    }
    // Naming a viewer takes that viewer's token.
    let as_ada = pb::GetPostRequest { post_id: posts.private.id.clone(), viewer_id: ada.id.clone() };
    assert_error(t.content.get_post(as_ada.clone()).await, Code::Unauthenticated, "viewer_id");
    let bob = t.user("bob").await;
    assert_error(t.as_user(&bob).get_post(as_ada).await, Code::PermissionDenied, "viewer_id");
    let list_as_ada = pb::GetPostsByAuthorRequest {
        author_id: ada.id.clone(),
        visibilities: vec![],
        page_size: 0,
        page_token: String::new(),
        viewer_id: ada.id.clone(),
    };
    assert_error(t.content.get_posts_by_author(list_as_ada.clone()).await, Code::Unauthenticated, "viewer_id");
    assert_error(t.as_user(&bob).get_posts_by_author(list_as_ada).await, Code::PermissionDenied, "viewer_id");
    let comments_as_ada =
        pb::ListCommentsRequest { post_id: posts.private.id.clone(), page_size: 0, page_token: String::new(), viewer_id: ada.id.clone() };
    assert_error(t.content.list_comments(comments_as_ada).await, Code::Unauthenticated, "viewer_id");
    // Nobody signed in cannot read a feed.
    let feed = pb::GetFeedPostsRequest { author_ids: vec![ada.id.clone()], page_size: 0, page_token: String::new() };
    assert_eq!(code(t.content.get_feed_posts(feed).await), Code::Unauthenticated);
    t.stop().await;
}

#[tokio::test]
async fn every_read_answers_for_the_signed_in_caller() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let fan = t.user("fan").await;
    let stranger = t.user("stranger").await;
    let blocked = t.user("blocked").await;
    let blocker = t.user("blocker").await;
    let posts = Posts::of(&t, &ada).await;
    t.follow(&fan, &ada).await;
    // Following does not get past a block, either way.
    t.follow(&blocked, &ada).await;
    t.block(&ada, &blocked).await;
    t.follow(&blocker, &ada).await;
    t.block(&blocker, &ada).await;

    let as_feed_for = |user: &TestUser| t.as_service("feed").with_token(&user.token);
    let cases = [
        (&ada, [true, true, true], "the author"),
        (&fan, [true, true, false], "a follower"),
        (&stranger, [true, false, false], "a stranger"),
        (&blocked, [false, false, false], "a user the author blocked"),
        (&blocker, [false, false, false], "a user who blocked the author"),
    ];
    for (user, shown, who) in cases {
        for ((post, comment), shown) in posts.each().into_iter().zip(shown) {
            assert_reads(&t.as_user(user), post, comment, shown, who).await;
            // Through feed, serving the user: the same answers (never feed's trust).
            let batch = as_feed_for(user).get_posts_by_ids(pb::GetPostsByIdsRequest { post_ids: vec![post.id.clone()] }).await.unwrap();
            assert_eq!(batch.posts.len(), usize::from(shown), "{who} through feed, the {} post", post.body);
        }
    }
    let listed = |response: pb::GetPostsByAuthorResponse| response.posts.iter().map(|p| p.body.clone()).collect::<Vec<_>>();
    assert_eq!(listed(by_author(&t.as_user(&ada), &ada).await.unwrap()), ["private", "followers", "public"]);
    assert_eq!(listed(by_author(&t.as_user(&fan), &ada).await.unwrap()), ["followers", "public"]);
    assert_eq!(listed(by_author(&t.as_user(&stranger), &ada).await.unwrap()), ["public"]);
    assert_error(by_author(&t.as_user(&blocked), &ada).await, Code::NotFound, "author_id");
    assert_error(by_author(&t.as_user(&blocker), &ada).await, Code::NotFound, "author_id");

    // Feed as itself is trusted with every live post it names; no other service is.
    let all = vec![posts.public.id.clone(), posts.followers.id.clone(), posts.private.id.clone()];
    let trusted = t.as_service("feed").get_posts_by_ids(pb::GetPostsByIdsRequest { post_ids: all.clone() }).await.unwrap();
    assert_eq!(trusted.posts.len(), 3);
    let untrusted = t.as_service("search").get_posts_by_ids(pb::GetPostsByIdsRequest { post_ids: all }).await.unwrap();
    assert_eq!(ids(&untrusted.posts), [posts.public.id.as_str()]);
    t.stop().await;
}

#[tokio::test]
async fn feed_posts_are_what_the_caller_may_see_page_after_page() {
    let t = Content::start().await;
    let vic = t.user("vic").await;
    let ada = t.user("ada").await; // vic follows her
    let bea = t.user("bea").await; // vic does not follow her
    let cal = t.user("cal").await; // vic follows him, and he blocks vic
    t.follow(&vic, &ada).await;
    t.follow(&vic, &cal).await;
    t.block(&cal, &vic).await;
    // Interleaved, newest last; bea's run of followers-only posts spans several pages.
    use pb::PostVisibility::{Followers, Private, Public};
    let plan = [
        (&ada, Public),
        (&bea, Public),
        (&cal, Public),
        (&bea, Followers),
        (&bea, Followers),
        (&bea, Followers),
        (&bea, Followers),
        (&bea, Followers),
        (&ada, Followers),
        (&ada, Private),
        (&cal, Followers),
        (&bea, Public),
        (&vic, Followers),
        (&vic, Private),
    ];
    let mut created = Vec::new();
    for (n, (author, visibility)) in plan.iter().enumerate() {
        created.push(t.post_with(author, &format!("post {n}"), *visibility).await);
    }
    created.reverse(); // newest first, as feeds list
    let expected = |shown: &dyn Fn(&pb::Post) -> bool| created.iter().filter(|p| shown(p)).map(|p| p.body.clone()).collect::<Vec<_>>();
    let is = |post: &pb::Post, author: &TestUser, visibilities: &[pb::PostVisibility]| {
        post.author_id == author.id && visibilities.iter().any(|v| *v as i32 == post.visibility)
    };
    let authors = vec![ada.id.clone(), bea.id.clone(), cal.id.clone(), vic.id.clone()];
    let read_all = |client: ContentClient| {
        let authors = authors.clone();
        async move {
            let (mut bodies, mut token) = (Vec::new(), String::new());
            loop {
                let page =
                    client.get_feed_posts(pb::GetFeedPostsRequest { author_ids: authors.clone(), page_size: 2, page_token: token }).await.unwrap();
                assert!(page.posts.len() <= 2);
                bodies.extend(page.posts.into_iter().map(|p| p.body));
                if page.next_page_token.is_empty() {
                    return bodies;
                }
                token = page.next_page_token;
            }
        }
    };
    // Vic: ada's public and followers-only posts, bea's public ones, nothing of cal, his own
    // public and followers-only ones; never a private post.
    let for_vic = expected(&|p| is(p, &ada, &[Public, Followers]) || is(p, &bea, &[Public]) || is(p, &vic, &[Public, Followers]));
    assert_eq!(read_all(t.as_user(&vic)).await, for_vic, "vic in person");
    assert_eq!(read_all(t.as_service("feed").with_token(&vic.token)).await, for_vic, "feed serving vic");
    // Feed as itself: every public and followers-only post of the authors it names.
    let for_feed = expected(&|p| p.visibility != Private as i32);
    assert_eq!(read_all(t.as_service("feed")).await, for_feed);
    // Nobody else calls as itself.
    let feed = pb::GetFeedPostsRequest { author_ids: authors.clone(), page_size: 0, page_token: String::new() };
    assert_eq!(code(t.as_service("search").get_feed_posts(feed).await), Code::PermissionDenied);
    t.stop().await;
}

#[tokio::test]
async fn bookmarks_and_likes_take_only_posts_the_user_may_see() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let as_bob = t.as_user(&bob);
    let posts = Posts::of(&t, &ada).await;
    let save = |post: &pb::Post| pb::BookmarkPostRequest { user_id: bob.id.clone(), post_id: post.id.clone(), collection_id: String::new() };
    let like = |post: &pb::Post| pb::LikePostRequest { post_id: post.id.clone(), user_id: bob.id.clone() };
    let unlike = |post: &pb::Post| pb::UnlikePostRequest { post_id: post.id.clone(), user_id: bob.id.clone() };
    // Not a follower: the followers-only and private posts are not there to save or like.
    for post in [&posts.followers, &posts.private] {
        assert_error(as_bob.bookmark_post(save(post)).await, Code::NotFound, "post_id");
        assert_error(as_bob.like_post(like(post)).await, Code::NotFound, "post_id");
        assert_error(as_bob.unlike_post(unlike(post)).await, Code::NotFound, "post_id");
    }
    assert_eq!(t.count("SELECT count(*) FROM bookmarks WHERE user_id = $1", &bob.id).await, 0);
    assert_eq!(t.count("SELECT count(*) FROM likes WHERE user_id = $1", &bob.id).await, 0);
    assert_eq!(t.count("SELECT like_count FROM posts WHERE id = $1", &posts.followers.id).await, 1, "ada's own like only");
    // Another user's token cannot save for bob.
    assert_error(t.as_user(&ada).bookmark_post(save(&posts.public)).await, Code::PermissionDenied, "user_id");

    t.follow(&bob, &ada).await;
    for post in [&posts.public, &posts.followers] {
        assert_eq!(as_bob.bookmark_post(save(post)).await.unwrap().bookmark.unwrap().post.unwrap().id, post.id);
        assert_eq!(as_bob.like_post(like(post)).await.unwrap().like_count, 2);
    }
    let list = pb::ListBookmarksRequest { user_id: bob.id.clone(), collection_id: String::new(), page_size: 0, page_token: String::new() };
    let saved = |response: pb::ListBookmarksResponse| response.bookmarks.into_iter().map(|b| b.post.unwrap().body).collect::<Vec<_>>();
    assert_eq!(saved(as_bob.list_bookmarks(list.clone()).await.unwrap()), ["followers", "public"]);

    // The author makes one private: it leaves bob's bookmarks (still saved, not shown).
    let update = pb::UpdatePostRequest {
        post_id: posts.followers.id.clone(),
        requester_id: ada.id.clone(),
        body: "followers".into(),
        visibility: pb::PostVisibility::Private as i32,
        version: t.get(&ada, &posts.followers.id).await.unwrap().version,
    };
    t.as_user(&ada).update_post(update).await.unwrap();
    assert_eq!(saved(as_bob.list_bookmarks(list.clone()).await.unwrap()), ["public"]);
    // She blocks him: none of her posts is shown, saved or liked any more.
    t.block(&ada, &bob).await;
    assert!(as_bob.list_bookmarks(list).await.unwrap().bookmarks.is_empty());
    assert_error(as_bob.bookmark_post(save(&posts.public)).await, Code::NotFound, "post_id");
    assert_error(as_bob.like_post(like(&posts.public)).await, Code::NotFound, "post_id");
    assert_eq!(t.count("SELECT count(*) FROM bookmarks WHERE user_id = $1", &bob.id).await, 2, "saved rows stay, hidden");
    t.stop().await;
}

#[tokio::test]
async fn only_authors_edit_and_only_authors_and_moderators_delete() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let troll = t.user("troll").await;
    let moderator = t.user("moderator").await;
    let (as_bob, as_troll, as_moderator) = (t.as_user(&bob), t.as_user(&troll), t.as_user(&moderator));
    let public = t.post(&ada, "questionable").await;
    let private = t.post_with(&ada, "diary", pb::PostVisibility::Private).await;
    let bobs_comment = as_bob
        .create_comment(pb::CreateCommentRequest {
            post_id: public.id.clone(),
            author_id: bob.id.clone(),
            body: "hm".into(),
            parent_comment_id: String::new(),
        })
        .await
        .unwrap()
        .comment
        .unwrap();
    let delete = |post: &pb::Post, requester: &TestUser| pb::DeletePostRequest { post_id: post.id.clone(), requester_id: requester.id.clone() };
    let update = |post: &pb::Post, requester: &TestUser| pb::UpdatePostRequest {
        post_id: post.id.clone(),
        requester_id: requester.id.clone(),
        body: "defaced".into(),
        visibility: 0,
        version: post.version,
    };
    let delete_comment = |requester: &TestUser| pb::DeleteCommentRequest { comment_id: bobs_comment.id.clone(), requester_id: requester.id.clone() };

    // Someone else who sees the post: refused. A post they may not see: not found. Acting as
    // the author with another's token, or with none, or as a service: refused before anything.
    assert_error(as_troll.delete_post(delete(&public, &troll)).await, Code::PermissionDenied, "requester_id");
    assert_error(as_troll.delete_post(delete(&private, &troll)).await, Code::NotFound, "post_id");
    assert_error(as_troll.delete_post(delete(&public, &ada)).await, Code::PermissionDenied, "requester_id");
    assert_eq!(code(t.content.delete_post(delete(&public, &ada)).await), Code::Unauthenticated);
    assert_eq!(code(t.as_service("feed").delete_post(delete(&public, &ada)).await), Code::PermissionDenied);
    assert_error(as_troll.update_post(update(&public, &troll)).await, Code::PermissionDenied, "requester_id");
    assert_error(as_troll.update_post(update(&private, &troll)).await, Code::NotFound, "post_id");
    assert_error(as_troll.update_post(update(&public, &ada)).await, Code::PermissionDenied, "requester_id");
    assert_error(as_troll.delete_comment(delete_comment(&troll)).await, Code::PermissionDenied, "requester_id");
    assert_error(as_troll.delete_comment(delete_comment(&bob)).await, Code::PermissionDenied, "requester_id");
    assert_eq!(t.get(&ada, &public.id).await.unwrap().body, "questionable", "nothing changed");
    assert_eq!(t.get(&ada, &public.id).await.unwrap().comment_count, 1);
    assert!(t.get(&ada, &private.id).await.is_ok());

    // content.moderate (granted before the moderator's first call: CheckPermission answers are
    // cached a minute): any post or comment may go, none may be edited.
    t.grant(&moderator, "content.moderate").await;
    assert!(as_moderator.delete_comment(delete_comment(&moderator)).await.unwrap().deleted_at.is_some());
    assert!(as_moderator.delete_post(delete(&private, &moderator)).await.unwrap().deleted_at.is_some());
    assert_error(as_moderator.update_post(update(&public, &moderator)).await, Code::PermissionDenied, "requester_id");
    assert_eq!(t.get(&ada, &public.id).await.unwrap().comment_count, 0, "the comment is gone");
    assert_error(t.get(&ada, &private.id).await, Code::NotFound, "post_id");
    assert!(as_moderator.delete_post(delete(&public, &moderator)).await.unwrap().deleted_at.is_some());
    assert_error(t.get(&ada, &public.id).await, Code::NotFound, "post_id");
    t.stop().await;
}

#[tokio::test]
async fn stories_are_for_signed_in_viewers_and_their_viewers_for_the_author() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let eve = t.user("eve").await;
    let (as_ada, as_bob, as_eve) = (t.as_user(&ada), t.as_user(&bob), t.as_user(&eve));
    let media = t.media(&ada, true).await;
    let story = pb::CreateStoryRequest { author_id: ada.id.clone(), media_id: media, caption: "sunset".into(), expires_at: None };
    let story = as_ada.create_story(story).await.unwrap().story.unwrap();
    t.block(&ada, &eve).await;
    let get = |viewer: &str| pb::GetStoryRequest { story_id: story.id.clone(), viewer_id: viewer.into() };
    let list =
        |viewer: &str| pb::ListActiveStoriesRequest { author_id: ada.id.clone(), page_size: 0, page_token: String::new(), viewer_id: viewer.into() };
    let view = |viewer: &str| pb::ViewStoryRequest { story_id: story.id.clone(), viewer_id: viewer.into() };
    let viewers = |requester: &str| pb::ListStoryViewersRequest {
        story_id: story.id.clone(),
        requester_id: requester.into(),
        page_size: 0,
        page_token: String::new(),
    };

    // Nobody signed in, and services as themselves, see no story.
    assert_eq!(code(t.content.get_story(get("")).await), Code::Unauthenticated);
    assert_eq!(code(t.content.list_active_stories(list("")).await), Code::Unauthenticated);
    assert_eq!(code(t.content.view_story(view("")).await), Code::Unauthenticated);
    assert_eq!(code(t.content.list_story_viewers(viewers("")).await), Code::Unauthenticated);
    assert_eq!(code(t.as_service("feed").get_story(get("")).await), Code::PermissionDenied);
    assert_eq!(code(t.as_service("feed").list_active_stories(list("")).await), Code::PermissionDenied);

    // A signed-in user sees and views it as themselves only.
    assert_eq!(as_bob.get_story(get("")).await.unwrap().story.unwrap().id, story.id);
    assert_eq!(as_bob.list_active_stories(list("")).await.unwrap().stories.len(), 1);
    assert_error(as_bob.get_story(get(&ada.id)).await, Code::PermissionDenied, "viewer_id");
    assert_error(as_bob.view_story(view(&eve.id)).await, Code::PermissionDenied, "viewer_id");
    assert_eq!(as_bob.view_story(view(&bob.id)).await.unwrap().view_count, 1);

    // The viewers are the author's: another user who sees the story is refused, even naming
    // the author; a user the story is hidden from does not learn it exists.
    assert_error(as_bob.list_story_viewers(viewers(&bob.id)).await, Code::PermissionDenied, "requester_id");
    assert_error(as_bob.list_story_viewers(viewers(&ada.id)).await, Code::PermissionDenied, "requester_id");
    assert_error(as_eve.get_story(get("")).await, Code::NotFound, "story_id");
    assert_error(as_eve.view_story(view("")).await, Code::NotFound, "story_id");
    assert_error(as_eve.list_active_stories(list("")).await, Code::NotFound, "author_id");
    assert_error(as_eve.list_story_viewers(viewers(&eve.id)).await, Code::NotFound, "story_id");
    let delete = |requester: &TestUser| pb::DeleteStoryRequest { story_id: story.id.clone(), requester_id: requester.id.clone() };
    assert_error(as_eve.delete_story(delete(&eve)).await, Code::NotFound, "story_id");
    assert_error(as_bob.delete_story(delete(&bob)).await, Code::PermissionDenied, "requester_id");
    let seen = as_ada.list_story_viewers(viewers("")).await.unwrap();
    assert_eq!(seen.viewers.iter().map(|v| v.viewer_id.as_str()).collect::<Vec<_>>(), [bob.id.as_str()], "eve's view was not recorded");
    assert_eq!(t.count("SELECT view_count FROM stories WHERE id = $1", &story.id).await, 1);
    assert_error(as_ada.list_story_viewers(viewers(&unknown())).await, Code::PermissionDenied, "requester_id");
    t.stop().await;
}
