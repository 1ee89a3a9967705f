#!/usr/bin/env bash
# A three-broker KRaft quorum on loopback, beside the stack's single broker: what the Deployer
# runs on when it must live through the loss of any one broker (docs/cluster-mode.md, "Kafka
# quorum"). Each node is broker and controller at once; the Deployer's topics are made with
# replication factor 3 and min.insync.replicas 2, so a write acknowledged by two replicas
# survives the loss of either, and with one broker down every write still goes through.
#
#   scripts/kafka-quorum.sh up            start what is not running, format once, make the topics (idempotent)
#   scripts/kafka-quorum.sh down          stop the three brokers; keeps their data
#   scripts/kafka-quorum.sh status        one line per broker, and the quorum's leader
#   scripts/kafka-quorum.sh stop-broker N   graceful stop of broker N (1..3)
#   scripts/kafka-quorum.sh kill-broker N   SIGKILL of broker N, as a crash
#   scripts/kafka-quorum.sh start-broker N  broker N again; returns once it serves clients
#
# Clients: KAFKA_BROKERS=127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094 (KAFKA_QUORUM_PORT in lib.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

dir="$DEPLOYER_STATE/kafka-quorum"
BROKERS=(1 2 3)
client_port() { echo $((KAFKA_QUORUM_PORT + $1 - 1)); }
controller_port() { echo $((KAFKA_QUORUM_PORT + 2 + $1)); }
bootstrap() { local b=() n; for n in "${BROKERS[@]}"; do b+=("127.0.0.1:$(client_port "$n")"); done; (IFS=,; echo "${b[*]}"); }

# One JVM of Kafka's tools, with the quorum's quiet log4j; its own brokers get -Xmx256m each.
kafka_java() { java -Xmx256m -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$KAFKA_HOME/libs/*" "$@"; }

check_broker() {
  [[ " ${BROKERS[*]} " == *" ${1:-} "* ]] || { log "a broker of the quorum is 1, 2 or 3, not '${1:-}'"; exit 2; }
}

# Settings as docs/cluster-mode.md explains them: no write is acknowledged by fewer than two
# replicas, no out-of-sync replica ever becomes leader (that would drop acknowledged writes),
# and no topic appears because a client named it.
write_config() {
  local n=$1 voters="" v
  for v in "${BROKERS[@]}"; do voters+="${voters:+,}$v@127.0.0.1:$(controller_port "$v")"; done
  mkdir -p "$dir/$n"
  cat > "$dir/$n/server.properties.new" <<EOF
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(client_port "$n"),CONTROLLER://127.0.0.1:$(controller_port "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(client_port "$n")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/$n/data
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
unclean.leader.election.enable=false
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
message.max.bytes=2097152
EOF
  # A broker running on another configuration restarts on this one.
  if alive "kafka-q$n" && ! cmp -s "$dir/$n/server.properties.new" "$dir/$n/server.properties"; then
    log "broker $n's configuration changed: restarting it"
    stop_pid "kafka-q$n"
  fi
  mv "$dir/$n/server.properties.new" "$dir/$n/server.properties"
}

# Every node formatted with the one cluster id, once: a node formatted again would lose its log.
cluster_id() {
  if [ ! -s "$dir/cluster.id" ]; then
    # stdout only: the tool's warnings on stderr would otherwise become part of the id.
    kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null > "$dir/cluster.id.tmp"
    mv "$dir/cluster.id.tmp" "$dir/cluster.id"
  fi
}
format() {
  local n=$1
  [ -f "$dir/$n/data/meta.properties" ] && return 0
  cluster_id
  kafka_java kafka.tools.StorageTool format -t "$(cat "$dir/cluster.id")" -c "$dir/$n/server.properties" >>"$logs/kafka-q$n.log" 2>&1
}

start_broker() {
  local n=$1
  alive "kafka-q$n" && return 0
  format "$n"
  log "starting Kafka quorum broker $n on 127.0.0.1:$(client_port "$n") (controller :$(controller_port "$n"))"
  spawn "kafka-q$n" java -Xmx256m -Xms256m -Dlog4j.configuration="file:$dir/log4j.properties" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$dir/$n/server.properties"
}

wait_broker() {
  wait_for "kafka-q$1" 90 bash -c "exec 3<>/dev/tcp/127.0.0.1/$(client_port "$1")"
}

# The Deployer's topics as scripts/stack.sh's up_kafka makes them on the single broker (same
# names, partitions, size limit, compaction), here replicated three times, two in sync.
make_topics() {
  local have topic extra
  local records="${DEPLOYER_RECORDS_TOPIC:-deployer.records}" nodes="${DEPLOYER_NODES_TOPIC-platform.nodes}"
  # Listing answers once the controllers agree; creating needs all three brokers registered
  # (a replication factor of 3 with two is refused), hence the wait on the first creation.
  have=$(kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$(bootstrap)" --list 2>/dev/null)
  for topic in "${DEPLOYER_REQUESTS_TOPIC:-deployer.requests}" "${DEPLOYER_EVENTS_TOPIC:-deployer.events}" "${DEPLOYER_DLQ_TOPIC:-deployer.requests.dlq}" "$records" $nodes; do
    grep -qx "$topic" <<<"$have" && continue
    extra=(); { [ "$topic" = "$records" ] || [ "$topic" = "$nodes" ]; } && extra=(--config cleanup.policy=compact)
    wait_for kafka-q1 60 kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$(bootstrap)" --create --if-not-exists \
      --topic "$topic" --partitions 3 --replication-factor 3 --config min.insync.replicas=2 --config max.message.bytes=2097152 "${extra[@]}"
  done
}

up() {
  mkdir -p "$run" "$logs" "$dir"
  kafka_log4j "$dir"
  local n
  for n in "${BROKERS[@]}"; do write_config "$n"; done
  # The three formats side by side (a JVM each, seconds on a busy machine), with the one id made first.
  cluster_id
  for n in "${BROKERS[@]}"; do alive "kafka-q$n" || format "$n" & done
  wait
  for n in "${BROKERS[@]}"; do start_broker "$n"; done
  for n in "${BROKERS[@]}"; do wait_broker "$n"; done
  make_topics
  log "Kafka quorum is up: $(bootstrap)"
}

down() {
  local n
  # All at once: the last of three stopped one by one has no quorum left to shut down against and waits out stop_pid's grace.
  for n in "${BROKERS[@]}"; do stop_pid "kafka-q$n" & done
  wait
  log "Kafka quorum is down (data kept in $dir)"
}

status() {
  local n any=""
  for n in "${BROKERS[@]}"; do
    if alive "kafka-q$n"; then echo "kafka-q$n: running (pid $(cat "$run/kafka-q$n.pid"))"; any=1; else echo "kafka-q$n: stopped"; fi
  done
  [ -n "$any" ] || return 0
  # The active controller: the broker whose loss stalls every partition longest (fencing).
  local leader
  leader=$(kafka_java org.apache.kafka.tools.MetadataQuorumCommand --bootstrap-server "$(bootstrap)" describe --status 2>/dev/null | awk '/^LeaderId:/{print $2}') || true
  echo "kafka-quorum leader: ${leader:-unknown}"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  stop-broker) check_broker "${2:-}"; stop_pid "kafka-q$2" ;;
  kill-broker)
    check_broker "${2:-}"
    if alive "kafka-q$2"; then kill -KILL "$(cat "$run/kafka-q$2.pid")"; fi
    rm -f "$run/kafka-q$2.pid" ;;
  start-broker) check_broker "${2:-}"; mkdir -p "$run" "$logs"; write_config "$2"; start_broker "$2"; wait_broker "$2" ;;
  *) echo "usage: $0 up | down | status | stop-broker N | kill-broker N | start-broker N   (N: 1, 2 or 3)" >&2; exit 2 ;;
esac
