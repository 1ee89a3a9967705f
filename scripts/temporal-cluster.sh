#!/usr/bin/env bash
# Cluster mode's Temporal (docs/cluster-mode.md): the real Temporal server, all four of its
# services in one process, on a PostgreSQL cluster of its own, beside the dev server (which
# stays the default on TEMPORAL_PORT). Everything listens on loopback only.
#
#   scripts/temporal-cluster.sh up       build what is missing (once), start what is not running (idempotent)
#   scripts/temporal-cluster.sh down     stop the server, then PostgreSQL; keeps the data
#   scripts/temporal-cluster.sh status   one line per part
#
# scripts/stack.sh up runs `up` when DEPLOYER_TEMPORAL_CLUSTER=1. Pid files: temporal-cluster,
# temporal-pg (stack.sh down stops them with the rest, the server first: it sorts first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

dir="$DEPLOYER_STATE/temporal-cluster"
pg_data="$dir/pg"
server_bin="$TEMPORAL_SERVER_HOME/temporal-server"
sql_tool_bin="$TEMPORAL_SERVER_HOME/temporal-sql-tool"
address="127.0.0.1:$TEMPORAL_CLUSTER_PORT"
# The server's other ports follow its frontend's: gRPC of history, matching and worker at +1..+3,
# the frontend's HTTP API at +4, each service's membership (ringpop) port at +10..+13. With the
# default 7243: 7243-7247 and 7253-7256, clear of lib.sh's ports and of the dev server's 7233.
port_of() {
  case "$1" in
    history) echo $((TEMPORAL_CLUSTER_PORT + 1)) ;; matching) echo $((TEMPORAL_CLUSTER_PORT + 2)) ;;
    worker) echo $((TEMPORAL_CLUSTER_PORT + 3)) ;; http) echo $((TEMPORAL_CLUSTER_PORT + 4)) ;;
    frontend-membership) echo $((TEMPORAL_CLUSTER_PORT + 10)) ;; history-membership) echo $((TEMPORAL_CLUSTER_PORT + 11)) ;;
    matching-membership) echo $((TEMPORAL_CLUSTER_PORT + 12)) ;; worker-membership) echo $((TEMPORAL_CLUSTER_PORT + 13)) ;;
  esac
}

pg_bin() {
  local found
  found=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1)
  [ -n "$found" ] || { log "no PostgreSQL binaries (/usr/lib/postgresql/*/bin): scripts/install.sh temporal-server installs them"; exit 1; }
  dirname "$found"
}

# PostgreSQL refuses to run as root. As root, it runs in a user namespace that maps the
# postgres account onto root: it is not root there, and its files, under root's state folder
# (which the postgres account could not even enter), stay root's, with no permission changed.
as_pg=()
[ "$(id -u)" = 0 ] && as_pg=(unshare --user --map-user="$(id -u postgres)" --map-group="$(id -g postgres)")

# Passwords, made once, never in a command line or a log: the superuser's (only this script
# uses it, to create the server's role) and the server's own role "temporal".
password() {
  local file="$dir/$1.password"
  [ -f "$file" ] || (umask 077 && openssl rand -hex 24 > "$file")
  cat "$file"
}

psql_admin() { PGPASSWORD=$(password postgres) psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$TEMPORAL_CLUSTER_PG_PORT" -U postgres -d postgres "$@"; }

up_pg() {
  local bin; bin=$(pg_bin)
  if [ ! -f "$pg_data/PG_VERSION" ]; then
    log "creating the PostgreSQL cluster of cluster-mode Temporal in $pg_data"
    rm -rf "$pg_data"
    password postgres >/dev/null
    # (As root, initdb in its user namespace still reads root's files: it is root outside.)
    "${as_pg[@]}" "$bin/initdb" -D "$pg_data" -U postgres --auth=scram-sha-256 --pwfile="$dir/postgres.password" -E UTF8 --no-instructions >>"$logs/temporal-pg.log" 2>&1 ||
      { log "initdb failed; last lines of $logs/temporal-pg.log:"; tail -n 20 "$logs/temporal-pg.log" >&2; exit 1; }
  fi
  if ! alive temporal-pg; then
    log "starting PostgreSQL for cluster-mode Temporal on 127.0.0.1:$TEMPORAL_CLUSTER_PG_PORT"
    # TCP on loopback only (no Unix socket: nothing here would use it). The server opens up to
    # 4 services x (maxConns + visibility maxConns) connections: room for those and the tools.
    spawn temporal-pg "${as_pg[@]}" "$bin/postgres" -D "$pg_data" -p "$TEMPORAL_CLUSTER_PG_PORT" \
      -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=150
  fi
  wait_for temporal-pg 60 "$bin/pg_isready" -q -h 127.0.0.1 -p "$TEMPORAL_CLUSTER_PG_PORT"
  # The server's own role: it creates and owns its two databases (temporal-sql-tool does that).
  local pw; pw=$(password temporal)
  psql_admin <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'temporal') THEN CREATE ROLE temporal LOGIN CREATEDB; END IF;
END \$\$;
ALTER ROLE temporal PASSWORD '$pw';
SQL
}

# Creates each database once and brings its schema to the newest version the server knows
# (update-schema applies only what is missing, so a second `up`, or a newer server, just works).
up_schema() {
  local db schema
  for db in temporal temporal_visibility; do
    schema=postgresql/v12/temporal; [ "$db" = temporal_visibility ] && schema=postgresql/v12/visibility
    if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
      log "creating database $db and its schema"
      sql_tool "$db" create-database
      sql_tool "$db" setup-schema -v 0.0
    fi
    sql_tool "$db" update-schema --schema-name "$schema"
  done
}

# sql_tool DB ARGS...: temporal-sql-tool on one database, as the server's role (the password
# through its environment); its output goes to the server's log.
sql_tool() {
  local db=$1; shift
  SQL_PLUGIN=postgres12 SQL_HOST=127.0.0.1 SQL_PORT=$TEMPORAL_CLUSTER_PG_PORT SQL_USER=temporal \
    SQL_PASSWORD=$(password temporal) SQL_DATABASE=$db "$sql_tool_bin" "$@" >>"$logs/temporal-cluster.log" 2>&1 ||
    { log "temporal-sql-tool $1 on $db failed; last lines of $logs/temporal-cluster.log:"; tail -n 20 "$logs/temporal-cluster.log" >&2; exit 1; }
}

write_config() {
  mkdir -p "$dir/config"
  local pw; pw=$(password temporal)
  # The same tuning as the dev server's in stack.sh (temporal_tuning, which says why), and the
  # two limits the dev server raises over the server's defaults (its devserver/server.go).
  cat > "$dir/config/dynamicconfig.yaml" <<EOF
history.transferProcessorMaxPollRPS:
  - value: 1000
history.timerProcessorMaxPollRPS:
  - value: 1000
history.visibilityProcessorMaxPollRPS:
  - value: 1000
system.enableActivityEagerExecution:
  - value: true
history.hostLevelCacheMaxSize:
  - value: 8096
frontend.namespaceRPS.visibility:
  - value: 100
EOF
  local store datastores=""
  for store in temporal temporal_visibility; do
    local conns=10; [ "$store" = temporal_visibility ] && conns=4
    datastores+="
    $store:
      sql:
        pluginName: postgres12
        databaseName: $store
        connectAddr: 127.0.0.1:$TEMPORAL_CLUSTER_PG_PORT
        connectProtocol: tcp
        user: temporal
        password: \"$pw\"
        maxConns: $conns
        maxIdleConns: $conns
        maxConnLifetime: 1h"
  done
  local service services=""
  for service in frontend history matching worker; do
    local grpc=$TEMPORAL_CLUSTER_PORT http=""
    if [ "$service" != frontend ]; then grpc=$(port_of "$service"); else http=$'\n'"      httpPort: $(port_of http)"; fi
    services+="
  $service:
    rpc:
      grpcPort: $grpc
      membershipPort: $(port_of "$service-membership")
      bindOnLocalHost: true$http"
  done
  # It holds the role's password: readable by root only.
  # (The version line makes a new server version a changed configuration, below.)
  (umask 077 && cat > "$dir/config/development.yaml.new" <<EOF
# temporal-server $TEMPORAL_SERVER_VERSION, written by scripts/temporal-cluster.sh
log:
  stdout: true
  level: warn
persistence:
  defaultStore: temporal
  visibilityStore: temporal_visibility
  numHistoryShards: 4
  datastores:$datastores
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:$services
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: $address
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: $dir/config/dynamicconfig.yaml
  pollInterval: 10s
EOF
  )
  # A server running on another configuration or version (from before a change here) restarts on this one.
  if alive temporal-cluster && ! cmp -s "$dir/config/development.yaml.new" "$dir/config/development.yaml"; then
    log "cluster-mode Temporal's configuration changed: restarting the server"
    stop_pid temporal-cluster
  fi
  mv "$dir/config/development.yaml.new" "$dir/config/development.yaml"
}

cli() { "$TEMPORAL_BIN" "$@" --address "$address"; }

# Namespace "default" with the dev server's retention, and the Deployer's search attributes.
up_namespace() {
  if cli operator namespace describe --namespace default >/dev/null 2>&1; then
    cli operator namespace update --namespace default --retention "$TEMPORAL_RETENTION" >/dev/null
  else
    log "registering namespace default (retention $TEMPORAL_RETENTION)"
    cli operator namespace create --namespace default --retention "$TEMPORAL_RETENTION" >/dev/null
  fi
  # A new namespace reaches the frontend's cache some seconds later.
  wait_for temporal-cluster 60 cli operator search-attribute list --namespace default
  local have a
  have=$(cli operator search-attribute list --namespace default)
  for a in "${search_attributes[@]}"; do
    grep -qw "${a%%=*}" <<<"$have" && continue
    cli operator search-attribute create --namespace default --name "${a%%=*}" --type "${a#*=}" >/dev/null
  done
  # Ready once a query on the Deployer's own attributes is answered.
  wait_for temporal-cluster 60 cli workflow count --namespace default --query "DeployerStatus = 'ready-probe'"
}

up() {
  [ "$DEPLOYER_TEMPORAL_CLUSTER" = 1 ] || log "note: DEPLOYER_TEMPORAL_CLUSTER is not 1; starting cluster-mode Temporal anyway, as asked"
  mkdir -p "$run" "$logs" "$dir"
  # The server is built once (minutes), PostgreSQL installed once; both skipped when present.
  bash "$here/install.sh" temporal-server
  up_pg
  write_config
  up_schema
  if ! alive temporal-cluster; then
    log "starting cluster-mode Temporal (server $TEMPORAL_SERVER_VERSION on PostgreSQL) on $address"
    spawn temporal-cluster "$server_bin" --root "$dir" --config config --env development --allow-no-auth start
  fi
  wait_for temporal-cluster 90 cli operator cluster health
  up_namespace
  log "cluster-mode Temporal is up on $address (PostgreSQL 127.0.0.1:$TEMPORAL_CLUSTER_PG_PORT)"
}

down() {
  mkdir -p "$run"
  stop_pid temporal-cluster
  if alive temporal-pg; then
    # Fast: ends the sessions left (none, the server is gone) instead of waiting on them.
    "${as_pg[@]}" "$(pg_bin)/pg_ctl" stop -D "$pg_data" -m fast -w >/dev/null 2>&1 || true
  fi
  stop_pid temporal-pg
  log "cluster-mode Temporal is down (data kept in $dir)"
}

status() {
  local p
  for p in temporal-cluster temporal-pg; do
    if alive "$p"; then echo "$p: running (pid $(cat "$run/$p.pid"))"; else echo "$p: stopped"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up | down | status" >&2; exit 2 ;;
esac
