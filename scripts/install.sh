#!/usr/bin/env bash
# Installs everything the local stack needs, from package registries only:
# Debian (Docker Engine, registry, busybox, Chromium for the Temporal UI test), the Go module proxy (Temporal CLI dev server, Jaeger)
# and Maven Central (Apache Kafka). Idempotent: what is already installed is skipped.
# `install.sh temporal-server`: only cluster mode's Temporal server and PostgreSQL (docs/cluster-mode.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

install_debian() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx httpd || missing+=(busybox-static)
  command -v nsenter >/dev/null || missing+=(util-linux)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v curl >/dev/null || missing+=(curl)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  # The browser test drives it headless (playwright-core brings no browser of its own).
  command -v chromium >/dev/null || missing+=(chromium)
  # The API's fuzz run (scripts/schemathesis.sh) makes a Python virtual environment.
  python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# The local Kubernetes cluster (scripts/kube.sh): containerd is each node's CRI runtime,
# the CNI plugins (bridge, host-local, portmap, loopback) give pods their network and
# hostPorts, iptables carries portmap's rules inside each node. etcd is only unpacked into
# the cache: installing the package would start a daemon of its own.
install_kube_parts() {
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  command -v iptables >/dev/null || missing+=(iptables)
  [ -x /usr/lib/cni/portmap ] || missing+=(containernetworking-plugins)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages for Kubernetes nodes: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  [ -f "$ETCD_HOME/.complete" ] && return
  log "unpacking Debian's etcd into $ETCD_HOME"
  local tmp; tmp=$(mktemp -d)
  # apt downloads as its sandbox user, who must own the folder (else it warns and goes on as root).
  chown _apt "$tmp" 2>/dev/null || true
  (cd "$tmp" && apt-get download -qq etcd-server etcd-client >/dev/null)
  mkdir -p "$ETCD_HOME"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$ETCD_HOME"; done
  rm -rf "$tmp"
  touch "$ETCD_HOME/.complete"
}

# The Temporal CLI carries the dev server and the Web UI. Built from its Go module because
# no binary can be downloaded; cached outside the work tree, keyed by version.
install_temporal() {
  if [ -x "$TEMPORAL_BIN" ]; then return; fi
  local go_minor
  go_minor=$(go env GOVERSION 2>/dev/null | sed -nE 's/^go1\.([0-9]+).*/\1/p')
  if [ -z "$go_minor" ] || [ "$go_minor" -lt 25 ]; then
    log "building the Temporal CLI $TEMPORAL_CLI_VERSION needs Go >= 1.25 on PATH (found: $(go env GOVERSION 2>/dev/null || echo none))"
    exit 1
  fi
  log "building Temporal CLI $TEMPORAL_CLI_VERSION from its Go module (takes minutes, once)"
  go_install_to "$TEMPORAL_BIN" "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
}

# go_install_to BIN PACKAGE@VERSION: builds one Go command and puts it at BIN.
go_install_to() {
  local bin=$1 package=$2 tmp
  mkdir -p "$(dirname "$bin")"
  tmp=$(mktemp -d)
  GOBIN="$tmp" GOFLAGS=-mod=mod CGO_ENABLED=0 go install "$package"
  local built=("$tmp"/*)
  mv "${built[0]}" "$bin"
  rm -rf "$tmp"
}

# The Temporal Web UI's server, from its Go module like the CLI (seconds once the CLI's
# modules are cached: it is one of them).
install_temporal_ui() {
  if [ -x "$TEMPORAL_UI_BIN" ]; then return; fi
  log "building the Temporal Web UI server $TEMPORAL_UI_VERSION from its Go module (once)"
  go_install_to "$TEMPORAL_UI_BIN" "github.com/temporalio/ui-server/v2/cmd/server@$TEMPORAL_UI_VERSION"
}

# Jaeger v2, which keeps the traces (docs/tracing.md), from its Go module. Its go.mod has a
# replace directive, which `go install module@version` refuses: it is built inside the
# module's own source, as its main module, from the module cache.
install_jaeger() {
  if [ -x "$JAEGER_BIN" ]; then return; fi
  log "building Jaeger $JAEGER_VERSION from its Go module (takes minutes, once)"
  local dir
  dir=$(cd / && go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { log "the Go module proxy did not give github.com/jaegertracing/jaeger@$JAEGER_VERSION"; exit 1; }
  mkdir -p "$(dirname "$JAEGER_BIN")"
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -o "$JAEGER_BIN.tmp" ./cmd/jaeger)
  mv "$JAEGER_BIN.tmp" "$JAEGER_BIN"
}

# Cluster mode's Temporal server and its schema tool (temporal-sql-tool), from the server's
# Go module (about 12 minutes once, 120 MiB); only for cluster mode (below), so that the
# default stack, on the dev server, installs as fast as before.
install_temporal_server() {
  if [ -f "$TEMPORAL_SERVER_HOME/.complete" ]; then return; fi
  log "building the Temporal server $TEMPORAL_SERVER_VERSION and temporal-sql-tool from their Go module (takes minutes, once)"
  go_install_to "$TEMPORAL_SERVER_HOME/temporal-server" "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION"
  go_install_to "$TEMPORAL_SERVER_HOME/temporal-sql-tool" "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION"
  touch "$TEMPORAL_SERVER_HOME/.complete"
}

# PostgreSQL for cluster mode: Debian's binaries only. temporal-cluster.sh runs a cluster of
# its own (initdb + pg_ctl); a system cluster that the package starts is stopped and kept off.
install_postgres() {
  if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then return; fi
  log "installing Debian's PostgreSQL (binaries only; no system cluster is left running)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql postgresql-client >/dev/null
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | while read -r version cluster _; do
      pg_ctlcluster "$version" "$cluster" stop 2>/dev/null || true
      # "manual": Debian's init scripts leave it alone at boot.
      echo manual > "/etc/postgresql/$version/$cluster/start.conf" 2>/dev/null || true
    done
  fi
}

# Apache Kafka's jars and their runtime dependencies from Maven Central.
install_kafka() {
  if [ -f "$KAFKA_HOME/.complete" ]; then return; fi
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central"
  mkdir -p "$KAFKA_HOME/libs"
  local tmp; tmp=$(mktemp -d)
  cat > "$tmp/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.deployer</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
POM
  (cd "$tmp" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs")
  rm -rf "$tmp"
  touch "$KAFKA_HOME/.complete"
}

# Cluster mode's parts, only when it is wanted: scripts/temporal-cluster.sh up asks for them
# (from stack.sh up in the background, when DEPLOYER_TEMPORAL_CLUSTER=1).
if [ "${1:-}" = temporal-server ]; then
  install_postgres
  install_temporal_server
  exit 0
fi

install_debian
install_kube_parts
install_kafka &
kafka_pid=$!
install_temporal
install_temporal_ui
install_jaeger
wait "$kafka_pid"
log "installed: $(dockerd --version | head -n1); Temporal CLI $TEMPORAL_CLI_VERSION; Temporal Web UI $TEMPORAL_UI_VERSION; Jaeger $JAEGER_VERSION; Kafka $KAFKA_VERSION"
