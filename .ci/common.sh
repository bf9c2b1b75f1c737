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

ensure_stress_ng() {
  if command -v stress-ng >/dev/null 2>&1; then return 0; fi
  step "installing stress-ng"
  as_root apt-get update -qq && as_root apt-get install -y -qq stress-ng
}
