#!/usr/bin/env bash
# The proxy's data-plane overhead, side by side with HAProxy and with the backends directly.
#
# Starts three static nginx backends standing in for vLLM (a canned chat completion, and a canned
# 200-event SSE stream of ~35 KB, plus /health, /metrics and /v1/models so the router admits
# them), HAProxy (leastconn) and the router (the built jar), all on 127.0.0.1, then runs wrk
# against each: plain (POST /v1/chat/completions, JSON answer) and streamed (POST
# /v1/completions, SSE answer; or, MODES=bulk, POST /v1/embeddings with the same bytes as one JSON
# answer). Prints req/s, MB/s, p50, p99 and p99.9 per target, the CPU time each
# proxy itself spends per request, user and system (read from /proc: on a shared, noisy machine it
# moves far less than req/s) with, for the JVMs, the part their JIT's compiler threads took, and
# the router/HAProxy ratios. The target "netty" is the Netty floor
# (bench/NettyFloor.java, run from the router's jar): a bare HTTP/1.1 proxy on the same stack with
# none of the router's work, which tells the platform's cost from the router's. HAProxy and the
# router each log every request, as a front door does in production (HAProxy's httplog line to a
# file, the router's structured line); LOGS=off turns both off. Stops everything it started,
# whatever happens; KEEP=1 keeps its work directory: the logs, and each wrk run's output
# (logs/wrk-TARGET-MODE-ROUND.txt) with its latency percentiles.
#
#   router-examples/benchmarks/bench/overhead.sh            # 10 s measured per run (after 5 s of the same load) after 20 s of warm-up per mode, 64 connections
#   SETTLE=0 router-examples/benchmarks/bench/overhead.sh   # measure each wrk run whole, from its first second
#   DURATION=20 CONNS=128 JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java router-examples/benchmarks/bench/overhead.sh
#   MODES=plain TARGETS=router router-examples/benchmarks/bench/overhead.sh   # a subset, e.g. under a profiler
#   MODES="stream bulk" router-examples/benchmarks/bench/overhead.sh   # bulk: the stream's ~35 KB as one JSON answer
#   ROUTER_ARGS="--io-threads 1" JAR=/tmp/other.jar router-examples/benchmarks/bench/overhead.sh   # options, another build
#   TARGETS="haproxy netty" router-examples/benchmarks/bench/overhead.sh   # HAProxy against the Netty floor alone
#   HAPROXY_THREADS=1 ROUTER_ARGS="--io-threads 1" FLOOR_THREADS=1 router-examples/benchmarks/bench/overhead.sh   # one thread each
#   LOGS=off router-examples/benchmarks/bench/overhead.sh   # neither HAProxy nor the router logs requests
#   ROUNDS=3 router-examples/benchmarks/bench/overhead.sh   # three rounds of every target in turn, pooled
#   TARGETS="haproxy router router-b" JAVA_OPTS_B="-Xmx512m -XX:+UseSerialGC" router-examples/benchmarks/bench/overhead.sh
#       # a second router (JAVA_B, JAVA_OPTS_B, JAR_B; the first's by default) in the same rounds
#
# Needs Debian's nginx, haproxy and wrk (apt-get install -y nginx haproxy wrk), a JDK 17+, and the
# jar (mvn -B -q -DskipTests -pl router-examples/proxy -am package).
set -euo pipefail

DURATION="${DURATION:-10}"
# With ROUNDS=N each mode runs every target N times in turn (direct, haproxy, netty, router, then
# again): req/s and CPU per request are pooled over the rounds, p50, p99 and p99.9 are their medians, and
# each round's router/HAProxy ratios are printed too. A burst of load from elsewhere on a shared
# machine then falls on one round of one target, not on the whole comparison.
ROUNDS="${ROUNDS:-1}"
case $ROUNDS in
  '' | *[!0-9]* | 0) echo "overhead.sh: ROUNDS=$ROUNDS (expected a whole number, 1 or more)" >&2; exit 2 ;;
esac
CONNS="${CONNS:-64}"
THREADS="${THREADS:-2}"
# The JIT compiles the streamed path late when wrk, nginx and the router share two busy cores: with
# 6-10 s of warm-up the router's streamed CPU per request measured up to twice its steady state.
WARMUP="${WARMUP:-20}"
# Every measured run first settles for SETTLE seconds under the same load, not measured: req/s and
# CPU per request are taken over the DURATION seconds after it (from the backends' request counts
# and /proc), p50, p99 and p99.9 over the whole wrk run. A run opens its connections anew, and the
# previous run's closing ones took code paths the JIT had compiled without (a JVM target
# recompiles its event loop's hottest methods then, for a second or two of C2 and slower code);
# a router in service, whose connections come and go all the time, does not pay that. 0 measures
# the whole wrk run.
SETTLE="${SETTLE:-5}"
case $SETTLE in
  '' | *[!0-9]*) echo "overhead.sh: SETTLE=$SETTLE (expected a whole number of seconds, 0 or more)" >&2; exit 2 ;;
esac
JAVA="${JAVA:-java}"
JAVA_OPTS="${JAVA_OPTS:--Xmx512m}"
BASE_PORT="${BASE_PORT:-18000}"
MODES="${MODES:-plain stream}"
for mode in $MODES; do
  case $mode in
    plain | stream | bulk) ;;
    *) echo "overhead.sh: MODES=$MODES (expected plain, stream or bulk, separated by spaces)" >&2; exit 2 ;;
  esac
done
TARGETS="${TARGETS:-direct haproxy netty router}"
LOGS="${LOGS:-on}"
case $LOGS in
  on | off) ;;
  *) echo "overhead.sh: LOGS=$LOGS (expected on or off)" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
SCRIPT=overhead.sh
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
jar="${JAR:-$root/router-examples/proxy/target/vllm-router.jar}"

missing=()
for tool in nginx haproxy wrk curl; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "overhead.sh: missing: ${missing[*]}; install with: apt-get install -y ${missing[*]}" >&2
  exit 2
fi
if [ ! -f "$jar" ]; then
  echo "overhead.sh: $jar is missing; build it: mvn -B -q -DskipTests -pl router-examples/proxy -am package" >&2
  exit 2
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
HAPROXY="$(command -v haproxy || echo /usr/sbin/haproxy)"

work="$(mktemp -d /tmp/vllm-router-overhead.XXXXXX)"
pids=()
cleanup() {
  stop_started
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM

b1=$((BASE_PORT + 1)); b2=$((BASE_PORT + 2)); b3=$((BASE_PORT + 3))
hap=$((BASE_PORT + 10)); rtr=$((BASE_PORT + 20)); nty=$((BASE_PORT + 30)); rtb=$((BASE_PORT + 40))
for port in $b1 $b2 $b3 $hap $rtr $nty $rtb; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "overhead.sh: port $port is in use; set BASE_PORT to another range" >&2
    exit 2
  fi
done

# ---- canned answers -------------------------------------------------------------------------
mkdir -p "$work/www/v1/chat" "$work/logs"
chat='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":20,"total_tokens":32}}'
printf '%s' "$chat" > "$work/www/v1/chat/completions"
{
  for i in $(seq 1 199); do
    printf 'data: {"id":"cmpl-bench","object":"text_completion","created":1700000000,"model":"bench-model","choices":[{"index":0,"text":" token%03d","logprobs":null,"finish_reason":null}]}\n\n' "$i"
  done
  printf 'data: [DONE]\n\n'
} > "$work/www/v1/completions"
# MODES=bulk: the same bytes as one JSON answer with its length, no event stream (what an
# event stream costs the router beyond its size)
cp "$work/www/v1/completions" "$work/www/v1/embeddings"
metrics='# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="bench-model"} 0.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="bench-model"} 0.0
'
printf '%s' "$metrics" > "$work/www/metrics"
printf '%s' '{"object":"list","data":[{"id":"bench-model","object":"model","owned_by":"vllm"}]}' > "$work/www/v1/models"
chmod -R a+rX "$work" # nginx's workers run as another user when started by root

# ---- nginx: three backends ------------------------------------------------------------------
servers=""
for port in $b1 $b2 $b3; do
  servers+="
  server {
    listen 127.0.0.1:$port backlog=4096;
    root $work/www;
    location = /health { return 200; }
    location = /nginx-status { stub_status; }
    location = /metrics { default_type text/plain; }
    location = /v1/models { default_type application/json; }
    # Static files answer GET only: a POST's 405 is turned into the file, as a GET.
    location = /v1/chat/completions { default_type application/json; error_page 405 =200 \$uri; }
    location = /v1/completions { default_type text/event-stream; error_page 405 =200 \$uri; }
    location = /v1/embeddings { default_type application/json; error_page 405 =200 \$uri; }
  }"
done
cat > "$work/nginx.conf" <<EOF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/logs/nginx-error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush off;
  keepalive_requests 1000000;
  keepalive_timeout 65;
  client_body_temp_path $work/nginx-body;
  proxy_temp_path $work/nginx-proxy;
  fastcgi_temp_path $work/nginx-fastcgi;
  uwsgi_temp_path $work/nginx-uwsgi;
  scgi_temp_path $work/nginx-scgi;
$servers
}
EOF
"$NGINX" -c "$work/nginx.conf" -p "$work" >"$work/logs/nginx.out" 2>&1 &
pids+=($!)

# ---- HAProxy: leastconn over the three --------------------------------------------------------
# With LOGS=on it logs each request (option httplog) to standard output, which goes to a file: a
# write per request, as with the usual syslog socket. The router's structured log is on by default.
if [ "$LOGS" = on ]; then
  hap_log="log stdout format raw local0 info"; hap_httplog="
  log global
  option httplog"
else
  hap_log="log stdout format raw local0 emerg"; hap_httplog=""
fi
cat > "$work/haproxy.cfg" <<EOF
global
  maxconn 8000${HAPROXY_THREADS:+
  nbthread $HAPROXY_THREADS}
  $hap_log
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive$hap_httplog
frontend fe
  bind 127.0.0.1:$hap
  default_backend vllm
backend vllm
  balance leastconn
  server s1 127.0.0.1:$b1
  server s2 127.0.0.1:$b2
  server s3 127.0.0.1:$b3
EOF
"$HAPROXY" -f "$work/haproxy.cfg" -db >"$work/logs/haproxy.out" 2>&1 &
pids+=($!)

# ---- the router -----------------------------------------------------------------------------
cat > "$work/servers.toml" <<EOF
[servers]
servers = [
  { url = "http://127.0.0.1:$b1", max_concurrent_requests = 64 },
  { url = "http://127.0.0.1:$b2", max_concurrent_requests = 64 },
  { url = "http://127.0.0.1:$b3", max_concurrent_requests = 64 },
]
[config]
health_check_interval = 5
EOF
# shellcheck disable=SC2086 # JAVA_OPTS and ROUTER_ARGS are split into words on purpose
"$JAVA" $JAVA_OPTS -jar "$jar" run --config "$work/servers.toml" --host 127.0.0.1 --port "$rtr" \
  --console --log-level WARN --log-dir "$work/logs" $([ "$LOGS" = on ] || echo --no-request-log) ${ROUTER_ARGS:-} \
  >"$work/logs/router.out" 2>&1 &
pids+=($!)

# ---- a second router (TARGETS containing "router-b"): other JVM options, another JDK or build
b_pid=""
if [[ " $TARGETS " == *" router-b "* ]]; then
  mkdir -p "$work/logs-b"
  # shellcheck disable=SC2086
  "${JAVA_B:-$JAVA}" ${JAVA_OPTS_B:-$JAVA_OPTS} -jar "${JAR_B:-$jar}" run --config "$work/servers.toml" --host 127.0.0.1 --port "$rtb" \
    --console --log-level WARN --log-dir "$work/logs-b" $([ "$LOGS" = on ] || echo --no-request-log) ${ROUTER_ARGS:-} \
    >"$work/logs/router-b.out" 2>&1 &
  pids+=($!)
  b_pid=$!
fi

# ---- the Netty floor (TARGETS containing "netty"): the same stack with none of the router's work
floor_pid=""
if [[ " $TARGETS " == *" netty "* ]]; then
  # shellcheck disable=SC2086
  "$JAVA" $JAVA_OPTS -cp "$jar" "$(dirname "${BASH_SOURCE[0]}")/NettyFloor.java" "$nty" "${FLOOR_THREADS:-$(nproc)}" $b1 $b2 $b3 \
    >"$work/logs/netty-floor.out" 2>&1 &
  pids+=($!)
  floor_pid=$!
fi

wait_for "http://127.0.0.1:$b1/health" "nginx"
wait_for "http://127.0.0.1:$hap/health" "haproxy"
wait_for "http://127.0.0.1:$rtr/health" "the router"
if [ -n "$floor_pid" ]; then
  wait_for "http://127.0.0.1:$nty/health" "the netty floor" 60
fi
if [ -n "$b_pid" ]; then
  wait_for "http://127.0.0.1:$rtb/health" "the second router"
fi
# a router must know the model before it routes by it
for port in $rtr ${b_pid:+$rtb}; do
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/v1/models" 2>/dev/null | grep -q bench-model && break
    sleep 0.1
  done
done

# ---- wrk ------------------------------------------------------------------------------------
# wrk_script MODE PATH BODY: the mode's wrk script, a JSON POST to PATH. wrk's --latency stops at
# 99 %: each run also prints its deeper tail, from the same histogram.
wrk_script() {
  cat >"$work/$1.lua" <<EOF
wrk.method = "POST"
wrk.path = "$2"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$3'
EOF
  cat >>"$work/$1.lua" <<'EOF'
done = function(summary, latency, requests)
  io.write(string.format("tail: p99.9 %.2fms p99.99 %.2fms max %.2fms\n",
    latency:percentile(99.9) / 1000.0, latency:percentile(99.99) / 1000.0, latency.max / 1000.0))
end
EOF
}
wrk_script plain /v1/chat/completions '{"model":"bench-model","messages":[{"role":"user","content":"Say something."}],"max_tokens":20}'
wrk_script stream /v1/completions '{"model":"bench-model","prompt":"Say something.","max_tokens":200,"stream":true}'
wrk_script bulk /v1/embeddings '{"model":"bench-model","input":"Say something."}'

# to_ms VALUE: wrk's "1.14ms" / "812.00us" / "1.02s" in milliseconds
to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
# to_mb VALUE: wrk's "36.12MB" / "812.3KB" / "1.1GB" in MB
to_mb() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /GB$/) n *= 1024; else if (v ~ /KB$/) n /= 1024; else if (v ~ /MB$/) n += 0; else n /= 1048576; printf "%.1f", n }'
}

# served: the requests nginx has answered so far (its stub_status counts for all three backends,
# which one nginx serves); every target's requests reach it, and little else does (the router's
# health checks and scrapes, a few a second, and these counts)
served() {
  curl -fsS "http://127.0.0.1:$b1/nginx-status" | awk 'NR == 3 { print $3 }'
}

# cpu_ticks PID...: user + system clock ticks used so far by these processes (all their threads)
cpu_ticks() {
  local u=0 s=0 p pu ps
  for p in "$@"; do
    if [ -r "/proc/$p/stat" ]; then
      read -r pu ps < <(awk '{ print $14, $15 }' "/proc/$p/stat")
      u=$((u + pu)); s=$((s + ps))
    fi
  done
  echo "$u $s"
}
# jit_ticks PID...: the clock ticks the JIT's compiler threads of these JVMs used so far (part of
# cpu_ticks): compiling the hot code, a cost of a JVM's first minutes that a router in service has
# long paid, and that a run of a few minutes still pays in its measured rounds
jit_ticks() {
  local p t n=0 c
  for p in "$@"; do
    for t in /proc/"$p"/task/*; do
      IFS= read -r c 2>/dev/null <"$t/comm" || c="" # no process per thread: this runs inside the window
      case $c in
        "C1 CompilerThre"* | "C2 CompilerThre"*)
          n=$((n + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$t/stat" 2>/dev/null || echo 0))) ;;
      esac
    done
  done
  echo "$n"
}
CLK_TCK="$(getconf CLK_TCK)"
# per_request TICKS REQUESTS: CPU ticks as microseconds per request
per_request() {
  awk -v t="$1" -v hz="$CLK_TCK" -v n="${2:-0}" 'BEGIN { if (n + 0 == 0) print "n/a"; else printf "%.1f", t * 1e6 / hz / n }'
}

# The CPU each target itself spends per request (nginx's workers for direct; the proxy alone for
# HAProxy and the router): unlike req/s, it hardly moves when something else loads the machine.
declare -A RPS MBS P50 P99 P999 ERR CPU USR SYS JIT
# pooled over the rounds: requests, seconds, CPU ticks, megabytes; p50, p99 and p99.9 of each round
declare -A N SECS TU TS TJ MB P50S P99S P999S RRPS RCPU
run() { # name port script seconds [round]
  local out cpids before after reqs bu bs au as k="$1-$3"
  case $1 in
    direct) cpids="$(pgrep -P "${pids[0]}" | tr '\n' ' ')" ;;
    haproxy) cpids="${pids[1]}" ;;
    netty | warm-netty) cpids="$floor_pid" ;;
    router-b | warm-b) cpids="$b_pid" ;;
    *) cpids="${pids[2]}" ;;
  esac
  local secs=$4 settle=0 wout="$work/logs/wrk-$1-$3${5:+-$5}.txt" wpid n0 n1 t0 t1 mbreq jb ja
  case $1 in warm*) ;; *) settle=$SETTLE ;; esac
  if [ "$settle" -gt 0 ]; then
    # One spare second: the window closes while wrk still runs.
    wrk -t"$THREADS" -c"$CONNS" -d"$((settle + secs + 1))s" --latency -s "$work/$3.lua" "http://127.0.0.1:$2" >"$wout" 2>&1 &
    wpid=$!
    sleep "$settle"
  fi
  t0="$(date +%s.%N)"
  n0="$(served)"
  # shellcheck disable=SC2086 # a list of pids
  before="$(cpu_ticks $cpids)"
  # shellcheck disable=SC2086
  jb="$(jit_ticks $cpids)"
  if [ "$settle" -gt 0 ]; then
    sleep "$secs"
  else
    wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" --latency -s "$work/$3.lua" "http://127.0.0.1:$2" >"$wout" 2>&1
  fi
  # shellcheck disable=SC2086
  after="$(cpu_ticks $cpids)"
  # shellcheck disable=SC2086
  ja="$(jit_ticks $cpids)"
  n1="$(served)"
  t1="$(date +%s.%N)"
  if [ "$settle" -gt 0 ]; then
    wait "$wpid" || true
  fi
  out="$(cat "$wout")"
  reqs=$((n1 - n0))
  secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
  # bytes per answer from wrk's own totals, times the answers in the window
  mbreq="$(awk -v mb="$(to_mb "$(echo "$out" | awk '/^Transfer\/sec/ { print $2 }')")" -v r="$(echo "$out" | awk '/^Requests\/sec/ { print $2 }')" 'BEGIN { if (r + 0 > 0) printf "%.9f", mb / r; else print 0 }')"
  read -r bu bs <<<"$before"
  read -r au as <<<"$after"
  N[$k]=$(( ${N[$k]:-0} + ${reqs:-0} ))
  SECS[$k]="$(awk -v a="${SECS[$k]:-0}" -v b="$secs" 'BEGIN { printf "%.3f", a + b }')"
  TU[$k]=$(( ${TU[$k]:-0} + au - bu ))
  TS[$k]=$(( ${TS[$k]:-0} + as - bs ))
  # a compiler thread that ended in between takes its ticks with it: never below nothing
  TJ[$k]=$(( ${TJ[$k]:-0} + (ja > jb ? ja - jb : 0) ))
  MB[$k]="$(awk -v a="${MB[$k]:-0}" -v m="$mbreq" -v n="$reqs" 'BEGIN { printf "%.3f", a + m * n }')"
  P50S[$k]+="$(to_ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')") "
  P99S[$k]+="$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')") "
  P999S[$k]+="$(to_ms "$(echo "$out" | awk '$1 == "tail:" { print $3 }')") "
  if [ -n "${5:-}" ]; then
    RRPS[$k-$5]="$(awk -v n="$reqs" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')"
    RCPU[$k-$5]="$(per_request $((au + as - bu - bs)) "$reqs")"
  fi
  CPU[$k]="$(per_request $(( TU[$k] + TS[$k] )) "${N[$k]}")"
  USR[$k]="$(per_request "${TU[$k]}" "${N[$k]}")"
  SYS[$k]="$(per_request "${TS[$k]}" "${N[$k]}")"
  JIT[$k]="$(per_request "${TJ[$k]}" "${N[$k]}")"
  RPS[$k]="$(awk -v n="${N[$k]}" -v s="${SECS[$k]}" 'BEGIN { printf "%.0f", n / s }')"
  MBS[$k]="$(awk -v m="${MB[$k]}" -v s="${SECS[$k]}" 'BEGIN { printf "%.1f", m / s }')"
  P50[$k]="$(median ${P50S[$k]})"
  P99[$k]="$(median ${P99S[$k]})"
  P999[$k]="$(median ${P999S[$k]})"
  ERR[$k]+="$(echo "$out" | awk '/Non-2xx|Socket errors/ { sub(/^ +/, ""); printf "%s; ", $0 }')"
}

# median VALUE...: the middle value (the mean of the middle two for an even count)
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "overhead.sh: wrk -t$THREADS -c$CONNS -d${DURATION}s x $ROUNDS round(s), $(nproc) cores, $("$JAVA" -version 2>&1 | head -1), nginx x3 on :$b1-$b3, haproxy :$hap, router :$rtr, request logs $LOGS" >&2
# Each mode is warmed up right before its rounds, so that the rounds measure the JIT's code for
# that mode: with both modes warmed up first, the plain rounds ran after the streamed warm-up.
for mode in $MODES; do
  echo "warming up the router${b_pid:+, the second router}${floor_pid:+ and the netty floor} on $mode (${WARMUP}s each)..." >&2
  run warm "$rtr" "$mode" "$WARMUP"
  if [ -n "$b_pid" ]; then
    run warm-b "$rtb" "$mode" "$WARMUP"
  fi
  if [ -n "$floor_pid" ]; then
    run warm-netty "$nty" "$mode" "$WARMUP"
  fi
  for round in $(seq 1 "$ROUNDS"); do
    for target in $TARGETS; do
      case $target in
        direct) port=$b1 ;;
        haproxy) port=$hap ;;
        router) port=$rtr ;;
        router-b) port=$rtb ;;
        netty) port=$nty ;;
      esac
      echo "running $target $mode$([ "$ROUNDS" -gt 1 ] && echo " (round $round of $ROUNDS)")..." >&2
      run "$target" "$port" "$mode" "$DURATION" "$round"
    done
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }

# "jit": the part of the CPU per request that the JVM targets' compiler threads took (jit_ticks)
printf '\n%-8s %-8s %10s %9s %9s %9s %10s %11s %7s %7s %6s\n' mode target "req/s" "MB/s" "p50 ms" "p99 ms" "p99.9 ms" "cpu us/req" "user" "system" "jit"
for mode in $MODES; do
  for target in $TARGETS; do
    k="$target-$mode"
    jit="${JIT[$k]:-}"
    case $target in direct | haproxy) jit="-" ;; esac
    printf '%-8s %-8s %10s %9s %9s %9s %10s %11s %7s %7s %6s\n' "$mode" "$target" "${RPS[$k]:-}" "${MBS[$k]:-}" "${P50[$k]:-}" "${P99[$k]:-}" "${P999[$k]:-}" "${CPU[$k]:-}" "${USR[$k]:-}" "${SYS[$k]:-}" "$jit"
  done
done
echo
for mode in $MODES; do
  for r in router router-b; do
    [ -n "${RPS[$r-$mode]:-}" ] && [ -n "${RPS[haproxy-$mode]:-}" ] && [ -n "${RPS[direct-$mode]:-}" ] || continue
    echo "$mode: $r/haproxy req/s $(ratio "${RPS[$r-$mode]}" "${RPS[haproxy-$mode]}"), MB/s $(ratio "${MBS[$r-$mode]}" "${MBS[haproxy-$mode]}");" \
      "p99 added over direct: $r $(minus "${P99[$r-$mode]}" "${P99[direct-$mode]}") ms, haproxy $(minus "${P99[haproxy-$mode]}" "${P99[direct-$mode]}") ms;" \
      "CPU per request: $r/haproxy $(ratio "${CPU[$r-$mode]}" "${CPU[haproxy-$mode]}")" \
      "($(ratio "$(minus "${CPU[$r-$mode]}" "${JIT[$r-$mode]:-0}")" "${CPU[haproxy-$mode]}") without the JIT's compiling)"
  done
done
for mode in $MODES; do
  [ -n "${CPU[netty-$mode]:-}" ] && [ -n "${CPU[haproxy-$mode]:-}" ] || continue
  echo "$mode: netty floor/haproxy req/s $(ratio "${RPS[netty-$mode]}" "${RPS[haproxy-$mode]}"), CPU per request $(ratio "${CPU[netty-$mode]}" "${CPU[haproxy-$mode]}")" \
    "${CPU[router-$mode]:+; router/netty floor CPU per request $(ratio "${CPU[router-$mode]}" "${CPU[netty-$mode]}")}"
done
# rounds MODE A B: each round's A/B ratios (with ROUNDS > 1)
rounds() {
  local round
  [ "$ROUNDS" -gt 1 ] || return 0
  for round in $(seq 1 "$ROUNDS"); do
    echo "$1, round $round: $2/$3 req/s $(ratio "${RRPS[$2-$1-$round]}" "${RRPS[$3-$1-$round]}")," \
      "CPU per request $(ratio "${RCPU[$2-$1-$round]}" "${RCPU[$3-$1-$round]}")"
  done
}
for mode in $MODES; do
  for r in router router-b; do
    [ -n "${RPS[$r-$mode]:-}" ] && [ -n "${RPS[haproxy-$mode]:-}" ] || continue
    rounds "$mode" "$r" haproxy
  done
done
# the two routers against each other: pooled, then round by round (each ran right after the other)
for mode in $MODES; do
  [ -n "${RPS[router-b-$mode]:-}" ] && [ -n "${RPS[router-$mode]:-}" ] || continue
  echo "$mode: router-b/router req/s $(ratio "${RPS[router-b-$mode]}" "${RPS[router-$mode]}")," \
    "CPU per request $(ratio "${CPU[router-b-$mode]}" "${CPU[router-$mode]}")"
  rounds "$mode" router-b router
done
for k in "${!ERR[@]}"; do
  if [ -n "${ERR[$k]}" ]; then
    echo "errors in $k: ${ERR[$k]}"
  fi
done
