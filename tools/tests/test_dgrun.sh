#!/bin/sh
# The launcher's behaviour (ctest dgrun): environment and output prefixes, a
# failing rank stops the others and names itself, escalation to SIGKILL when a
# rank ignores SIGTERM, usage errors. Usage: test_dgrun.sh path/to/dgrun
dgrun=${1:?usage: test_dgrun.sh path/to/dgrun}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_line() {  # file line
  grep -qxF -- "$2" "$1" || fail "expected the line '$2' in $(basename "$1"):"
}

# 1. Success: every rank's environment, stdout and stderr prefixed, exit 0.
"$dgrun" --nproc 3 sh -c 'echo "env $RANK $LOCAL_RANK $WORLD_SIZE $LOCAL_WORLD_SIZE $MASTER_ADDR"; echo "err $RANK" >&2
  echo "port=$MASTER_PORT"; printf "no newline"' > "$tmp/out" 2> "$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "success run exited $rc"
for r in 0 1 2; do
  expect_line "$tmp/out" "[rank $r] env $r $r 3 3 127.0.0.1"
  expect_line "$tmp/err" "[rank $r] err $r"
  expect_line "$tmp/out" "[rank $r] no newline"
done
ports=$(sed -n 's/^\[rank [0-9]\] port=//p' "$tmp/out" | sort -u)
[ "$(echo "$ports" | wc -l)" -eq 1 ] && [ "$ports" -gt 0 ] 2>/dev/null || fail "ranks saw ports '$ports'"

# 2. Several hosts: global ranks, given master; torchrun's spellings.
"$dgrun" --nnodes=2 --node_rank=1 --nproc_per_node=2 --master_addr=10.0.0.1 --master_port=4321 -- \
  sh -c 'echo "$RANK $LOCAL_RANK $WORLD_SIZE $MASTER_ADDR:$MASTER_PORT"' > "$tmp/out" 2>&1 || fail "two-node run failed"
expect_line "$tmp/out" "[rank 2] 2 0 4 10.0.0.1:4321"
expect_line "$tmp/out" "[rank 3] 3 1 4 10.0.0.1:4321"

# 3. One rank fails: the others (sleeping 60 s) are stopped at once, exit 1,
#    the failed rank and its exit code named.
start=$(date +%s)
"$dgrun" --nproc 4 sh -c 'if [ "$RANK" = 2 ]; then sleep 0.2; exit 7; fi; sleep 60' > "$tmp/out" 2> "$tmp/err"
rc=$?
took=$(($(date +%s) - start))
[ $rc -eq 1 ] || fail "failing run exited $rc, expected 1"
[ $took -lt 10 ] || fail "failing run took ${took}s: the other ranks were not stopped"
grep -q "FAILED: rank 2 (local rank 2, pid [0-9]*) ended with exit code 7" "$tmp/err" || fail "no failure line naming rank 2"

# 4. A rank killed by a signal, another ignoring SIGTERM: SIGKILL after the grace period.
start=$(date +%s)
"$dgrun" --nproc 2 sh -c 'trap "" TERM; if [ "$RANK" = 0 ]; then kill -SEGV $$; fi; sleep 60' > "$tmp/out" 2> "$tmp/err"
rc=$?
took=$(($(date +%s) - start))
[ $rc -eq 1 ] || fail "signalled run exited $rc, expected 1"
[ $took -lt 20 ] || fail "a rank ignoring SIGTERM kept dgrun ${took}s"
grep -q "FAILED: rank 0 .* ended with signal 11 (SIGSEGV)" "$tmp/err" || fail "no failure line naming SIGSEGV"

# 5. A program that does not exist; usage errors exit 2.
"$dgrun" --nproc 2 "$tmp/no-such-program" > "$tmp/out" 2> "$tmp/err"
[ $? -eq 1 ] || fail "missing program did not fail"
grep -q "cannot run" "$tmp/err" || fail "no 'cannot run' for a missing program"
"$dgrun" --nproc 0 true 2> "$tmp/err"; [ $? -eq 2 ] || fail "--nproc 0 accepted"
"$dgrun" --nproc 2 2> "$tmp/err"; [ $? -eq 2 ] || fail "no program accepted"
"$dgrun" --nnodes 2 --node-rank 2 true 2> "$tmp/err"; [ $? -eq 2 ] || fail "node rank 2 of 2 accepted"
grep -q "must be below --nnodes" "$tmp/err" || fail "no message for a node rank out of range"
"$dgrun" --bogus 1 true 2> "$tmp/err"; [ $? -eq 2 ] || fail "unknown option accepted"

[ $fails -eq 0 ] && echo "dgrun: all checks passed"
exit $fails
