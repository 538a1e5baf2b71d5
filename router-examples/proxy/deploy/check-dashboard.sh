#!/usr/bin/env bash
# Checks the web dashboard in a real headless browser: starts `vllm-router demo` on a free port on
# 127.0.0.1 (with a light synthetic load), loads /dashboard in Debian's chromium, asserts that the
# rendered page lists every backend of the demo fleet, saves a screenshot (docs/images/dashboard.png
# unless SCREENSHOT names another file) and stops the router it started.
#
# Needs: chromium (apt-get install -y chromium), Java 17, and the jar (built on first use).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
screenshot="${SCREENSHOT:-$root/docs/images/dashboard.png}"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "check-dashboard: chromium is not installed (apt-get install -y chromium)" >&2
  exit 2
fi

work="$(mktemp -d)"
router_pid=""
cleanup() {
  if [ -n "$router_pid" ] && kill -0 "$router_pid" 2>/dev/null; then
    kill "$router_pid" 2>/dev/null || true
    wait "$router_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$root/vllm-router" demo --host 127.0.0.1 --port 0 --load --console --log-dir "$work/logs" \
  > "$work/demo.out" 2>&1 < /dev/null &
router_pid=$!

url=""
for _ in $(seq 1 120); do
  url="$(grep -o 'http://127\.0\.0\.1:[0-9]*/dashboard' "$work/demo.out" | head -1 || true)"
  [ -n "$url" ] && break
  if ! kill -0 "$router_pid" 2>/dev/null; then
    echo "check-dashboard: the demo stopped before it was ready:" >&2
    cat "$work/demo.out" >&2
    exit 1
  fi
  sleep 0.5
done
if [ -z "$url" ]; then
  echo "check-dashboard: the demo printed no dashboard URL within 60 s:" >&2
  cat "$work/demo.out" >&2
  exit 1
fi
echo "dashboard: $url"

# The backends the demo started, as it printed them: "  gpu-1    http://127.0.0.1:PORT  capacity ..."
mapfile -t backends < <(grep -oE '^  [a-z0-9-]+ +http://127\.0\.0\.1:[0-9]+' "$work/demo.out" | awk '{print $2}')
if [ "${#backends[@]}" -eq 0 ]; then
  echo "check-dashboard: found no backend in the demo's output" >&2
  cat "$work/demo.out" >&2
  exit 1
fi

# Let the load run a few seconds so that the latency chart has points.
sleep 6

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --hide-scrollbars --window-size=1400,600)

"$browser" "${flags[@]}" --user-data-dir="$(mktemp -d -p "$work")" --virtual-time-budget=9000 \
  --dump-dom "$url" > "$work/dom.html" 2> "$work/chromium-dom.log"

fail=0
rows="$(grep -o '<tr class="server[ "]' "$work/dom.html" | wc -l)"
if [ "$rows" -ne "${#backends[@]}" ]; then
  echo "FAIL: the page shows $rows server rows, the demo has ${#backends[@]} backends" >&2
  fail=1
fi
for b in "${backends[@]}"; do
  if grep -q "data-url=\"$b\"" "$work/dom.html" && grep -q ">$b<" "$work/dom.html"; then
    echo "ok: row for $b"
  else
    echo "FAIL: no row for $b" >&2
    fail=1
  fi
done
if grep -q 'no data yet' "$work/dom.html"; then
  echo "FAIL: the page never rendered /dashboard/data" >&2
  fail=1
fi
if grep -q '<span id="error">cannot reach' "$work/dom.html"; then
  echo "FAIL: the page could not reach /dashboard/data" >&2
  fail=1
fi
eligible="$(grep -o 'id="eligible">[^<]*' "$work/dom.html" | sed 's/.*>//')"
echo "servers eligible: $eligible"

"$browser" "${flags[@]}" --user-data-dir="$(mktemp -d -p "$work")" --virtual-time-budget=30000 \
  --screenshot="$screenshot" "$url" > /dev/null 2> "$work/chromium-shot.log"
if [ -s "$screenshot" ]; then
  echo "screenshot: $screenshot"
else
  echo "FAIL: no screenshot written" >&2
  fail=1
fi

if [ "$fail" -ne 0 ]; then
  echo "--- rendered DOM ---" >&2
  cat "$work/dom.html" >&2
  exit 1
fi
echo "check-dashboard: passed (${#backends[@]} backends shown)"
