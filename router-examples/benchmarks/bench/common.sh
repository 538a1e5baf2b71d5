# Shared by the scripts in this folder, which source it: stopping what they started, and waiting
# for a server to answer. A script sets SCRIPT (its name, for messages), work (its temporary
# folder, with logs/) and pids (the processes it started) before it calls these.

# stop_started: stops every process in pids, then waits for each.
stop_started() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
}

# wait_for URL WHAT [SECONDS]: returns once URL answers 2xx (within 30 s unless SECONDS says
# otherwise); else prints the tail of every log in $work/logs and exits 1.
wait_for() {
  local _
  for _ in $(seq 1 $((${3:-30} * 10))); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "$SCRIPT: $2 did not come up ($1); logs in $work/logs:" >&2
  tail -n 20 "$work"/logs/*.out >&2 || true
  exit 1
}
