#!/usr/bin/env bash
# The local stack on real parts: a Temporal dev server, a single-node KRaft Kafka broker,
# a Docker registry, a build host Docker Engine, a fog cluster of N nodes, each a
# network namespace with its own Docker Engine on TCP, a Docker Swarm of the same kind
# of nodes (scripts/swarm.sh) and a Kubernetes cluster (scripts/kube.sh). Writes the node inventory.
#
#   scripts/stack.sh up       start what is not running (idempotent)
#   scripts/stack.sh down     stop everything it started; keeps data (`down --purge` removes it)
#   scripts/stack.sh status   one line per part
#   scripts/stack.sh inventory / write-inventory   the node inventory on stdout / written again, starting nothing
#   scripts/stack.sh stop PART / restart PART   (PART as `status` names it: temporal, kafka, fog-2, swarm-2, ...)
#   scripts/stack.sh start NODE   (a stopped fog-N or swarm-N again, nothing else)
#   scripts/stack.sh stop-kubelet kube-N / start-kubelet kube-N   (the node goes NotReady, and back)
#
# DEPLOYER_TEMPORAL_CLUSTER=1: also cluster-mode Temporal, on PostgreSQL (scripts/temporal-cluster.sh).
# DEPLOYER_KAFKA_QUORUM=1: also the three-broker Kafka quorum (scripts/kafka-quorum.sh).
# Settings (environment, defaults in lib.sh): FOG_NODES, SWARM_NODES, KUBE_NODES, FOG_SUBNET, ports, DEPLOYER_STATE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

node_ip() { fog_ip "$1"; }
is_tls() { [[ " $FOG_TLS_NODES " == *" $1 "* ]]; }
tls="$DEPLOYER_STATE/tls"

# A CA, a server certificate per TLS node (for its IP) and one client certificate for the Deployer.
make_certs() {
  mkdir -p "$tls"
  if [ ! -f "$tls/ca.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=deployer local CA" \
      -keyout "$tls/ca-key.pem" -out "$tls/ca.pem" 2>/dev/null
  fi
  if [ ! -f "$tls/cert.pem" ]; then
    openssl req -newkey rsa:2048 -nodes -subj "/CN=deployer" -keyout "$tls/key.pem" -out "$tls/client.csr" 2>/dev/null
    openssl x509 -req -in "$tls/client.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" -CAcreateserial -days 3650 \
      -extfile <(echo "extendedKeyUsage=clientAuth") -out "$tls/cert.pem" 2>/dev/null
  fi
  local i ip
  for i in $FOG_TLS_NODES; do
    [ -f "$tls/fog-$i-cert.pem" ] && continue
    ip=$(node_ip "$i")
    openssl req -newkey rsa:2048 -nodes -subj "/CN=fog-$i" -keyout "$tls/fog-$i-key.pem" -out "$tls/fog-$i.csr" 2>/dev/null
    openssl x509 -req -in "$tls/fog-$i.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" -CAcreateserial -days 3650 \
      -extfile <(printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth' "$ip") -out "$tls/fog-$i-cert.pem" 2>/dev/null
  done
  # The broker's TLS listener: a certificate for 127.0.0.1 in a PKCS#12 keystore (Kafka's
  # JVM reads one), its password and the Deployer's SASL password beside it.
  if [ ! -f "$tls/kafka.p12" ]; then
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kafka" -keyout "$tls/kafka-key.pem" -out "$tls/kafka.csr" 2>/dev/null
    openssl x509 -req -in "$tls/kafka.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" -CAcreateserial -days 3650 \
      -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth') -out "$tls/kafka-cert.pem" 2>/dev/null
    (umask 077 && openssl rand -hex 16 > "$tls/kafka-keystore.pass" && openssl rand -hex 24 > "$tls/kafka-deployer.password")
    openssl pkcs12 -export -in "$tls/kafka-cert.pem" -inkey "$tls/kafka-key.pem" -name kafka \
      -passout "file:$tls/kafka-keystore.pass" -out "$tls/kafka.p12"
  fi
  chmod 600 "$tls"/*key.pem "$tls/kafka.p12" "$tls/kafka-keystore.pass" "$tls/kafka-deployer.password"
}

up_network() {
  if ! ip link show "$bridge_if" >/dev/null 2>&1; then
    ip link add "$bridge_if" type bridge
    ip addr add "$host_ip/24" dev "$bridge_if"
    ip link set "$bridge_if" up
  fi
  for i in $(seq 1 "$FOG_NODES"); do
    local ns="fog-$i" ip; ip=$(node_ip "$i")
    ip netns list | grep -qw "^$ns" || ip netns add "$ns"
    if ! ip link show "vfog$i" >/dev/null 2>&1; then
      ip link add "vfog$i" type veth peer name eth0 netns "$ns"
      ip link set "vfog$i" master "$bridge_if"
      ip link set "vfog$i" up
      ip netns exec "$ns" ip addr add "$ip/24" dev eth0
      ip netns exec "$ns" ip link set eth0 up
      ip netns exec "$ns" ip link set lo up
    fi
  done
}

up_build_engine() {
  alive build-engine && return 0
  local dir="$DEPLOYER_STATE/build-engine"; mkdir -p "$dir"
  log "starting build host Docker Engine"
  # shellcheck disable=SC2046
  spawn build-engine dockerd $(dockerd_args "$dir" none) -H "unix://$dir/docker.sock" --tls=false
  wait_for build-engine 60 docker -H "unix://$dir/docker.sock" version
}

# Fog nodes numbered above FOG_NODES (a benchmark's wider stack) go, so the stack matches its settings.
down_surplus_nodes() {
  local i
  for f in "$run"/fog-*.pid; do
    [ -e "$f" ] || continue
    i=$(basename "$f" .pid); i=${i#fog-}
    [ "$i" -le "$FOG_NODES" ] && continue
    log "stopping fog-$i (FOG_NODES is $FOG_NODES)"
    stop_pid "fog-$i"
    for pid in $(ip netns pids "fog-$i" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "fog-$i" 2>/dev/null || true
    ip link del "vfog$i" 2>/dev/null || true
  done
}

up_nodes() {
  down_surplus_nodes
  for i in $(seq 1 "$FOG_NODES"); do
    local name="fog-$i" dir="$DEPLOYER_STATE/nodes/fog-$i" ip; ip=$(node_ip "$i")
    alive "$name" && continue
    mkdir -p "$dir"
    local listen=(-H "tcp://$ip:2375" --tls=false)
    if is_tls "$i"; then
      listen=(-H "tcp://$ip:2376" --tlsverify --tlscacert "$tls/ca.pem" --tlscert "$tls/fog-$i-cert.pem" --tlskey "$tls/fog-$i-key.pem")
    fi
    log "starting Docker Engine of $name at ${listen[1]}$(is_tls "$i" && echo ' (TLS, client certificates)')"
    # nsenter, not `ip netns exec`: the latter remounts /sys and dockerd then fails.
    # shellcheck disable=SC2046
    spawn "$name" nsenter --net="/var/run/netns/$name" dockerd $(dockerd_args "$dir" "$FOG_BRIDGE_PREFIX.$i.1/24") \
      -H "unix://$dir/docker.sock" "${listen[@]}"
  done
  for i in $(seq 1 "$FOG_NODES"); do
    wait_for "fog-$i" 60 docker -H "unix://$DEPLOYER_STATE/nodes/fog-$i/docker.sock" version
  done
}

up_registry() {
  # One storage, two listeners: the build host pushes on loopback, the nodes pull on the
  # fog network. Without a blob cache both see the same content at once.
  local dir="$DEPLOYER_STATE/registry"; mkdir -p "$dir/storage"
  for where in local fog; do
    local addr=127.0.0.1; [ "$where" = fog ] && addr=$host_ip
    alive "registry-$where" && continue
    cat > "$dir/$where.yml" <<EOF
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $dir/storage }
  delete: { enabled: true }
http:
  addr: $addr:$REGISTRY_PORT
  secret: deployer-local-registry
EOF
    log "starting registry on $addr:$REGISTRY_PORT"
    spawn "registry-$where" docker-registry serve "$dir/$where.yml"
    wait_for "registry-$where" 30 curl -fsS "http://$addr:$REGISTRY_PORT/v2/"
  done
}

up_base_image() {
  local sock="unix://$DEPLOYER_STATE/build-engine/docker.sock"
  docker -H "$sock" image inspect local/busybox:1 >/dev/null 2>&1 && return 0
  log "importing local/busybox:1 from Debian's busybox-static"
  local root; root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/www" "$root/etc"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
  tar -C "$root" -c . | docker -H "$sock" import -c 'ENV PATH=/bin' - local/busybox:1 >/dev/null
  rm -rf "$root"
  # Also in the registry, for requests that name a prebuilt image.
  docker -H "$sock" tag local/busybox:1 "127.0.0.1:$REGISTRY_PORT/busybox:1"
  docker -H "$sock" push "127.0.0.1:$REGISTRY_PORT/busybox:1" >/dev/null
}

# The dev server's defaults put 30-50 ms of polling delay before every task (its queue
# processors poll the database at most 20 times a second per shard, and it has one shard)
# and sync SQLite's journal on every write; eager activity dispatch is off before server
# 1.32. Measured with the Deployer's own workflows, a one-node deployment took 1.43 s with
# the defaults and 0.27 s with these.
temporal_tuning=(
  --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal
  --dynamic-config-value history.transferProcessorMaxPollRPS=1000
  --dynamic-config-value history.timerProcessorMaxPollRPS=1000
  --dynamic-config-value history.visibilityProcessorMaxPollRPS=1000
  --dynamic-config-value system.enableActivityEagerExecution=true
)

up_temporal() {
  if ! alive temporal; then start_temporal; fi
  up_temporal_ui
}

# The Web UI on its own server, not the dev server's: only its configuration can have the UI
# send the codec server's session cookie (includeCredentials), so that an operator who signed
# in once at the codec server reads decoded payloads with no setting to change.
up_temporal_ui() {
  alive temporal-ui && return 0
  local dir="$DEPLOYER_STATE/temporal-ui/config"; mkdir -p "$dir"
  cat > "$dir/development.yaml" <<EOF
temporalGrpcAddress: 127.0.0.1:$TEMPORAL_PORT
host: 127.0.0.1
port: $TEMPORAL_UI_PORT
enableUi: true
hideLogs: true
defaultNamespace: default
notifyOnNewVersion: false
cors:
  cookieInsecure: true
codec:
  endpoint: http://127.0.0.1:$DEPLOYER_CODEC_PORT
  includeCredentials: true
EOF
  log "starting the Temporal Web UI on http://127.0.0.1:$TEMPORAL_UI_PORT (codec server http://127.0.0.1:$DEPLOYER_CODEC_PORT)"
  spawn temporal-ui "$TEMPORAL_UI_BIN" --root "$DEPLOYER_STATE/temporal-ui" --config config --env development start
  wait_for temporal-ui 30 curl -fsS "http://127.0.0.1:$TEMPORAL_UI_PORT/api/v1/settings"
}

# Jaeger v2 keeps the Deployer's traces (docs/tracing.md) in memory: an OpenTelemetry
# Collector pipeline (OTLP/HTTP in, Jaeger's storage out) and the query service with its UI.
# Every listener on loopback; the Collector's own metrics off (they would take port 8888).
up_jaeger() {
  alive jaeger && return 0
  local dir="$DEPLOYER_STATE/jaeger"; mkdir -p "$dir"
  cat > "$dir/config.yaml" <<EOF
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memory_store:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memory_store
    http:
      endpoint: 127.0.0.1:$JAEGER_UI_PORT
    grpc:
      endpoint: 127.0.0.1:$JAEGER_QUERY_GRPC_PORT
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$JAEGER_OTLP_PORT
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: memory_store
EOF
  log "starting Jaeger on http://127.0.0.1:$JAEGER_UI_PORT (OTLP/HTTP in on 127.0.0.1:$JAEGER_OTLP_PORT)"
  spawn jaeger "$JAEGER_BIN" --config "$dir/config.yaml"
  wait_for jaeger 30 curl -fsS "http://127.0.0.1:$JAEGER_UI_PORT/api/services"
}

start_temporal() {
  local sa=()
  for a in "${search_attributes[@]}"; do sa+=(--search-attribute "$a"); done
  log "starting Temporal dev server on 127.0.0.1:$TEMPORAL_PORT"
  spawn temporal "$TEMPORAL_BIN" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" \
    --headless --db-filename "$DEPLOYER_STATE/temporal.db" --log-level warn "${sa[@]}" "${temporal_tuning[@]}"
  wait_for temporal 60 "$TEMPORAL_BIN" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT"
  wait_for temporal 30 "$TEMPORAL_BIN" operator search-attribute list --address "127.0.0.1:$TEMPORAL_PORT"
  # Rollback and Scale start from the application's past operations, which Temporal keeps
  # only this long after they close (the dev server's default is one day).
  "$TEMPORAL_BIN" operator namespace update --address "127.0.0.1:$TEMPORAL_PORT" --namespace default \
    --retention "$TEMPORAL_RETENTION" >/dev/null
}

kafka_java() { java -Xmx512m -Xms256m -Dlog4j.configuration="file:$DEPLOYER_STATE/kafka/log4j.properties" -cp "$KAFKA_HOME/libs/*" "$@"; }

up_kafka() {
  local dir="$DEPLOYER_STATE/kafka"; mkdir -p "$dir"
  # Two listeners for clients: plain TCP on loopback (the local stack's default) and TLS with
  # SASL/SCRAM, as a production broker would have (docs/configuration.md, "Kafka").
  (umask 077 && cat > "$dir/server.properties.new" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_SSL://127.0.0.1:$KAFKA_TLS_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_SSL://127.0.0.1:$KAFKA_TLS_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$tls/kafka.p12
ssl.keystore.password=$(cat "$tls/kafka-keystore.pass")
log.dirs=$dir/data
num.partitions=3
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
message.max.bytes=2097152
EOF
  )
  # A broker running on another configuration (a stack from before a change here) restarts on this one.
  if alive kafka && ! cmp -s "$dir/server.properties.new" "$dir/server.properties"; then
    log "Kafka's configuration changed: restarting the broker"
    stop_pid kafka
  fi
  mv "$dir/server.properties.new" "$dir/server.properties"
  if ! alive kafka; then
    kafka_log4j "$dir"
    if [ ! -f "$dir/data/meta.properties" ]; then
      kafka_java kafka.tools.StorageTool format -t "$(kafka_java kafka.tools.StorageTool random-uuid)" \
        -c "$dir/server.properties" >>"$logs/kafka.log" 2>&1
    fi
    log "starting Kafka broker on 127.0.0.1:$KAFKA_PORT"
    spawn kafka java -Xmx512m -Xms256m -Dlog4j.configuration="file:$dir/log4j.properties" \
      -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$dir/server.properties"
  fi
  wait_for kafka 90 bash -c "exec 3<>/dev/tcp/127.0.0.1/$KAFKA_PORT"
  # The Deployer's SCRAM credential, once per broker data (KRaft keeps it in its metadata).
  if [ ! -f "$dir/data/.scram-deployer" ]; then
    kafka_java kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --alter --entity-type users --entity-name deployer \
      --add-config "SCRAM-SHA-512=[iterations=8192,password=$(cat "$tls/kafka-deployer.password")]" >>"$logs/kafka.log" 2>&1
    touch "$dir/data/.scram-deployer"
  fi
  local have; have=$(kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list 2>/dev/null)
  local topic
  local records="${DEPLOYER_RECORDS_TOPIC:-deployer.records}" nodes="${DEPLOYER_NODES_TOPIC-platform.nodes}"
  for topic in "${DEPLOYER_REQUESTS_TOPIC:-deployer.requests}" "${DEPLOYER_EVENTS_TOPIC:-deployer.events}" "${DEPLOYER_DLQ_TOPIC:-deployer.requests.dlq}" "$records" $nodes; do
    grep -qx "$topic" <<<"$have" && continue
    # Deployment records keep the latest record per deploymentId, and the Node Manager's topic
    # the latest record per node (docs/node-manager.md), for as long as the topic lives.
    local extra=(); { [ "$topic" = "$records" ] || [ "$topic" = "$nodes" ]; } && extra=(--config cleanup.policy=compact)
    kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --create --if-not-exists \
      --topic "$topic" --partitions 3 --replication-factor 1 --config max.message.bytes=2097152 "${extra[@]}" >/dev/null
  done
}

# The node inventory (src/core/schemas/inventory.ts) of the stack as its settings make it, on
# stdout. Its plain-TCP engines are marked "insecure": they listen only on the stack's own
# bridge on this machine, a network the inventory may trust; a real one would give "tls".
inventory_json() {
  local nodes=""
  for i in $(seq 1 "$FOG_NODES"); do
    local ip docker; ip=$(node_ip "$i")
    docker="{ \"host\": \"$ip\", \"port\": 2375, \"insecure\": true }"
    if is_tls "$i"; then
      docker="{ \"host\": \"$ip\", \"port\": 2376, \"tls\": { \"ca\": \"$tls/ca.pem\", \"cert\": \"$tls/cert.pem\", \"key\": \"$tls/key.pem\" } }"
    fi
    nodes+="${nodes:+,}
    { \"id\": \"fog-$i\", \"target\": { \"kind\": \"docker-engine\", \"docker\": $docker }, \"address\": \"$ip\", \"labels\": { \"zone\": \"local\" } }"
  done
  # The swarm's nodes come after the fog nodes; without swarm nodes there is no swarm to name.
  local swarms=""
  if [ "$SWARM_NODES" -gt 0 ]; then
    swarms="
  \"swarms\": [
    $(swarm_inventory_swarms)
  ],"
    nodes+="${nodes:+,}
$(swarm_inventory_nodes '    ')"
  fi
  # The cluster's nodes come last; likewise, no nodes, no cluster.
  local clusters=""
  if [ "$KUBE_NODES" -gt 0 ]; then
    clusters="
  \"clusters\": [
    $(kube_inventory_clusters)
  ],"
    nodes+="${nodes:+,}
$(kube_inventory_nodes '    ')"
  fi
  cat <<EOF
{
  "registry": { "push": "127.0.0.1:$REGISTRY_PORT", "pull": "$host_ip:$REGISTRY_PORT" },
  "buildHost": { "docker": { "socketPath": "$DEPLOYER_STATE/build-engine/docker.sock" } },$swarms$clusters
  "tls": { "fleet": { "ca": "$tls/ca.pem", "cert": "$tls/cert.pem", "key": "$tls/key.pem" } },
  "nodes": [$nodes
  ]
}
EOF
}

# Replaced whole (a new file renamed over the old): workers and tests read it at any moment.
write_inventory() {
  inventory_json > "$DEPLOYER_STATE/inventory.json.tmp"
  mv "$DEPLOYER_STATE/inventory.json.tmp" "$DEPLOYER_STATE/inventory.json"
}

# The key that encrypts workflow payloads (src/codec), made once and never replaced: histories
# written with it would become unreadable. README "Encrypted history" tells how to rotate.
make_payload_keys() {
  local file="${DEPLOYER_PAYLOAD_KEYS_FILE:-$DEPLOYER_STATE/payload-keys.json}"
  [ -f "$file" ] && return 0
  log "writing a new payload encryption key to $file"
  (umask 077 && printf '{ "current": "k1", "keys": { "k1": "%s" } }\n' "$(openssl rand -base64 32)" > "$file.tmp")
  mv "$file.tmp" "$file"
}

# The token the codec server asks for (src/codec), made once: an operator signs in with it at
# the codec server's page (docs/encrypted-history.md); the demo and the tests read it here.
make_codec_token() {
  local file="$DEPLOYER_STATE/codec.token"
  [ -f "$file" ] && return 0
  (umask 077 && openssl rand -hex 24 > "$file.tmp")
  mv "$file.tmp" "$file"
}

up() {
  [ "$(id -u)" = 0 ] || { log "the local stack needs root (network namespaces, Docker Engines)"; exit 1; }
  check_count FOG_NODES "$FOG_NODES" "$MAX_FOG_NODES"
  check_count SWARM_NODES "$SWARM_NODES" "$MAX_SWARM_NODES"
  check_count KUBE_NODES "$KUBE_NODES" "$MAX_KUBE_NODES"
  bash "$here/install.sh"
  mkdir -p "$run" "$logs"
  up_network
  # The cluster first of all, on the bridge just made: it takes seconds, but on a new
  # machine its binaries are built first (scripts/install-kubernetes.sh, ~10 minutes).
  local kube_job=""
  if [ "$KUBE_NODES" -gt 0 ]; then
    bash "$here/kube.sh" up &
    kube_job=$!
  fi
  make_certs
  up_jaeger
  up_temporal &
  local temporal_job=$!
  # Cluster mode (docs/cluster-mode.md): the real server on PostgreSQL beside the dev server.
  local cluster_job=""
  if [ "$DEPLOYER_TEMPORAL_CLUSTER" = 1 ]; then
    bash "$here/temporal-cluster.sh" up &
    cluster_job=$!
  fi
  up_kafka &
  local kafka_job=$!
  # Cluster mode's Kafka (docs/cluster-mode.md): three brokers beside the single one.
  local quorum_job=""
  if [ "$DEPLOYER_KAFKA_QUORUM" = 1 ]; then
    bash "$here/kafka-quorum.sh" up &
    quorum_job=$!
  fi
  up_build_engine
  up_nodes
  # The swarm forms while the registry and the base image come up; it needs neither to start.
  bash "$here/swarm.sh" up &
  local swarm_job=$!
  up_registry
  up_base_image
  # The inventory names the cluster only once it is up, and its certificates exist.
  [ -z "$kube_job" ] || wait "$kube_job"
  write_inventory
  make_payload_keys
  make_codec_token
  wait "$temporal_job"
  [ -z "$cluster_job" ] || wait "$cluster_job"
  wait "$kafka_job"
  [ -z "$quorum_job" ] || wait "$quorum_job"
  wait "$swarm_job"
  local swarm="no swarm"
  [ "$SWARM_NODES" -gt 0 ] && swarm="a swarm of $SWARM_NODES nodes (manager tcp://$(swarm_ip 1):2375)"
  local cluster="no Kubernetes cluster"
  [ "$KUBE_NODES" -gt 0 ] && cluster="a Kubernetes cluster of $KUBE_NODES nodes (API https://$host_ip:$KUBE_API_PORT, namespace $KUBE_NAMESPACE)"
  log "stack is up: Temporal 127.0.0.1:$TEMPORAL_PORT (UI http://127.0.0.1:$TEMPORAL_UI_PORT), Jaeger http://127.0.0.1:$JAEGER_UI_PORT, Kafka 127.0.0.1:$KAFKA_PORT, registry $host_ip:$REGISTRY_PORT, $FOG_NODES fog nodes, $swarm, $cluster; inventory $DEPLOYER_STATE/inventory.json"
}

down() {
  mkdir -p "$run"
  local name
  # The cluster before anything else: its nodes hang on the bridge removed below, and the
  # loop below would stop its processes by their pid files alone, leaving its pods, cgroups
  # and the kubelet's kernel settings behind. Its down removes those pid files, so the loop
  # never meets them.
  bash "$here/kube.sh" down "$@" || log "the cluster did not go down cleanly; going on"
  # The swarm's engines, namespaces and mounts next: they hang on the bridge removed below.
  bash "$here/swarm.sh" down "$@" || log "the swarm did not go down cleanly; going on"
  for f in "$run"/*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid)
    stop_pid "$name"
  done
  for i in $(seq 1 64); do
    ip netns list 2>/dev/null | grep -qw "^fog-$i" || continue
    # Anything left in the namespace (a container's process whose engine was killed) goes with it.
    for pid in $(ip netns pids "fog-$i" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "fog-$i" 2>/dev/null || true
  done
  for dev in $(ip -o link show 2>/dev/null | grep -oE 'vfog[0-9]+' | sort -u); do ip link del "$dev" 2>/dev/null || true; done
  ip link del "$bridge_if" 2>/dev/null || true
  # Engines were stopped; their mounts under the state folder must go before a purge.
  # (grep finding none must not end the script: pipefail.)
  { grep -oE " $DEPLOYER_STATE/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  if [ "${1:-}" = --purge ]; then rm -rf "$DEPLOYER_STATE"; log "stack is down; state removed"; else log "stack is down"; fi
}

status() {
  local parts=(temporal temporal-ui jaeger kafka build-engine registry-local registry-fog)
  for i in $(seq 1 "$FOG_NODES"); do parts+=("fog-$i"); done
  for p in "${parts[@]}"; do
    if alive "$p"; then echo "$p: running (pid $(cat "$run/$p.pid"))"; else echo "$p: stopped"; fi
  done
  if [ "$DEPLOYER_TEMPORAL_CLUSTER" = 1 ] || [ -f "$run/temporal-cluster.pid" ]; then bash "$here/temporal-cluster.sh" status; fi
  bash "$here/swarm.sh" status
  bash "$here/kube.sh" status
  if [ "$DEPLOYER_KAFKA_QUORUM" = 1 ] || compgen -G "$run/kafka-q*.pid" >/dev/null; then bash "$here/kafka-quorum.sh" status; fi
}

# Starts one stopped node again and nothing else, so that a fault test on one node leaves the
# nodes other tests stopped as they are.
start_part() {
  mkdir -p "$run" "$logs"
  case "$1" in
    fog-*) up_nodes ;;
    swarm-*) bash "$here/swarm.sh" up ;;
    *) log "start takes a fog-N or swarm-N node, not '$1' (up starts everything)"; exit 2 ;;
  esac
}

case "${1:-}" in
  up) up ;;
  start) [ -n "${2:-}" ] || { echo "usage: $0 start NODE" >&2; exit 2; }; start_part "$2" ;;
  # Stops one part (gracefully) and brings the stack up again: what fault-injection tests use.
  restart) [ -n "${2:-}" ] || { echo "usage: $0 restart PART" >&2; exit 2; }; stop_pid "$2"; up ;;
  stop) [ -n "${2:-}" ] || { echo "usage: $0 stop PART" >&2; exit 2; }; stop_pid "$2" ;;
  down) shift; down "$@" ;;
  status) status ;;
  # The inventory from the settings, printed or written again; nothing started or stopped.
  inventory) inventory_json ;;
  write-inventory) write_inventory ;;
  # Fault injection on a cluster node, through kube.sh: start-kubelet returns once the node is Ready again.
  stop-kubelet|start-kubelet) bash "$here/kube.sh" "$1" "${2:-}" ;;
  *) echo "usage: $0 up | down [--purge] | status | inventory | write-inventory | stop PART | start NODE | restart PART | stop-kubelet kube-N | start-kubelet kube-N" >&2; exit 2 ;;
esac
