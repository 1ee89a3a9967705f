# shellcheck shell=bash
# Shared settings of the stack scripts. Every path and port can be overridden from the
# environment; the defaults match src/config.ts.
: "${DEPLOYER_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/deployer}"
: "${DEPLOYER_STATE:=${XDG_STATE_HOME:-$HOME/.local/state}/deployer}"
: "${TEMPORAL_CLI_VERSION:=v1.5.1}"
: "${TEMPORAL_BIN:=$DEPLOYER_CACHE/temporal-$TEMPORAL_CLI_VERSION/temporal}"
# The Temporal Web UI's own server, the version the CLI above embeds (its go.mod), run apart
# from the dev server so that it can send the codec server's session (includeCredentials).
: "${TEMPORAL_UI_VERSION:=v2.42.1}"
: "${TEMPORAL_UI_BIN:=$DEPLOYER_CACHE/temporal-ui-$TEMPORAL_UI_VERSION/ui-server}"
: "${KAFKA_VERSION:=3.9.1}"
: "${KAFKA_HOME:=$DEPLOYER_CACHE/kafka-$KAFKA_VERSION}"
: "${KUBE_VERSION:=v1.37.2}"
: "${KUBE_HOME:=$DEPLOYER_CACHE/kubernetes-$KUBE_VERSION}"
: "${ETCD_HOME:=$DEPLOYER_CACHE/etcd}"
: "${TEMPORAL_PORT:=7233}"
# Cluster mode (scripts/temporal-cluster.sh, docs/cluster-mode.md): the real Temporal server
# on PostgreSQL, beside the dev server, when DEPLOYER_TEMPORAL_CLUSTER=1. v1.32+ needs a newer Go.
: "${TEMPORAL_SERVER_VERSION:=v1.29.1}"
: "${TEMPORAL_SERVER_HOME:=$DEPLOYER_CACHE/temporal-server-$TEMPORAL_SERVER_VERSION}"
: "${DEPLOYER_TEMPORAL_CLUSTER:=0}"
# Its frontend (gRPC); its other services take the ports right after it (temporal-cluster.sh).
: "${TEMPORAL_CLUSTER_PORT:=7243}"
: "${TEMPORAL_CLUSTER_PG_PORT:=5433}"
: "${TEMPORAL_UI_PORT:=8233}"
# The codec server (src/codec) that the Web UI asks to decode payloads.
: "${DEPLOYER_CODEC_PORT:=8234}"
# How long Temporal keeps closed workflows, the history Rollback and Scale start from.
: "${TEMPORAL_RETENTION:=720h}"
: "${KAFKA_PORT:=19092}"
: "${KAFKA_CONTROLLER_PORT:=19093}"
: "${KAFKA_TLS_PORT:=19094}"
# The three-broker KRaft quorum beside the single broker (scripts/kafka-quorum.sh): broker N
# takes clients on KAFKA_QUORUM_PORT+N-1 and its controller listens on KAFKA_QUORUM_PORT+2+N.
: "${KAFKA_QUORUM_PORT:=29092}"
# 1: scripts/stack.sh up brings the quorum up too; the single broker stays what clients get by default.
: "${DEPLOYER_KAFKA_QUORUM:=0}"
: "${REGISTRY_PORT:=5000}"
: "${FOG_NODES:=3}"
: "${FOG_SUBNET:=10.77.0}"
# Node N's engine puts its bridge network (for containers with network "bridge") on PREFIX.N.0/24, inside node N's namespace.
: "${FOG_BRIDGE_PREFIX:=10.78}"
# Nodes (by number) whose engines accept only TLS with client certificates, as real nodes do.
: "${FOG_TLS_NODES:=3}"
# The local Kubernetes cluster (scripts/kube.sh): node N is network namespace kube-N at
# FOG_SUBNET.(220+N); the API server listens on the fog bridge, FOG_SUBNET.1.
: "${KUBE_NODES:=2}"
: "${KUBE_API_PORT:=6443}"
# etcd's client port on loopback (its peer port is the next one); not 2379, which a system etcd may hold.
: "${KUBE_ETCD_PORT:=12379}"
: "${KUBE_SERVICE_CIDR:=10.96.0.0/16}"
# Node N's pods get PREFIX.N.0/24, on a bridge inside node N's namespace.
: "${KUBE_POD_PREFIX:=10.88}"
# How long a node whose kubelet went silent stays Ready (kube-controller-manager's grace period).
: "${KUBE_NODE_GRACE:=20s}"
# The one namespace the Deployer's own identity (user "deployer", not an admin) may deploy into.
: "${KUBE_NAMESPACE:=deployer}"
# The local Docker Swarm (scripts/swarm.sh): node N is network namespace swarm-N at
# FOG_SUBNET.(200+N) with a Docker Engine of its own; swarm-1 is the manager.
: "${SWARM_NODES:=3}"
# Node N's engine puts its bridge network on PREFIX.N.0/24 (fog-N's engine has FOG_BRIDGE_PREFIX.N).
: "${SWARM_BRIDGE_PREFIX:=10.80}"
# Where the swarm's overlay networks, ingress included, take their subnets.
: "${SWARM_ADDR_POOL:=10.79.0.0/16}"
# Jaeger v2 (an OpenTelemetry Collector distribution) keeps the Deployer's traces in memory:
# OTLP/HTTP in on JAEGER_OTLP_PORT, its UI and query API on JAEGER_UI_PORT, both on loopback.
: "${JAEGER_VERSION:=v1.75.0}"
: "${JAEGER_BIN:=$DEPLOYER_CACHE/jaeger-$JAEGER_VERSION/jaeger}"
: "${JAEGER_OTLP_PORT:=4318}"
: "${JAEGER_UI_PORT:=16686}"
# The query service's gRPC API, which nothing of the stack uses but which it always opens.
: "${JAEGER_QUERY_GRPC_PORT:=16685}"
export DEPLOYER_CACHE DEPLOYER_STATE TEMPORAL_CLI_VERSION TEMPORAL_BIN TEMPORAL_SERVER_VERSION TEMPORAL_SERVER_HOME TEMPORAL_UI_VERSION TEMPORAL_UI_BIN KAFKA_VERSION KAFKA_HOME KUBE_VERSION KUBE_HOME ETCD_HOME JAEGER_VERSION JAEGER_BIN

# Searchable fields of every deployment in the Temporal UI (see src/core/search-attributes.ts),
# registered on the dev server (stack.sh) and on cluster-mode Temporal (temporal-cluster.sh).
# shellcheck disable=SC2034  # used by the scripts that source this
search_attributes=(DeployerApplication=Keyword DeployerVersion=Keyword DeployerStatus=Keyword DeployerNodes=KeywordList)

log() { printf '[stack] %s\n' "$*" >&2; }

# --- shared by stack.sh and swarm.sh: pid files in $run, logs in $logs, the fog bridge ---
run="$DEPLOYER_STATE/run"
logs="$DEPLOYER_STATE/logs"
# shellcheck disable=SC2034  # used by the scripts that source this
bridge_if=dfog0
host_ip="$FOG_SUBNET.1"

alive() { [ -f "$run/$1.pid" ] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }

# wait_for NAME SECONDS COMMAND...: polls COMMAND until it succeeds; shows the part's log when it never does.
wait_for() {
  local name=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ] || ! alive "$name"; then
      log "$name did not become ready in ${secs}s; last lines of $logs/$name.log:"
      tail -n 30 "$logs/$name.log" >&2 || true
      return 1
    fi
    sleep 0.3
  done
}

# spawn NAME COMMAND...: starts COMMAND in the background with its log and pid file.
spawn() {
  local name=$1; shift
  setsid "$@" >>"$logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$run/$name.pid"
}

stop_pid() {
  local name=$1
  [ -f "$run/$name.pid" ] || return 0
  local pid; pid=$(cat "$run/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$run/$name.pid"
}

# dockerd flags common to every engine: no iptables, so an engine never touches the
# machine's own networking. DIR is the engine's state folder; BRIDGE the address of its
# bridge network, or "none" (the build host: builds need no network).
dockerd_args() {
  local dir=$1 bridge=$2 net=(--bridge=none)
  # A node's bridge lives inside the node's own namespace (dockerd runs there), on an
  # address range of the project's own; published ports go through docker-proxy.
  [ "$bridge" != none ] && net=(--bip "$bridge")
  echo --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    "${net[@]}" --iptables=false --ip-masq=false --shutdown-timeout 2 \
    --insecure-registry "$host_ip:$REGISTRY_PORT"
}

# --- the swarm's and the cluster's addresses and their parts of the node inventory (src/core/schemas/inventory.ts) ---
# Addresses on the fog bridge: fog-N at .(10+N), swarm-N at .(200+N), kube-N at .(220+N),
# so a benchmark's wide stack (up to MAX_FOG_NODES fog nodes) never takes a swarm node's.
MAX_FOG_NODES=180 MAX_SWARM_NODES=20 MAX_KUBE_NODES=20
fog_ip() { echo "$FOG_SUBNET.$((10 + $1))"; }
swarm_ip() { echo "$FOG_SUBNET.$((200 + $1))"; }
kube_ip() { echo "$FOG_SUBNET.$((220 + $1))"; }
# check_count NAME VALUE MAX: a node count the address plan has room for, or a clear refusal.
check_count() {
  [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -le "$3" ] ||
    { log "$1 must be a whole number from 0 to $3 (the fog bridge's address plan), not '$2'"; exit 1; }
}

# The swarm, reached through its manager's engine: plain TCP on the stack's own bridge, which
# the inventory must call insecure.
swarm_inventory_swarms() {
  printf '{ "id": "local-swarm", "managers": [{ "host": "%s", "port": 2375, "insecure": true }] }' "$(swarm_ip 1)"
}

# One inventory node per swarm node, comma-separated, one a line (PREFIX starts each line).
# Each names its own engine too: exec tests run in a task's container through it.
swarm_inventory_nodes() {
  local prefix=${1:-} i ip sep=""
  for i in $(seq 1 "$SWARM_NODES"); do
    ip=$(swarm_ip "$i")
    printf '%s%s{ "id": "swarm-%s", "target": { "kind": "swarm", "swarm": "local-swarm", "hostname": "swarm-%s", "engine": { "host": "%s", "port": 2375, "insecure": true } }, "address": "%s", "labels": { "zone": "local" } }' \
      "$sep" "$prefix" "$i" "$i" "$ip" "$ip"
    sep=$',\n'
  done
}

# The cluster, reached as the Deployer's own user (scripts/kube.sh issues its certificate).
kube_inventory_clusters() {
  local pki="$DEPLOYER_STATE/kube/pki"
  printf '{ "id": "local", "server": "https://%s:%s", "ca": "%s", "auth": { "cert": "%s", "key": "%s" }, "namespace": "%s" }' \
    "$host_ip" "$KUBE_API_PORT" "$pki/ca.pem" "$pki/deployer.pem" "$pki/deployer-key.pem" "$KUBE_NAMESPACE"
}

# One inventory node per cluster node, comma-separated, one a line (PREFIX starts each line).
kube_inventory_nodes() {
  local prefix=${1:-} i sep=""
  for i in $(seq 1 "$KUBE_NODES"); do
    printf '%s%s{ "id": "kube-%s", "target": { "kind": "kubernetes", "cluster": "local", "nodeName": "kube-%s" }, "address": "%s", "labels": { "zone": "local" } }' \
      "$sep" "$prefix" "$i" "$i" "$(kube_ip "$i")"
    sep=$',\n'
  done
}

# A Kafka broker's log4j configuration in DIR: warnings and worse, to its log (stdout).
kafka_log4j() {
  cat > "$1/log4j.properties" <<EOF
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}
