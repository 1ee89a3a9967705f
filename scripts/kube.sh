#!/usr/bin/env bash
# A real local Kubernetes cluster for the integration tests: etcd, kube-apiserver and
# kube-controller-manager in the root namespace (API on the fog bridge), and N nodes, each a
# network namespace kube-N on the fog bridge with its own containerd and kubelet.
#
#   scripts/kube.sh up                  start what is not running (idempotent)
#   scripts/kube.sh down [--purge]      stop everything, clean up, restore kernel settings;
#                                       keeps PKI, etcd data and images unless --purge
#   scripts/kube.sh status              one line per part, then the nodes as the API sees them
#   scripts/kube.sh stop-kubelet NODE   NODE = kube-N (or N): the node goes NotReady, its pods keep running
#   scripts/kube.sh start-kubelet NODE  and back to Ready
#   scripts/kube.sh inventory           the cluster's part of the node inventory, as JSON
#
# Admin kubeconfig: $DEPLOYER_STATE/kube/admin.kubeconfig. The Deployer itself is user
# "deployer" (certificate pki/deployer.pem), not an admin: RBAC lets it make exactly the calls
# the Kubernetes target makes, in namespace KUBE_NAMESPACE, whose pods are held to Pod
# Security baseline but for the host network and host ports
# (deploy/kubernetes/pod-security.yaml). Settings (environment, defaults in
# lib.sh): KUBE_NODES, KUBE_NAMESPACE, KUBE_API_PORT, KUBE_ETCD_PORT, KUBE_SERVICE_CIDR,
# KUBE_POD_PREFIX, KUBE_NODE_GRACE. Needs the binaries of scripts/install-kubernetes.sh.
#
# Each node's containerd and kubelet share a mount namespace of their own (slave of the
# host's): the paths containerd, the CNI plugins and the kubelet insist on (/run/containerd,
# /var/run/netns/cni-*, /var/lib/kubelet, /var/lib/cni, /var/log/pods, /var/log/containers)
# are the node's own folders there (the host only gets empty mount points while it runs), so
# nodes never meet and nothing of theirs outlives `down`. Each node's processes, pods
# included, live in one cgroup tree, /kube-N, which is how `down` finds every one of them.
#
# Pid files share $DEPLOYER_STATE/run with stack.sh, whose `down` would stop these processes
# too and remove the fog bridge: run `kube.sh down` first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

# $run, $logs, $bridge_if, $host_ip, spawn and wait_for come from lib.sh.
kube="$DEPLOYER_STATE/kube"
pki="$kube/pki"
bin="$KUBE_HOME/bin"
api="https://$host_ip:$KUBE_API_PORT"
admin_kubeconfig="$kube/admin.kubeconfig"
# A name no registry answers for: the image is imported into every node, never pulled.
pause_image="localhost/kube-pause:$KUBE_VERSION"
# What the kubelet sets at start (pkg/kubelet/cm setupKernelTunables), machine-wide.
kernel_settings=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
saved_kernel="$kube/kernel-settings.saved"
# Host folders that only serve as mount points for the nodes' own folders (see above).
# /var/lib/kubelet despite --root-dir: the device manager's socket is always
# /var/lib/kubelet/device-plugins/kubelet.sock, and two kubelets would take it from each other.
host_mountpoints=(/var/lib/kubelet /var/lib/cni /var/log/pods /var/log/containers)

node_ip() { kube_ip "$1"; }
node_dir() { echo "$kube/nodes/kube-$1"; }
# Its discovery cache stays with the cluster, not in ~/.kube.
kubectl() { "$bin/kubectl" --kubeconfig "$admin_kubeconfig" --cache-dir "$kube/kubectl-cache" "$@"; }
# The service range's first address: the `kubernetes` Service, which the API server certificate must name.
first_service_ip() { local base=${KUBE_SERVICE_CIDR%/*}; echo "${base%.*}.$((${base##*.} + 1))"; }

# --- processes (as in stack.sh: pid files in $run, logs in $logs) ---

# Stricter than lib.sh's alive (which wait_for uses): not a zombie either: spawned processes end up children of this machine's PID 1, which reaps
# them only every second or two, and waiting on a zombie made every stop take ~2 s.
running() { kill -0 "$1" 2>/dev/null && [ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" != Z ]; }
alive() { [ -f "$run/$1.pid" ] && running "$(cat "$run/$1.pid")"; }

stop_pid() {
  local name=$1
  [ -f "$run/$name.pid" ] || return 0
  local pid; pid=$(cat "$run/$name.pid")
  if running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do running "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$run/$name.pid"
}

# --- PKI: one CA signs everything; one kubeconfig per client ---

# issue NAME SUBJECT EXTENSIONS: a key and a certificate signed by the cluster CA, once.
issue() {
  local name=$1 subj=$2 ext=$3
  [ -f "$pki/$name.pem" ] && return 0
  openssl req -newkey rsa:2048 -nodes -subj "$subj" -keyout "$pki/$name-key.pem" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca-key.pem" -CAcreateserial -days 3650 \
    -extfile <(printf '%b' "$ext") -out "$pki/$name.pem" 2>/dev/null
  rm -f "$pki/$name.csr"
}

# kubeconfig FILE CERT-NAME: a self-contained kubeconfig (certificates inline) for the client CERT-NAME.
kubeconfig() {
  local file=$1 name=$2
  [ -f "$file" ] && return 0
  cat > "$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: deployer
  cluster:
    server: $api
    certificate-authority-data: $(base64 -w0 "$pki/ca.pem")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$pki/$name.pem")
    client-key-data: $(base64 -w0 "$pki/$name-key.pem")
contexts:
- name: deployer
  context: { cluster: deployer, user: $name }
current-context: deployer
EOF
  chmod 600 "$file.tmp"
  mv "$file.tmp" "$file"
}

make_pki() {
  mkdir -p "$pki"
  if [ ! -f "$pki/ca.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=deployer kubernetes CA" \
      -keyout "$pki/ca-key.pem" -out "$pki/ca.pem" 2>/dev/null
  fi
  local client='extendedKeyUsage=clientAuth'
  issue apiserver "/CN=kube-apiserver" "subjectAltName=IP:127.0.0.1,IP:$host_ip,IP:$(first_service_ip),DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth"
  # The API server's identity towards kubelets (logs, exec, port-forward).
  issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
  issue admin "/O=system:masters/CN=admin" "$client"
  # The Deployer's own identity: what it may do is up_rbac's Role, not system:masters' everything.
  issue deployer "/O=deployer/CN=deployer" "$client"
  issue kube-controller-manager "/CN=system:kube-controller-manager" "$client"
  local i
  for i in $(seq 1 "$KUBE_NODES"); do
    # One certificate per node serves both ways: the kubelet's client identity (what the
    # Node authorizer keys on) and its serving certificate for the node IP.
    issue "kube-$i" "/O=system:nodes/CN=system:node:kube-$i" \
      "subjectAltName=IP:$(node_ip "$i"),DNS:kube-$i\nextendedKeyUsage=serverAuth,clientAuth"
  done
  if [ ! -f "$pki/sa.pub" ]; then
    openssl genrsa -out "$pki/sa-key.pem" 2048 2>/dev/null
    openssl rsa -in "$pki/sa-key.pem" -pubout -out "$pki/sa.pub" 2>/dev/null
  fi
  chmod 600 "$pki"/*key.pem
  kubeconfig "$admin_kubeconfig" admin
  kubeconfig "$kube/kube-controller-manager.kubeconfig" kube-controller-manager
  for i in $(seq 1 "$KUBE_NODES"); do kubeconfig "$(node_dir "$i")/kubelet.kubeconfig" "kube-$i"; done
}

# --- network: the nodes hang on the stack's fog bridge, like the fog nodes ---

up_network() {
  if ! ip link show "$bridge_if" >/dev/null 2>&1; then
    ip link add "$bridge_if" type bridge
    ip addr add "$host_ip/24" dev "$bridge_if"
    ip link set "$bridge_if" up
    # Ours to remove on `down` (unless the stack has joined it by then).
    touch "$kube/created-bridge"
  fi
  local i
  for i in $(seq 1 "$KUBE_NODES"); do
    local ns="kube-$i" ip; ip=$(node_ip "$i")
    ip netns list | grep -qw "^$ns" || ip netns add "$ns"
    if ! ip link show "vkube$i" >/dev/null 2>&1; then
      ip link add "vkube$i" type veth peer name eth0 netns "$ns"
      ip -n "$ns" addr add "$ip/24" dev eth0
      ip -n "$ns" link set eth0 up
      ip -n "$ns" link set lo up
    fi
    # Every time: `stack.sh down` deletes the bridge, and a new one has no ports.
    ip link set "vkube$i" master "$bridge_if"
    ip link set "vkube$i" up
  done
}

# --- control plane ---

up_etcd() {
  alive kube-etcd && return 0
  log "starting etcd on 127.0.0.1:$KUBE_ETCD_PORT"
  mkdir -p "$kube/etcd" && chmod 700 "$kube/etcd"
  local peer="http://127.0.0.1:$((KUBE_ETCD_PORT + 1))" client="http://127.0.0.1:$KUBE_ETCD_PORT"
  spawn kube-etcd "$ETCD_HOME/usr/bin/etcd" --name kube --data-dir "$kube/etcd" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" --initial-cluster "kube=$peer" \
    --logger zap --log-level warn
}

up_apiserver() {
  alive kube-apiserver && return 0
  log "starting kube-apiserver on $api"
  mkdir -p "$kube/apiserver"
  spawn kube-apiserver "$bin/kube-apiserver" \
    --advertise-address "$host_ip" --bind-address "$host_ip" --secure-port "$KUBE_API_PORT" \
    --etcd-servers "http://127.0.0.1:$KUBE_ETCD_PORT" \
    --service-cluster-ip-range "$KUBE_SERVICE_CIDR" \
    --cert-dir "$kube/apiserver" \
    --tls-cert-file "$pki/apiserver.pem" --tls-private-key-file "$pki/apiserver-key.pem" \
    --client-ca-file "$pki/ca.pem" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.pem" --kubelet-client-key "$pki/apiserver-kubelet-client-key.pem" \
    --kubelet-certificate-authority "$pki/ca.pem" \
    --kubelet-preferred-address-types InternalIP \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa-key.pem" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --enable-priority-and-fairness=false --allow-privileged=true --profiling=false
}

# Needed even for bare pods: the API refuses them until it has made the default ServiceAccount.
up_controller_manager() {
  alive kube-controller-manager && return 0
  log "starting kube-controller-manager"
  # No serving port (nothing scrapes it); readiness is the default ServiceAccount appearing.
  # Its flexvolume prober would otherwise create /usr/libexec/kubernetes.
  spawn kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig "$kube/kube-controller-manager.kubeconfig" --secure-port 0 --leader-elect=false \
    --flex-volume-plugin-dir "$kube/volume-plugins" \
    --use-service-account-credentials --service-account-private-key-file "$pki/sa-key.pem" \
    --root-ca-file "$pki/ca.pem" --cluster-signing-cert-file "$pki/ca.pem" --cluster-signing-key-file "$pki/ca-key.pem" \
    --service-cluster-ip-range "$KUBE_SERVICE_CIDR" \
    --node-monitor-period 2s --node-monitor-grace-period "$KUBE_NODE_GRACE"
}

# What user "deployer" may do: the calls of activities/targets/kubernetes/ and no more, in
# KUBE_NAMESPACE (and nowhere else), and read the nodes and their leases. Applied every
# time: the objects are the same, a changed KUBE_NAMESPACE gets its own namespace and
# binding, and a Role of an earlier stack loses what the Deployer does not call.
up_rbac() {
  local ns=$KUBE_NAMESPACE
  kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
# Its pods are held to deploy/kubernetes/pod-security.yaml (up_pod_security).
metadata: { name: $ns, labels: { io.deployer.pod-security: baseline-host-network } }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: deployer, namespace: $ns }
rules:
# Server-side apply is a patch, and a create too when the object is new; scaling is a patch.
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, create, patch, delete]
# The revisions a restore goes back to.
- apiGroups: [apps]
  resources: [replicasets]
  verbs: [list]
# The Deployments' pods, the one-shot pods of checks and tests, and the dry run of a Deployment's pod.
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, create, delete]
- apiGroups: [""]
  resources: [configmaps, secrets]
  verbs: [list, create, patch, delete]
- apiGroups: [""]
  resources: [pods/log]
  verbs: [get]
# Exec tests: an exec over a WebSocket is a GET the API server authorizes as "get" and, since
# 1.35 (AuthorizePodWebsocketUpgradeCreatePermission), as "create" too (SPDY's POST is "create").
- apiGroups: [""]
  resources: [pods/exec]
  verbs: [get, create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: deployer, namespace: $ns }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer }
subjects:
- { apiGroup: rbac.authorization.k8s.io, kind: User, name: deployer }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: deployer-nodes }
rules:
# A node's readiness and platform, one node at a time.
- apiGroups: [""]
  resources: [nodes]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: deployer-nodes }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: deployer-nodes }
subjects:
- { apiGroup: rbac.authorization.k8s.io, kind: User, name: deployer }
---
# The kubelets' heartbeats: a node whose lease expired is not waited for until the controller marks it NotReady.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: deployer-node-leases, namespace: kube-node-lease }
rules:
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: deployer-node-leases, namespace: kube-node-lease }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer-node-leases }
subjects:
- { apiGroup: rbac.authorization.k8s.io, kind: User, name: deployer }
EOF
  # The point of the identity is what it may not do: check both sides.
  local other=default; [ "$ns" = default ] && other=kube-system
  [ "$(kubectl auth can-i --as deployer create deployments -n "$ns" 2>/dev/null)" = yes ] ||
    { log "RBAC: user deployer cannot create deployments in namespace $ns"; return 1; }
  [ "$(kubectl auth can-i --as deployer create deployments -n "$other" 2>/dev/null)" = no ] ||
    { log "RBAC: user deployer may create deployments in namespace $other too"; return 1; }
  [ "$(kubectl auth can-i --as deployer create pods --subresource exec -n "$ns" 2>/dev/null)" = yes ] ||
    { log "RBAC: user deployer cannot exec in pods in namespace $ns"; return 1; }
  [ "$(kubectl auth can-i --as deployer get leases.coordination.k8s.io -n kube-node-lease 2>/dev/null)" = yes ] ||
    { log "RBAC: user deployer cannot read the kubelets' leases"; return 1; }
  [ "$(kubectl auth can-i --as deployer patch "namespace/$ns" 2>/dev/null)" = no ] ||
    { log "RBAC: user deployer may relabel namespace $ns (its pod security)"; return 1; }
}

# Pod Security baseline but for the host network and host ports, for the namespace up_rbac
# labels: Pod Security Admission's own baseline would refuse every pod the Kubernetes target
# publishes on its node (hostNetwork, hostPort). Checked as the Deployer: a privileged pod
# is refused (the API server takes a moment to start enforcing a new policy).
up_pod_security() {
  kubectl apply -f "$here/../deploy/kubernetes/pod-security.yaml" >/dev/null
  local pod='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"pod-security-check"},"spec":{"containers":[{"name":"c","image":"x","securityContext":{"privileged":true}}]}}'
  local said=""
  for _ in $(seq 1 50); do
    said=$(kubectl --as deployer -n "$KUBE_NAMESPACE" create --dry-run=server -f - <<<"$pod" 2>&1) && said=admitted
    [[ "$said" == *"Pod Security baseline"* ]] && return 0
    sleep 0.2
  done
  log "pod security: namespace $KUBE_NAMESPACE does not refuse a privileged pod ($said)"
  return 1
}

# --- nodes ---

# The pod sandbox image, assembled as an OCI archive around the pause program built with the
# binaries: FROM scratch + /pause, as registry.k8s.io/pause is, with nothing to pull.
make_pause_image() {
  local out="$kube/pause-$KUBE_VERSION.tar"
  [ -f "$out" ] && return 0
  local tmp; tmp=$(mktemp -d)
  mkdir -p "$tmp/rootfs" "$tmp/oci/blobs/sha256"
  cp "$bin/pause" "$tmp/rootfs/pause"
  tar -C "$tmp/rootfs" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$tmp/layer.tar" pause
  local layer; layer=$(blob "$tmp" "$tmp/layer.tar")
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "${layer% *}" > "$tmp/config.json"
  local config; config=$(blob "$tmp" "$tmp/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "${config% *}" "${config#* }" "${layer% *}" "${layer#* }" > "$tmp/manifest.json"
  local manifest; manifest=$(blob "$tmp" "$tmp/manifest.json")
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "${manifest% *}" "${manifest#* }" "$pause_image" "$KUBE_VERSION" > "$tmp/oci/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$tmp/oci/oci-layout"
  tar -C "$tmp/oci" -cf "$out.tmp" oci-layout index.json blobs
  mv "$out.tmp" "$out"
  rm -rf "$tmp"
}

# blob DIR FILE: stores FILE in DIR's OCI layout; prints "DIGEST SIZE".
blob() {
  local digest size; digest=$(sha256sum "$2" | cut -d' ' -f1); size=$(stat -c %s "$2")
  cp "$2" "$1/oci/blobs/sha256/$digest"
  echo "$digest $size"
}

write_node_config() {
  local i=$1 dir ip; dir=$(node_dir "$i"); ip=$(node_ip "$i")
  mkdir -p "$dir/cni/net.d" "$dir/certs.d/$host_ip:$REGISTRY_PORT"
  cat > "$dir/containerd.toml" <<EOF
version = 2
root = "$dir/containerd"
state = "$dir/containerd-state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$dir/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  # Root here lacks CAP_SYS_RESOURCE: without this every sandbox fails ("can't get final child's PID from pipe").
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$dir/certs.d"
EOF
  # The stack's registry speaks plain http.
  cat > "$dir/certs.d/$host_ip:$REGISTRY_PORT/hosts.toml" <<EOF
server = "http://$host_ip:$REGISTRY_PORT"
[host."http://$host_ip:$REGISTRY_PORT"]
  capabilities = ["pull", "resolve"]
EOF
  # Pods on a bridge inside the node; portmap publishes hostPorts on the node's IP;
  # masquerading lets pods reach the fog network (the API server, the registry).
  cat > "$dir/cni/net.d/10-kube-$i.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "kube-$i",
  "plugins": [
    { "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$KUBE_POD_PREFIX.$i.0/24" }]], "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
  cat > "$dir/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $ip
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
tlsCertFile: $pki/kube-$i.pem
tlsPrivateKeyFile: $pki/kube-$i-key.pem
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $pki/ca.pem }
authorization: { mode: Webhook }
containerRuntimeEndpoint: unix://$dir/containerd.sock
# cgroup v1 (hybrid) and no systemd here.
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupRoot: /kube-$i
volumePluginDir: $dir/volume-plugins
clusterDomain: cluster.local
# Images come from imports and the local registry: never collect them (the pause image least of all),
# and evict nothing for a full disk before it really is full.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1% }
# Renews the node's lease every 5 s, so KUBE_NODE_GRACE can be short.
nodeLeaseDurationSeconds: 20
serializeImagePulls: false
EOF
}

# The node's cgroup tree in every hierarchy: /kube-N holds its pods (the kubelet's cgroupRoot),
# /kube-N/runtime its containerd, shims and kubelet.
cgroup_mounts() { awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/mounts; }

make_cgroups() {
  local i=$1 m d
  for m in $(cgroup_mounts); do
    for d in "$m/kube-$i" "$m/kube-$i/runtime"; do
      [ -d "$d" ] && continue
      mkdir "$d"
      # A new v1 cpuset has no CPUs and no memory nodes: no process may join it.
      if [ -f "$d/cpuset.cpus" ]; then
        cat "$(dirname "$d")/cpuset.cpus" > "$d/cpuset.cpus"
        cat "$(dirname "$d")/cpuset.mems" > "$d/cpuset.mems"
      fi
    done
  done
}

# Moves the calling process (and what it execs) into the node's runtime cgroups.
join_cgroups() {
  local m
  for m in $(cgroup_mounts); do echo $$ > "$m/kube-$1/runtime/cgroup.procs"; done
}

save_kernel_settings() {
  [ -f "$saved_kernel" ] && return 0
  local k
  for k in "${kernel_settings[@]}"; do echo "$k=$(sysctl -n "$k")"; done > "$saved_kernel.tmp"
  mv "$saved_kernel.tmp" "$saved_kernel"
  log "saved kernel settings the kubelet changes to $saved_kernel"
}

restore_kernel_settings() {
  [ -f "$saved_kernel" ] || return 0
  local k v
  while IFS='=' read -r k v; do sysctl -qw "$k=$v" || log "could not restore $k=$v"; done < "$saved_kernel"
  rm -f "$saved_kernel"
  log "restored kernel settings: $(paste -sd' ' <(for k in "${kernel_settings[@]}"; do echo "$k=$(sysctl -n "$k")"; done))"
}

# Runs inside the node's new UTS and mount namespaces (see up_containerd), then becomes containerd.
node_init() {
  local i=$1 dir; dir=$(node_dir "$i")
  hostname "kube-$i"
  # /run is the node's own: shim sockets (/run/containerd/s), runc state, pod netns (/run/netns/cni-*).
  # -n: no utab bookkeeping in the host's /run/mount.
  mount -n -t tmpfs -o mode=755 "kube-$i-run" /run
  mkdir -p /run/netns /run/containerd "$dir/cni/lib" "$dir/logs/pods" "$dir/logs/containers" "$dir/kubelet"
  mount -n --bind "$dir/kubelet" /var/lib/kubelet
  mount -n --bind "$dir/cni/lib" /var/lib/cni
  mount -n --bind "$dir/logs/pods" /var/log/pods
  mount -n --bind "$dir/logs/containers" /var/log/containers
  join_cgroups "$i"
  exec containerd --config "$dir/containerd.toml"
}

up_containerd() {
  local i=$1 dir sock; dir=$(node_dir "$i"); sock="$dir/containerd.sock"
  if ! alive "kube-$i-containerd"; then
    # A kubelet or pods left from an earlier containerd sit in another mount namespace: they go first.
    if alive "kube-$i-kubelet" || [ -n "$(node_pids "$i")" ]; then down_node "$i"; up_network; fi
    make_cgroups "$i"
    local m; for m in "${host_mountpoints[@]}"; do mkdir -p "$m"; done
    log "starting containerd of kube-$i ($(node_ip "$i"))"
    spawn "kube-$i-containerd" nsenter --net="/var/run/netns/kube-$i" \
      unshare --uts --mount --propagation slave bash "$here/kube.sh" _node-init "$i"
  fi
  wait_for "kube-$i-containerd" 30 ctr --address "$sock" version
  ctr --address "$sock" -n k8s.io images ls -q | grep -qxF "$pause_image" ||
    ctr --address "$sock" -n k8s.io images import "$kube/pause-$KUBE_VERSION.tar" >/dev/null
}

up_kubelet() {
  local i=$1 dir; dir=$(node_dir "$i")
  alive "kube-$i-kubelet" && return 0
  alive "kube-$i-containerd" || { log "kube-$i has no containerd: run scripts/kube.sh up"; return 1; }
  save_kernel_settings
  log "starting kubelet of kube-$i"
  # Into containerd's namespaces (network, hostname, mounts): volumes the kubelet mounts must
  # be the ones runc sees.
  spawn "kube-$i-kubelet" nsenter --target "$(cat "$run/kube-$i-containerd.pid")" --net --uts --mount \
    bash "$here/kube.sh" _node-join "$i" "$bin/kubelet" --config "$dir/kubelet.yaml" \
    --kubeconfig "$dir/kubelet.kubeconfig" --hostname-override "kube-$i" --node-ip "$(node_ip "$i")" \
    --root-dir "$dir/kubelet" --cert-dir "$dir/kubelet-pki"
}

# Node objects of an earlier, larger KUBE_NODES would stay NotReady forever.
forget_extra_nodes() {
  local node
  for node in $(kubectl get nodes -o name 2>/dev/null); do
    if [[ "$node" =~ ^node/kube-([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -gt "$KUBE_NODES" ]; then
      kubectl delete "$node" --wait=false >/dev/null
      log "removed ${node#node/} (KUBE_NODES=$KUBE_NODES)"
    fi
  done
}

node_ready() {
  [ "$(kubectl get node "kube-$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# The node numbers anything is left of: namespaces, pid files, cgroups, and the configured ones.
known_nodes() {
  local m
  {
    seq 1 "$KUBE_NODES"
    ip netns list 2>/dev/null | sed -nE 's/^kube-([0-9]+)( .*)?$/\1/p'
    find "$run" -maxdepth 1 -name 'kube-*-*.pid' 2>/dev/null | sed -nE 's#.*/kube-([0-9]+)-[a-z]+\.pid$#\1#p'
    for m in $(cgroup_mounts); do find "$m" -maxdepth 1 -name 'kube-*' 2>/dev/null | sed -nE 's#.*/kube-([0-9]+)$#\1#p'; done
  } | sort -nu
}

node_pids() {
  local m
  for m in $(cgroup_mounts); do
    if [ -d "$m/kube-$1" ]; then find "$m/kube-$1" -name cgroup.procs -exec cat {} +; fi
  done | sort -u
}

# Everything of one node: kubelet, containerd, shims, pods (whatever their network namespace), cgroups, network.
down_node() {
  local i=$1 pids m left=0
  stop_pid "kube-$i-kubelet"
  stop_pid "kube-$i-containerd"
  # Until the cgroup trees can go: a cgroup with a process that is still dying cannot.
  for _ in $(seq 1 50); do
    pids=$(node_pids "$i"; ip netns pids "kube-$i" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    left=0
    for m in $(cgroup_mounts); do
      [ -d "$m/kube-$i" ] || continue
      find "$m/kube-$i" -depth -type d -exec rmdir {} + 2>/dev/null || left=1
    done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  [ "$left" = 0 ] || log "kube-$i: some cgroups under /kube-$i could not be removed"
  ip netns del "kube-$i" 2>/dev/null || true
  ip link del "vkube$i" 2>/dev/null || true
  # Runtime state of processes that are gone: containerd's, and the pod IPs host-local handed out.
  rm -rf "$(node_dir "$i")/containerd-state" "$(node_dir "$i")/cni/lib"
  return 0
}

# --- commands ---

up() {
  [ "$(id -u)" = 0 ] || { log "the local cluster needs root (namespaces, cgroups, mounts)"; exit 1; }
  check_count KUBE_NODES "$KUBE_NODES" "$MAX_KUBE_NODES"
  bash "$here/install.sh"
  bash "$here/install-kubernetes.sh"
  mkdir -p "$run" "$logs" "$kube"
  local i
  for i in $(seq 1 "$KUBE_NODES"); do mkdir -p "$(node_dir "$i")"; done
  up_network
  make_pki
  make_pause_image
  for i in $(seq 1 "$KUBE_NODES"); do write_node_config "$i"; done
  # The nodes' runtimes come up while etcd and the API server do.
  up_etcd
  for i in $(seq 1 "$KUBE_NODES"); do up_containerd "$i"; done
  wait_for kube-etcd 30 curl -fsS "http://127.0.0.1:$KUBE_ETCD_PORT/health"
  up_apiserver
  wait_for kube-apiserver 60 curl -fsS --cacert "$pki/ca.pem" "$api/readyz"
  up_controller_manager
  forget_extra_nodes
  for i in $(seq 1 "$KUBE_NODES"); do up_kubelet "$i"; done
  # While the nodes register.
  up_rbac
  for i in $(seq 1 "$KUBE_NODES"); do wait_for "kube-$i-kubelet" 60 node_ready "$i"; done
  # The API refuses pods until their namespace's default ServiceAccount exists, the Deployer's namespace's too.
  wait_for kube-controller-manager 60 kubectl get serviceaccount default -n default
  wait_for kube-controller-manager 60 kubectl get serviceaccount default -n "$KUBE_NAMESPACE"
  # Its check asks with a pod, which needs that ServiceAccount too.
  up_pod_security
  log "cluster is up: API $api, nodes $(for i in $(seq 1 "$KUBE_NODES"); do printf 'kube-%s=%s ' "$i" "$(node_ip "$i")"; done)admin kubeconfig $admin_kubeconfig, user deployer in namespace $KUBE_NAMESPACE"
}

down() {
  mkdir -p "$run"
  local i m name
  # Kubelets first: a kubelet outliving the API server only retries, but one outliving its
  # containerd restarts pods into a runtime that is going away.
  for i in $(known_nodes); do stop_pid "kube-$i-kubelet"; done
  for name in kube-controller-manager kube-apiserver kube-etcd; do stop_pid "$name"; done
  for i in $(known_nodes); do down_node "$i"; done
  restore_kernel_settings
  for m in "${host_mountpoints[@]}"; do rmdir "$m" 2>/dev/null || true; done
  # Ours, when it was ours and nothing else is on it.
  if [ -f "$kube/created-bridge" ] && [ -z "$(ls /sys/class/net/$bridge_if/brif 2>/dev/null)" ]; then
    ip link del "$bridge_if" 2>/dev/null || true
  fi
  rm -f "$kube/created-bridge"
  if [ "${1:-}" = --purge ]; then
    rm -rf "$kube" "$logs"/kube-*.log
    log "cluster is down; its state was removed"
  else
    log "cluster is down (state kept in $kube)"
  fi
}

status() {
  local parts=(kube-etcd kube-apiserver kube-controller-manager) i p
  for i in $(seq 1 "$KUBE_NODES"); do parts+=("kube-$i-containerd" "kube-$i-kubelet"); done
  for p in "${parts[@]}"; do
    if alive "$p"; then echo "$p: running (pid $(cat "$run/$p.pid"))"; else echo "$p: stopped"; fi
  done
  if alive kube-apiserver; then kubectl get nodes -o wide 2>/dev/null || true; fi
}

# The same parts stack.sh writes into its inventory (lib.sh); without nodes, no cluster to name.
inventory() {
  local clusters="" nodes=""
  if [ "$KUBE_NODES" -gt 0 ]; then
    clusters="
    $(kube_inventory_clusters)
  "
    nodes="
$(kube_inventory_nodes '    ')
  "
  fi
  printf '{\n  "clusters": [%s],\n  "nodes": [%s]\n}\n' "$clusters" "$nodes"
}

# kube-N or N -> N
node_arg() {
  local n=${1#kube-}
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "usage: $0 stop-kubelet|start-kubelet kube-N" >&2; exit 2; }
  echo "$n"
}

case "${1:-}" in
  up) up ;;
  down) shift; down "$@" ;;
  status) status ;;
  inventory) inventory ;;
  stop-kubelet) n=$(node_arg "${2:-}"); stop_pid "kube-$n-kubelet"; log "kubelet of kube-$n stopped" ;;
  start-kubelet)
    n=$(node_arg "${2:-}")
    up_kubelet "$n"
    wait_for "kube-$n-kubelet" 60 node_ready "$n"
    log "kube-$n is Ready" ;;
  # Internal: the first process in a node's namespaces (see up_containerd / up_kubelet).
  _node-init) node_init "$2" ;;
  _node-join) i=$2; shift 2; join_cgroups "$i"; exec "$@" ;;
  *) echo "usage: $0 up | down [--purge] | status | inventory | stop-kubelet kube-N | start-kubelet kube-N" >&2; exit 2 ;;
esac
