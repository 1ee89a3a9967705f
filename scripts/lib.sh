# Shared settings of the stack scripts. Every path and port can be overridden from the
# environment; the defaults match src/config.ts.
: "${DEPLOYER_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/deployer}"
: "${DEPLOYER_STATE:=${XDG_STATE_HOME:-$HOME/.local/state}/deployer}"
: "${TEMPORAL_CLI_VERSION:=v1.5.1}"
: "${TEMPORAL_BIN:=$DEPLOYER_CACHE/temporal-$TEMPORAL_CLI_VERSION/temporal}"
: "${KAFKA_VERSION:=3.9.1}"
: "${KAFKA_HOME:=$DEPLOYER_CACHE/kafka-$KAFKA_VERSION}"
: "${KUBE_VERSION:=v1.37.2}"
: "${KUBE_HOME:=$DEPLOYER_CACHE/kubernetes-$KUBE_VERSION}"
: "${ETCD_HOME:=$DEPLOYER_CACHE/etcd}"
: "${TEMPORAL_PORT:=7233}"
: "${TEMPORAL_UI_PORT:=8233}"
# How long Temporal keeps closed workflows, the history Rollback and Scale start from.
: "${TEMPORAL_RETENTION:=720h}"
: "${KAFKA_PORT:=19092}"
: "${KAFKA_CONTROLLER_PORT:=19093}"
: "${REGISTRY_PORT:=5000}"
: "${FOG_NODES:=3}"
: "${FOG_SUBNET:=10.77.0}"
# Node N's engine puts its bridge network (for containers with network "bridge") on PREFIX.N.0/24, inside node N's namespace.
: "${FOG_BRIDGE_PREFIX:=10.78}"
# Nodes (by number) whose engines accept only TLS with client certificates, as real nodes do.
: "${FOG_TLS_NODES:=3}"
# The local Kubernetes cluster (scripts/kube.sh): node N is network namespace kube-N at
# FOG_SUBNET.(70+N); the API server listens on the fog bridge, FOG_SUBNET.1.
: "${KUBE_NODES:=2}"
: "${KUBE_API_PORT:=6443}"
# etcd's client port on loopback (its peer port is the next one); not 2379, which a system etcd may hold.
: "${KUBE_ETCD_PORT:=12379}"
: "${KUBE_SERVICE_CIDR:=10.96.0.0/16}"
# Node N's pods get PREFIX.N.0/24, on a bridge inside node N's namespace.
: "${KUBE_POD_PREFIX:=10.88}"
# How long a node whose kubelet went silent stays Ready (kube-controller-manager's grace period).
: "${KUBE_NODE_GRACE:=20s}"
export DEPLOYER_CACHE DEPLOYER_STATE TEMPORAL_CLI_VERSION TEMPORAL_BIN KAFKA_VERSION KAFKA_HOME KUBE_VERSION KUBE_HOME ETCD_HOME

log() { printf '[stack] %s\n' "$*" >&2; }
