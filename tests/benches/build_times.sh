#!/usr/bin/env bash
# Build-time benchmark: the cold build of one service binary and its rebuild after a one-line
# edit in its handwritten crate, for two revisions side by side in one run.
#
#   tests/benches/build_times.sh <before-rev> <after-rev> [package] [runs]
#   BUILD=tests tests/benches/build_times.sh <before-rev> <after-rev> - [runs]
#
# With BUILD=tests, the build measured is `cargo test --workspace --no-run` (every test binary
# of the workspace) instead of one package's binary.
#
# Each revision gets its own worktree and its own empty target directory under $BENCH_DIR
# (default /tmp/nova-build-bench). Cold builds alternate between the revisions, then the
# rebuilds alternate, so that whatever else the machine is doing affects both alike. Both
# wall-clock and CPU seconds (user + sys, less sensitive to a loaded machine) are printed.
set -euo pipefail

before=${1:?usage: build_times.sh <before-rev> <after-rev> [package] [runs]}
after=${2:?usage: build_times.sh <before-rev> <after-rev> [package] [runs]}
package=${3:-nova-feed-service}
runs=${4:-3}
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
bench=${BENCH_DIR:-/tmp/nova-build-bench}
edited=handwritten/feed/src/lib.rs

mkdir -p "$bench"
for label in before after; do
  rev=${!label}
  git -C "$repo" worktree remove --force "$bench/$label" 2>/dev/null || rm -rf "$bench/$label"
  git -C "$repo" worktree add --detach -q "$bench/$label" "$rev"
  rm -rf "$bench/target-$label"
done

measure() { # measure <label> <what>: build $package in that worktree, print one table row
  local label=$1 what=$2 out
  local command=(cargo build -q --locked -p "$package")
  if [ "${BUILD:-}" = tests ]; then command=(cargo test -q --locked --workspace --no-run); fi
  out=$(cd "$bench/$label" && CARGO_TARGET_DIR="$bench/target-$label" CARGO_INCREMENTAL=0 \
    /usr/bin/time -f '%e %U %S' "${command[@]}" 2>&1 >/dev/null | tail -n 1)
  read -r wall user sys <<<"$out"
  printf '| %s | %s | %s | %.1f |\n' "$label ($(git -C "$bench/$label" rev-parse --short HEAD))" \
    "$what" "$wall" "$(echo "$user + $sys" | bc)"
}

echo "| revision | build | wall s | CPU s |"
echo "|---|---|---:|---:|"
for label in before after; do measure "$label" "cold (empty target dir, all dependencies)"; done
for i in $(seq 1 "$runs"); do
  for label in before after; do
    # A one-line edit that changes the crate's code, different on every run.
    echo "pub const BENCH_EDIT: u32 = $i;" >>"$bench/$label/$edited"
    measure "$label" "rebuild after a one-line edit in $edited (run $i)"
    git -C "$bench/$label" checkout -q -- "$edited"
  done
done

for label in before after; do git -C "$repo" worktree remove --force "$bench/$label"; done
