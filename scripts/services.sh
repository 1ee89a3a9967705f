#!/usr/bin/env bash
# The Deployer's own processes on the local stack: one worker, one Kafka bridge, the HTTP
# API (docs/http-api.md, on 127.0.0.1:8090 unless DEPLOYER_HTTP_PORT says otherwise) and the
# codec server the Temporal UI decodes payloads with (docs/encrypted-history.md), tracing to
# the stack's Jaeger (docs/tracing.md), run from
# the compiled build (npm run build), with logs and pid files beside the stack's.
#
#   scripts/services.sh up     (re)start worker, bridge, HTTP API and codec server
#   scripts/services.sh down   stop them
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
root=$(dirname "$here")
run="$DEPLOYER_STATE/run"
logs="$DEPLOYER_STATE/logs"
mkdir -p "$run" "$logs"
# Builds may read the project's examples (the demo builds examples/hello), unless set otherwise.
export DEPLOYER_BUILD_ROOTS="${DEPLOYER_BUILD_ROOTS:-$root/examples}"
# Traces to the stack's Jaeger (docs/tracing.md), unless set otherwise; OTEL_SDK_DISABLED=true turns them off.
export OTEL_EXPORTER_OTLP_ENDPOINT="${OTEL_EXPORTER_OTLP_ENDPOINT:-http://127.0.0.1:$JAEGER_OTLP_PORT}"

stop() {
  local name=$1 pid
  [ -f "$run/$name.pid" ] || return 0
  pid=$(cat "$run/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$run/$name.pid"
}

# start NAME ENTRY: runs dist/src/ENTRY.js.
start() {
  local name=$1 entry=$2
  stop "$name"
  setsid node "$root/dist/src/$entry.js" >>"$logs/$name.log" 2>&1 </dev/null &
  echo $! > "$run/$name.pid"
}

# ready NAME MESSAGE: waits until NAME's log says MESSAGE (it polls, has joined its group, listens).
ready() {
  local name=$1 message=$2
  for _ in $(seq 1 150); do
    grep -q "\"message\":\"$message\"" "$logs/$name.log" 2>/dev/null && return 0
    kill -0 "$(cat "$run/$name.pid")" 2>/dev/null || { log "$name exited:"; tail -n 20 "$logs/$name.log" >&2; exit 1; }
    sleep 0.2
  done
}

case "${1:-}" in
  up)
    [ -f "$root/dist/src/worker/main.js" ] || { log "no build: run npm run build first"; exit 1; }
    start worker worker/main
    start bridge bridge/main
    start http http/main
    # The codec server, which the Temporal UI asks to decode payloads, with the stack's token.
    DEPLOYER_CODEC_TOKEN=$(cat "$DEPLOYER_STATE/codec.token") start codec-server codec/server-main
    ready worker 'worker started'
    ready bridge 'bridge started'
    ready http 'http started'
    ready codec-server 'codec server started'
    log "worker, bridge, HTTP API and codec server are running (logs: $logs/worker.log, $logs/bridge.log, $logs/http.log, $logs/codec-server.log)"
    # The API lets nobody in without a token: make one with node dist/src/http/token.js NAME operator.
    ;;
  down) stop codec-server; stop http; stop bridge; stop worker ;;
  *) echo "usage: $0 up | down" >&2; exit 2 ;;
esac
