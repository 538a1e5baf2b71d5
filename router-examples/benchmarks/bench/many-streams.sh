#!/usr/bin/env bash
# Many concurrent streams through the proxy as operators run it: three processes on 127.0.0.1.
#
#   1. the simulated vLLM fleet (ManyStreamsRun --fleet-only: SERVERS simulators with batch room for
#      every stream), in its own JVM;
#   2. the proxy, the real jar (vllm-router.jar run) with -Xmx512m, in its own JVM;
#   3. the client (ManyStreamsRun --proxy): h2c with prior knowledge over CONNS connections, STREAMS
#      streaming chat completions sent over RAMP seconds; every stream must end with data: [DONE].
#
# The client samples the proxy's /metrics (heap used, live JVM threads, requests in flight) and
# /proc/PID/status (OS threads, resident memory) every 250 ms and prints the peaks. Builds nothing;
# stops everything it started, whatever happens. Exit code: the client's (0 = every stream completed).
#
#   router-examples/benchmarks/bench/many-streams.sh                   # 10,000 streams, 32 connections
#   STREAMS=2000 CONNS=8 RAMP=5 router-examples/benchmarks/bench/many-streams.sh
#   STREAMS=2000 CLIENT=http1 router-examples/benchmarks/bench/many-streams.sh   # one HTTP/1.1 connection per stream
#
# Needs a JDK 17+ and both jars:
#   mvn -B -q -DskipTests -pl router-examples/proxy -am package
#   mvn -B -q -Pbench -DskipTests -pl router-examples/benchmarks -am package
set -euo pipefail

STREAMS="${STREAMS:-10000}"
CONNS="${CONNS:-32}"
CLIENT="${CLIENT:-h2c}"
RAMP="${RAMP:-30}"
SERVERS="${SERVERS:-4}"
TOKENS="${TOKENS:-20}"
TPOT_MS="${TPOT_MS:-2000}"
TIMEOUT="${TIMEOUT:-600}"
JAVA="${JAVA:-java}"
PROXY_OPTS="${PROXY_OPTS:--Xmx512m}"
# The fleet holds a thread per open request: virtual threads (Java 21+) keep 10,000 of them cheap.
if [ -z "${FLEET_JAVA:-}" ]; then
  FLEET_JAVA="$JAVA"
  [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ] && FLEET_JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
fi
FLEET_OPTS="${FLEET_OPTS:--Xmx2g}"
CLIENT_OPTS="${CLIENT_OPTS:--Xmx1g}"
BASE_PORT="${BASE_PORT:-19000}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
SCRIPT=many-streams.sh
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
jar="$root/router-examples/proxy/target/vllm-router.jar"
bench="$root/router-examples/benchmarks/target/benchmarks.jar"

command -v curl >/dev/null 2>&1 || { echo "many-streams.sh: missing: curl" >&2; exit 2; }
if [ ! -f "$jar" ]; then
  echo "many-streams.sh: $jar is missing; build it: mvn -B -q -DskipTests -pl router-examples/proxy -am package" >&2
  exit 2
fi
if [ ! -f "$bench" ]; then
  echo "many-streams.sh: $bench is missing; build it: mvn -B -q -Pbench -DskipTests -pl router-examples/benchmarks -am package" >&2
  exit 2
fi

work="$(mktemp -d /tmp/vllm-router-many-streams.XXXXXX)"
mkdir -p "$work/logs"
pids=()
cleanup() {
  stop_started
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM

fleet_port=$((BASE_PORT + 1))
proxy_port=$BASE_PORT
for port in $proxy_port $(seq "$fleet_port" $((fleet_port + SERVERS - 1))); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "many-streams.sh: port $port is in use; set BASE_PORT to another range" >&2
    exit 2
  fi
done
slots=$(( (STREAMS + SERVERS - 1) / SERVERS + 8 ))

# ---- the fleet ------------------------------------------------------------------------------
# shellcheck disable=SC2086 # *_OPTS are split into words on purpose
"$FLEET_JAVA" $FLEET_OPTS -cp "$bench" io.vllmrouter.examples.loadgen.ManyStreamsRun --fleet-only \
  --fleet-port "$fleet_port" --servers "$SERVERS" --streams "$STREAMS" --output-tokens "$TOKENS" \
  --tpot-ms "$TPOT_MS" >"$work/logs/fleet.out" 2>&1 &
pids+=($!)

{
  echo "[servers]"
  echo "servers = ["
  for i in $(seq 0 $((SERVERS - 1))); do
    echo "  { url = \"http://127.0.0.1:$((fleet_port + i))\", max_concurrent_requests = $slots },"
  done
  echo "]"
  echo "[config]"
  echo "health_check_interval = 5"
  # The simulators share two cores with the proxy and the client: under this load their /health
  # and first tokens may take many seconds, which is not what this run measures.
  echo "health_check_max_response_time = 30"
  echo "request_timeout = $TIMEOUT"
  echo "first_byte_timeout = $TIMEOUT"
} >"$work/servers.toml"

for i in $(seq 0 $((SERVERS - 1))); do
  wait_for "http://127.0.0.1:$((fleet_port + i))/health" "simulator $i" 60
done

# ---- the proxy ------------------------------------------------------------------------------
# shellcheck disable=SC2086
"$JAVA" $PROXY_OPTS -jar "$jar" run --config "$work/servers.toml" --host 127.0.0.1 --port "$proxy_port" \
  --console --log-level WARN --log-dir "$work/logs" >"$work/logs/proxy.out" 2>&1 &
proxy_pid=$!
pids+=("$proxy_pid")
wait_for "http://127.0.0.1:$proxy_port/health" "the proxy" 60
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$proxy_port/v1/models" 2>/dev/null | grep -q bench-model && break
  sleep 0.1
done

echo "proxy: $JAVA $PROXY_OPTS -jar vllm-router.jar run (pid $proxy_pid, open files limit $(ulimit -Hn)); fleet: $SERVERS simulators" \
  "(max_num_seqs $slots, $TOKENS tokens, $TPOT_MS ms per token) on $FLEET_JAVA $FLEET_OPTS"

# ---- the client -----------------------------------------------------------------------------
status=0
# shellcheck disable=SC2086
"$JAVA" $CLIENT_OPTS -cp "$bench" io.vllmrouter.examples.loadgen.ManyStreamsRun \
  --proxy "http://127.0.0.1:$proxy_port" --proxy-pid "$proxy_pid" --client "$CLIENT" --connections "$CONNS" \
  --streams "$STREAMS" --ramp-seconds "$RAMP" --timeout "$TIMEOUT" || status=$?

if grep -q -E "ERROR|Exception" "$work/logs/proxy.out"; then
  echo "proxy log (errors):"
  grep -E "ERROR|Exception" "$work/logs/proxy.out" | head -n 20
fi
exit "$status"
