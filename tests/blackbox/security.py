"""Black-box security test of a running nova (`nova-gen dev`), driven by a client nobody here
wrote: Python grpcio, with message types learnt over gRPC reflection, and the access policy of
every RPC read from generated/ops/access.json (what the spec declares and the generated
servers must enforce).

For every RPC of every service it makes the calls an attacker would and checks each gets the
declared refusal:
  - no client certificate (plaintext, and TLS without a client certificate): the connection is
    refused (UNAVAILABLE);
  - a client certificate of another CA: refused likewise;
  - no token: user and permission RPCs UNAUTHENTICATED, service RPCs PERMISSION_DENIED, public
    RPCs reach their handler;
  - an expired token and a tampered one: UNAUTHENTICATED, whatever the RPC;
  - another user's token naming the victim in an acting field: PERMISSION_DENIED;
  - an end user's token on a service-only RPC, a user without the permission on a permission
    RPC: PERMISSION_DENIED;
  - a service certificate the RPC's policy does not list, on a service-only RPC:
    PERMISSION_DENIED;
and then the resources one user owns, attacked by another through fields the policy cannot
bind (a post, a stream, a conversation, a media, a session).

Usage: security.py <repo root>   (nova-gen dev must be running; .ci/security starts it with a
short token lifetime, NOVA_AUTH_ACCESS_TOKEN_SECS, so that a token expires during the run)
Exit 1, listing every mismatch, when any call got another answer than declared.
"""

import base64
import json
import os
import sys
import time
import uuid

import grpc
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

TIMEOUT = 10.0
PASSWORD = "black-box correct horse"


class Nova:
    """Channels to every service as the edge, a service, or a stranger, and the request types."""

    def __init__(self, root):
        self.root = root
        self.access = json.load(open(os.path.join(root, "generated/ops/access.json")))
        self.pki = os.path.join(root, ".nova/pki")
        self.ca = self.read("ca.pem")
        self.channels = {}
        self.types = {}
        self.ports = {rpc["service"]: rpc["port"] for rpc in self.access["rpcs"]}

    def read(self, name):
        return open(os.path.join(self.pki, name), "rb").read()

    def channel(self, service, identity="edge"):
        """A channel to `service` presenting `identity`'s certificate (edge, a service name,
        'none' for TLS without a client certificate, 'plaintext', 'stranger')."""
        key = (service, identity)
        if key in self.channels:
            return self.channels[key]
        target = f"127.0.0.1:{self.ports[service]}"
        options = [("grpc.ssl_target_name_override", f"nova-{service}")]
        if identity == "plaintext":
            channel = grpc.insecure_channel(target)
        elif identity == "none":
            channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(self.ca), options)
        elif identity == "stranger":
            cert, key_pem = stranger_certificate()
            channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(self.ca, key_pem, cert), options)
        else:
            credentials = grpc.ssl_channel_credentials(self.ca, self.read(f"{identity}.key"), self.read(f"{identity}.pem"))
            channel = grpc.secure_channel(target, credentials, options)
        self.channels[key] = channel
        return channel

    def message(self, service, full_name):
        """The request class `full_name`, learnt over reflection from `service` as the edge."""
        if full_name not in self.types:
            if full_name == "google.protobuf.Empty":
                from google.protobuf import empty_pb2

                self.types[full_name] = empty_pb2.Empty
            else:
                pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(self.channel(service)))
                self.types[full_name] = message_factory.GetMessageClass(pool.FindMessageTypeByName(full_name))
        return self.types[full_name]

    def call(self, rpc, request=None, token=None, identity="edge", headers=()):
        """(code, details) of calling `rpc` (an entry of access.json)."""
        cls = self.message(rpc["service"], rpc["request"])
        request = request if request is not None else cls()
        method = self.channel(rpc["service"], identity).unary_unary(
            f"/{rpc['proto_service']}/{rpc['rpc']}", request_serializer=cls.SerializeToString, response_deserializer=lambda b: b
        )
        metadata = list(headers)
        if token is not None:
            metadata.append(("authorization", f"Bearer {token}"))
        try:
            method(request, timeout=TIMEOUT, metadata=metadata)
            return grpc.StatusCode.OK, ""
        except grpc.RpcError as error:
            return error.code(), error.details()

    def rpc(self, service, name):
        return next(r for r in self.access["rpcs"] if r["service"] == service and r["rpc"] == name)

    def request(self, service, name, **fields):
        rpc = self.rpc(service, name)
        cls = self.message(service, rpc["request"])
        return rpc, cls(**fields)


def stranger_certificate():
    """A client certificate of a CA nova never heard of, claiming to be the content service
    (made with the `cryptography` package that grpcio's tests use; absent, openssl)."""
    import subprocess
    import tempfile

    directory = tempfile.mkdtemp()
    config = os.path.join(directory, "san.cnf")
    open(config, "w").write("[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName=URI:spiffe://nova.local/svc/content\n")
    run = lambda *args: subprocess.run(args, check=True, capture_output=True, cwd=directory)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
        "-days", "1", "-subj", "/CN=stranger", "-extensions", "ext", "-config", config)
    return open(os.path.join(directory, "cert.pem"), "rb").read(), open(os.path.join(directory, "key.pem"), "rb").read()


class User:
    def __init__(self, nova, name):
        tag = uuid.uuid4().hex[:8]
        self.email = f"bb_{name}_{tag}@example.com"
        auth = "auth"
        register, request = nova.request(auth, "Register", email=self.email, username=f"bb_{name}_{tag}", password=PASSWORD)
        code, details = nova.call(register, request)
        assert code == grpc.StatusCode.OK, f"Register {name}: {code} {details}"
        self.nova = nova
        self.sign_in()

    def sign_in(self):
        login, request = self.nova.request("auth", "Login", email=self.email, password=PASSWORD, device="black-box")
        cls = self.nova.message("auth", "nova.auth.v1.LoginResponse")
        method = self.nova.channel("auth").unary_unary("/nova.auth.v1.AuthService/Login", request_serializer=type(request).SerializeToString, response_deserializer=cls.FromString)
        response = method(request, timeout=TIMEOUT)
        self.id = response.user.id
        self.token = response.tokens.access_token
        self.expires = claims(self.token)["exp"]

    def fresh_token(self):
        """A token with at least a few seconds left (the run uses short-lived tokens)."""
        if self.expires - time.time() < 5:
            self.sign_in()
        return self.token


# RPCs that, called with a user's own token and an empty request, end that token's session.
SIGNS_OUT = {"auth.Logout"}


def claims(token):
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def tampered(token):
    header, body, signature = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged["sub"] = str(uuid.uuid4())
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    return f"{header}.{body}.{signature}"


def set_field(message, path, value):
    *through, last = path.split(".")
    for name in through:
        message = getattr(message, name)
    setattr(message, last, value)


class Checks:
    def __init__(self):
        self.failures = []
        self.count = 0

    def expect(self, what, got, wanted):
        self.count += 1
        code, details = got
        allowed = wanted if isinstance(wanted, (list, tuple, set)) else [wanted]
        if code not in allowed:
            self.failures.append(f"{what}: {code.name} ({details!r}), expected {' or '.join(c.name for c in allowed)}")

    def refuse_not(self, what, got, refusals):
        self.count += 1
        if got[0] in refusals:
            self.failures.append(f"{what}: refused with {got[0].name} ({got[1]!r}) although the policy admits it")


def main(root):
    nova = Nova(root)
    checks = Checks()
    victim, attacker = User(nova, "victim"), User(nova, "attacker")
    # A token that will have expired by the time it is used (the run's tokens live seconds).
    doomed = User(nova, "doomed")
    expired_token = doomed.token
    refusals = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
    services = sorted({rpc["service"] for rpc in nova.access["rpcs"]})

    # The transport: no client certificate, a stranger's: nothing reaches any RPC.
    for rpc in nova.access["rpcs"]:
        name = f"{rpc['service']}.{rpc['rpc']}"
        for identity in ("plaintext", "none", "stranger"):
            checks.expect(f"{name} with {identity} transport", nova.call(rpc, identity=identity), grpc.StatusCode.UNAVAILABLE)

    for rpc in nova.access["rpcs"]:
        name = f"{rpc['service']}.{rpc['rpc']}"
        access = rpc["access"]
        # No token, as the edge.
        anonymous = nova.call(rpc)
        if access in ("user", "permission"):
            checks.expect(f"{name} without a token", anonymous, grpc.StatusCode.UNAUTHENTICATED)
        elif access == "service":
            checks.expect(f"{name} without a token", anonymous, grpc.StatusCode.PERMISSION_DENIED)
        else:
            checks.refuse_not(f"{name} (public) without a token", anonymous, {grpc.StatusCode.UNAUTHENTICATED})
        # A tampered token and an expired one: refused whatever the RPC.
        checks.expect(f"{name} with a tampered token", nova.call(rpc, token=tampered(attacker.fresh_token())), grpc.StatusCode.UNAUTHENTICATED)
        while time.time() < claims(expired_token)["exp"] + 1:
            time.sleep(0.5)
        checks.expect(f"{name} with an expired token", nova.call(rpc, token=expired_token), grpc.StatusCode.UNAUTHENTICATED)
        # Another user's token naming the victim as the acting user.
        if rpc["acting"]:
            request = nova.message(rpc["service"], rpc["request"])()
            for field in rpc["acting"]:
                set_field(request, field, victim.id)
            checks.expect(f"{name} acting as the victim with another user's token", nova.call(rpc, request, token=attacker.fresh_token()), grpc.StatusCode.PERMISSION_DENIED)
            # And without any token, naming the victim: not signed in, refused.
            checks.expect(f"{name} naming the victim without a token", nova.call(rpc, request), (grpc.StatusCode.UNAUTHENTICATED,))
        # An end user on a service-only RPC; a user without the permission.
        if access == "service":
            checks.expect(f"{name} with a user's token", nova.call(rpc, token=attacker.fresh_token()), grpc.StatusCode.PERMISSION_DENIED)
            outsiders = [s for s in services if s not in rpc["services"] and s != rpc["service"]]
            if outsiders:
                checks.expect(f"{name} as the undeclared service {outsiders[0]}", nova.call(rpc, identity=outsiders[0]), grpc.StatusCode.PERMISSION_DENIED)
            if rpc["services"]:
                checks.refuse_not(f"{name} as the declared service {rpc['services'][0]}", nova.call(rpc, identity=rpc["services"][0]), refusals)
        if access == "permission":
            checks.expect(f"{name} without the permission {rpc['permission']}", nova.call(rpc, token=attacker.fresh_token()), grpc.StatusCode.PERMISSION_DENIED)
        if access in ("user", "public") and not rpc["acting"]:
            checks.refuse_not(f"{name} with a user's own token", nova.call(rpc, token=attacker.fresh_token()), {grpc.StatusCode.UNAUTHENTICATED})
            if name in SIGNS_OUT:
                # That call ended the session its token belongs to (as it should: every
                # service refuses the token within a poll interval), so sign in again.
                attacker.sign_in()

    owned_resources(nova, checks, victim, attacker)
    print(f"security: {checks.count} checks over {len(nova.access['rpcs'])} RPCs of {len(services)} services, {len(checks.failures)} failed")
    for failure in checks.failures:
        print(f"  FAIL {failure}")
    return 1 if checks.failures else 0


def owned_resources(nova, checks, victim, attacker):
    """What the victim owns, attacked through fields the policy cannot bind (ids of things)."""
    def as_victim(service, rpc, **fields):
        entry, request = nova.request(service, rpc, **fields)
        cls_name = entry["request"].replace("Request", "Response")
        response_cls = nova.message(service, cls_name)
        method = nova.channel(service).unary_unary(
            f"/{entry['proto_service']}/{rpc}", request_serializer=type(request).SerializeToString, response_deserializer=response_cls.FromString
        )
        return method(request, timeout=TIMEOUT, metadata=[("authorization", f"Bearer {victim.fresh_token()}")])

    denied = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND)
    post = as_victim("content", "CreatePost", author_id=victim.id, body="mine", visibility=3).post
    for rpc, fields in [("DeletePost", {"post_id": post.id}), ("UpdatePost", {"post_id": post.id, "body": "defaced", "version": post.version})]:
        entry, request = nova.request("content", rpc, **fields)
        checks.expect(f"content.{rpc} of the victim's post by another user", nova.call(entry, request, token=attacker.fresh_token()), denied)
    entry, request = nova.request("content", "GetPost", post_id=post.id)
    checks.expect("content.GetPost of the victim's private post by another user", nova.call(entry, request, token=attacker.fresh_token()), grpc.StatusCode.NOT_FOUND)
    checks.expect("content.GetPost of the victim's private post without a token", nova.call(entry, request), grpc.StatusCode.NOT_FOUND)
    entry, request = nova.request("content", "GetPostsByAuthor", author_id=victim.id, page_size=10)
    code, _ = nova.call(entry, request)
    checks.count += 1
    if code == grpc.StatusCode.OK:
        cls = nova.message("content", "nova.content.v1.GetPostsByAuthorResponse")
        method = nova.channel("content").unary_unary(f"/{entry['proto_service']}/GetPostsByAuthor", request_serializer=type(request).SerializeToString, response_deserializer=cls.FromString)
        listed = method(request, timeout=TIMEOUT)
        if any(p.id == post.id for p in listed.posts):
            checks.failures.append("content.GetPostsByAuthor without a token lists the victim's private post")

    stream = as_victim("streaming", "CreateLiveStream", creator_id=victim.id, title="mine", visibility=1, chat_enabled=True).stream
    for rpc in ("RotateStreamKey", "EndStream", "GetStreamAnalytics"):
        entry, request = nova.request("streaming", rpc, stream_id=stream.id)
        checks.expect(f"streaming.{rpc} of the victim's stream by another user", nova.call(entry, request, token=attacker.fresh_token()), denied)

    friend = User(nova, "friend")
    sent = as_victim("messaging", "SendMessage", sender_id=victim.id, recipient_id=friend.id, kind=1, body="private")
    conversation = sent.conversation.id
    for rpc in ("GetMessages", "GetConversation", "GetConversationMembers"):
        entry, request = nova.request("messaging", rpc, conversation_id=conversation, page_size=10) if rpc != "GetConversation" else nova.request("messaging", rpc, conversation_id=conversation)
        checks.expect(f"messaging.{rpc} of the victim's conversation by a non-member", nova.call(entry, request, token=attacker.fresh_token()), denied)

    entry, request = nova.request("auth", "Logout", session_id=claims(victim.fresh_token())["sid"])
    checks.expect("auth.Logout of the victim's session by another user", nova.call(entry, request, token=attacker.fresh_token()), denied)
    entry, request = nova.request("auth", "GetUser", user_id=victim.id)
    cls = nova.message("auth", "nova.auth.v1.GetUserResponse")
    method = nova.channel("auth").unary_unary("/nova.auth.v1.AuthService/GetUser", request_serializer=type(request).SerializeToString, response_deserializer=cls.FromString)
    for who, token in (("anonymous", None), ("another user", attacker.fresh_token())):
        metadata = [("authorization", f"Bearer {token}")] if token else []
        checks.count += 1
        if method(request, timeout=TIMEOUT, metadata=metadata).user.email:
            checks.failures.append(f"auth.GetUser shows the victim's email to {who}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
