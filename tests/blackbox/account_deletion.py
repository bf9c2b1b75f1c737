"""Black-box check of an account deletion on a running, seeded nova (`nova-gen dev --seed`),
through the public RPCs only, with Python grpcio (message types over reflection, as in
security.py): a seeded account with posts, follows and a profile is deleted with DeleteUser,
then, once the other services have followed auth's `users.deleted` event, nothing of it shows:

  - user: GetUserProfile is NOT_FOUND; the users it followed and its followers no longer list it;
  - content: GetPostsByAuthor lists nothing, each of its posts is NOT_FOUND;
  - search: SearchUsers does not find it by username, SearchPosts finds none of its posts;
  - auth: its token no longer verifies, and logging in again fails.

Usage: account_deletion.py <repo root> <email> <password>   (the account the seed printed)
Exit 1, listing every trace left, when any remains after the wait.
"""

import sys
import time

import grpc
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from security import Nova

# A safety net for the whole system to follow one event (it takes well under a second here).
PATIENCE = 60.0


RESPONSES = {}


def response_type(nova, rpc):
    """The response class of `rpc`, from its method's descriptor learnt over reflection."""
    key = (rpc["service"], rpc["rpc"])
    if key not in RESPONSES:
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(nova.channel(rpc["service"])))
        method = pool.FindServiceByName(rpc["proto_service"]).FindMethodByName(rpc["rpc"])
        RESPONSES[key] = message_factory.GetMessageClass(method.output_type)
    return RESPONSES[key]


def answer(nova, service, name, token=None, **fields):
    """(code, response message or None) of `service.name(fields)` as the edge."""
    rpc, request = nova.request(service, name, **fields)
    cls = response_type(nova, rpc)
    method = nova.channel(service).unary_unary(
        f"/{rpc['proto_service']}/{rpc['rpc']}", request_serializer=type(request).SerializeToString, response_deserializer=cls.FromString
    )
    metadata = [("authorization", f"Bearer {token}")] if token else []
    try:
        return grpc.StatusCode.OK, method(request, timeout=10.0, metadata=metadata)
    except grpc.RpcError as error:
        return error.code(), None


def ok(nova, service, name, token=None, **fields):
    code, response = answer(nova, service, name, token, **fields)
    if code != grpc.StatusCode.OK:
        raise SystemExit(f"{service}.{name} failed before the deletion: {code}")
    return response


def traces(nova, user, username, posts, followees, followers, words):
    """What still shows of the deleted user, one line each."""
    left = []
    code, _ = answer(nova, "user", "GetUserProfile", user_id=user)
    if code != grpc.StatusCode.NOT_FOUND:
        left.append(f"user.GetUserProfile answers {code}")
    for other in followees:
        listed = answer(nova, "user", "GetUserFollowers", user_id=other, page_size=100)[1]
        if listed and any(edge.follower_id == user for edge in listed.followers):
            left.append(f"user.GetUserFollowers of {other} still lists the deleted user")
    for other in followers:
        listed = answer(nova, "user", "GetUserFollowing", user_id=other, page_size=100)[1]
        if listed and any(edge.followee_id == user for edge in listed.following):
            left.append(f"user.GetUserFollowing of {other} still lists the deleted user")
    code, authored = answer(nova, "content", "GetPostsByAuthor", author_id=user, page_size=100)
    if authored is not None and authored.posts:
        left.append(f"content.GetPostsByAuthor lists {len(authored.posts)} post(s)")
    for post in posts:
        code, _ = answer(nova, "content", "GetPost", post_id=post)
        if code != grpc.StatusCode.NOT_FOUND:
            left.append(f"content.GetPost {post} answers {code}")
    found = answer(nova, "search", "SearchUsers", query=username, page_size=100)[1]
    if found and any(hit.user_id == user for hit in found.users):
        left.append(f"search.SearchUsers finds {username}")
    for word in words:
        hits = answer(nova, "search", "SearchPosts", query=word, page_size=100)[1]
        if hits and any(hit.author_id == user for hit in hits.posts):
            left.append(f"search.SearchPosts {word!r} finds a post of the deleted user")
    return left


def main():
    root, email, password = sys.argv[1], sys.argv[2], sys.argv[3]
    nova = Nova(root)
    login = ok(nova, "auth", "Login", email=email, password=password, device="account-deletion check")
    user, username, token = login.user.id, login.user.username, login.tokens.access_token

    # What shows of the account before: its profile, posts, follows, search hits.
    ok(nova, "user", "GetUserProfile", user_id=user)
    posts = ok(nova, "content", "GetPostsByAuthor", author_id=user, page_size=100).posts
    followees = [e.followee_id for e in ok(nova, "user", "GetUserFollowing", user_id=user, page_size=100).following]
    followers = [e.follower_id for e in ok(nova, "user", "GetUserFollowers", user_id=user, page_size=100).followers]
    # One distinctive word of each public post (the longest), to look for in search.
    words = sorted({max(p.body.split(), key=len).strip("#.,!?") for p in posts if p.body.split() and p.visibility == 1})
    before = traces(nova, user, username, [], [], [], [])
    print(f"account {username} ({user}): {len(posts)} post(s), follows {len(followees)}, followed by {len(followers)}")
    if not posts and not followees and not followers:
        raise SystemExit("the seeded account has nothing to delete: pick one with posts or follows")
    if not before:
        raise SystemExit("the account shows nothing before its deletion: the check would prove nothing")

    ok(nova, "auth", "DeleteUser", token=token, user_id=user)
    print("deleted with auth.DeleteUser; waiting for every service to follow")
    started = time.monotonic()
    left = traces(nova, user, username, [p.id for p in posts], followees, followers, words)
    while left and time.monotonic() - started < PATIENCE:
        time.sleep(0.2)
        left = traces(nova, user, username, [p.id for p in posts], followees, followers, words)
    took = time.monotonic() - started
    code, _ = answer(nova, "auth", "VerifyToken", access_token=token)
    if code != grpc.StatusCode.UNAUTHENTICATED:
        left.append(f"auth.VerifyToken of the deleted user's token answers {code}")
    code, _ = answer(nova, "auth", "Login", email=email, password=password, device="account-deletion check")
    if code == grpc.StatusCode.OK:
        left.append("auth.Login still signs the deleted user in")
    if left:
        print(f"traces of the deleted account after {took:.1f}s:")
        for line in left:
            print(f"  - {line}")
        sys.exit(1)
    checked = len(posts) + len(followees) + len(followers) + len(words)
    print(f"no trace of {username} through the public RPCs after {took:.2f}s ({checked} posts, follows and search words checked)")


if __name__ == "__main__":
    main()
