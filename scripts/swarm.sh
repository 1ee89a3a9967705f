#!/usr/bin/env bash
# A local Docker Swarm on real engines: N nodes, each a network namespace swarm-N on the fog
# bridge with a Docker Engine of its own (and a hostname of its own, which is how Swarm tells
# nodes apart); swarm-1 is the only manager, the others are workers.
#
#   scripts/swarm.sh up               start what is not running, form or mend the swarm (idempotent)
#   scripts/swarm.sh down [--purge]   stop the engines, remove their namespaces; keeps the swarm's
#                                     state (the engines' data) unless --purge
#   scripts/swarm.sh status           one line per node
#   scripts/swarm.sh inventory        the swarm's part of the node inventory, as JSON
#
# Settings (environment, defaults in lib.sh): SWARM_NODES, SWARM_BRIDGE_PREFIX, SWARM_ADDR_POOL.
# stack.sh calls this from its up, down and status; the fog bridge is stack.sh's, so this
# never creates or removes it. Pid files share $DEPLOYER_STATE/run with stack.sh, so
# `stack.sh stop swarm-2` stops one engine and `stack.sh restart swarm-2` brings it back.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

swarm="$DEPLOYER_STATE/swarm"

node_dir() { echo "$swarm/swarm-$1"; }
# The script speaks to each engine on its socket: that works whatever state the network is in.
dk() { local i=$1; shift; docker -H "unix://$(node_dir "$i")/docker.sock" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs_since() { local ms=$(($(now_ms) - $1)); printf '%d.%02d s' $((ms / 1000)) $((ms % 1000 / 10)); }

# has_arg PID ARG: PID runs with ARG among its arguments and is not a zombie. Killed
# processes stay zombies for a second or two (this machine's PID 1 reaps them late), and
# a pid file's number may belong to another process by now.
has_arg() {
  local pid=$1 arg=$2
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  [ "$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" != Z ] || return 1
  grep -qxF -- "$arg" <<<"$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null)"
}

# Whether PID is node N's engine (or one of the commands that exec into it).
is_engine() { has_arg "$2" "$(node_dir "$1")/data"; }

# Node N's engine's pid, from our pid file or the engine's own (the same process: the
# commands that start it all exec), when that process still is the engine.
engine_pid() {
  local i=$1 f pid
  for f in "$run/swarm-$i.pid" "$(node_dir "$i")/dockerd.pid"; do
    pid=$(cat "$f" 2>/dev/null) || continue
    if is_engine "$i" "$pid"; then echo "$pid"; return 0; fi
  done
  return 1
}

# Every node number this machine has something of: the settings' and any left by a wider swarm.
known_nodes() {
  {
    seq 1 "$SWARM_NODES"
    ip netns list 2>/dev/null | sed -nE 's/^swarm-([0-9]+)( .*)?$/\1/p'
    find "$run" -maxdepth 1 -name 'swarm-*.pid' 2>/dev/null | sed -nE 's#.*/swarm-([0-9]+)\.pid$#\1#p'
  } | sort -nu
}

# --- up ---

up_node_network() {
  local i=$1; local ns="swarm-$i" ip; ip=$(swarm_ip "$i")
  [ -e "/var/run/netns/$ns" ] || ip netns add "$ns"
  if ! ip link show "vswarm$i" >/dev/null 2>&1; then
    ip link add "vswarm$i" type veth peer name eth0 netns "$ns"
    ip -n "$ns" link set lo up
  fi
  # Also when the bridge was made anew under an existing namespace.
  ip link set "vswarm$i" master "$bridge_if"
  ip link set "vswarm$i" up
  # (Not piped into grep -q: with pipefail, ip's SIGPIPE would read as "no address".)
  grep -qF " $ip/24 " <<<"$(ip -n "$ns" -o addr show dev eth0)" || ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
}

up_engine() {
  local i=$1; local name="swarm-$i" dir ip pid; dir=$(node_dir "$i"); ip=$(swarm_ip "$i")
  if pid=$(engine_pid "$i"); then
    # Running, perhaps known only by the engine's own pid file: ours names it again.
    echo "$pid" > "$run/$name.pid"
    return 0
  fi
  mkdir -p "$dir"
  # What a killed engine left goes first (its containers would be stopped at start anyway),
  # then its pid files: dockerd refuses to start while its own names a live process, and
  # takes containerd's, even a zombie's, for a containerd to connect to (and times out).
  clear_leftovers "$i"
  rm -f "$dir/dockerd.pid" "$dir/exec/containerd/containerd.pid"
  log "starting Docker Engine of $name at tcp://$ip:2375"
  # nsenter, not `ip netns exec` (which remounts /sys, and dockerd then fails); a UTS
  # namespace of its own so that the engine, and Swarm's node.hostname, say swarm-N.
  # shellcheck disable=SC2016,SC2046
  spawn "$name" nsenter --net="/var/run/netns/$name" unshare --uts \
    sh -c 'hostname "$0" && exec "$@"' "$name" \
    dockerd $(dockerd_args "$dir" "$SWARM_BRIDGE_PREFIX.$i.1/24") \
    -H "unix://$dir/docker.sock" -H "tcp://$ip:2375" --tls=false
}

# "STATE MANAGER NODEID" of node N as its engine sees itself in the swarm.
swarm_info() { dk "$1" info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeID}}' 2>/dev/null; }

# The manager answers for the swarm: it has a leader (a restarted manager needs a moment to elect itself).
manager_answers() {
  local deadline=$((SECONDS + $1))
  until dk 1 node ls -q >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.3
  done
}

init_swarm() {
  local ip t0; ip=$(swarm_ip 1); t0=$(now_ms)
  dk 1 swarm init --advertise-addr "$ip" --listen-addr "$ip:2377" --default-addr-pool "$SWARM_ADDR_POOL" >/dev/null
  log "swarm-1 made the swarm (manager $ip:2377) in $(secs_since "$t0")"
}

# Forms the swarm, or mends it: a manager without a working swarm makes a new one, and
# every worker the manager does not know (it left, or the swarm is new) joins again.
form_swarm() {
  local state control id i members token t0 fresh=0 joined=0
  read -r state control id < <(swarm_info 1 || echo unknown)
  # A swarm made when the manager had another address (an older address plan) cannot be mended.
  if [ "$state" = active ] && [ "$(dk 1 info --format '{{.Swarm.NodeAddr}}' 2>/dev/null)" != "$(swarm_ip 1)" ]; then
    log "swarm-1's swarm was made on another address; making a new swarm"
    state=stale
  fi
  if [ "$state" = inactive ]; then
    init_swarm; fresh=1
  elif [ "$state" != active ] || [ "$control" != true ] || ! manager_answers 30; then
    # Lost quorum, locked, or left as a worker: simpler and surer to start the swarm afresh.
    log "swarm-1's swarm is not working (state $state, manager $control); making a new swarm"
    for i in $(seq 1 "$SWARM_NODES"); do dk "$i" swarm leave --force >/dev/null 2>&1 || true; done
    init_swarm; fresh=1
  fi
  members=$(dk 1 node ls -q)
  token=$(dk 1 swarm join-token -q worker)
  for i in $(seq 2 "$SWARM_NODES"); do
    read -r state control id < <(swarm_info "$i" || echo unknown)
    if [ "$fresh" = 0 ] && { [ "$state" = active ] || [ "$state" = pending ]; } && grep -qxF "$id" <<<"$members"; then
      continue
    fi
    [ "$state" = inactive ] || dk "$i" swarm leave --force >/dev/null 2>&1 || true
    t0=$(now_ms)
    dk "$i" swarm join --advertise-addr "$(swarm_ip "$i")" --listen-addr "$(swarm_ip "$i"):2377" \
      --token "$token" "$(swarm_ip 1):2377" >/dev/null
    log "swarm-$i joined the swarm as a worker in $(secs_since "$t0")"
    joined=1
  done
  # Stale entries come from joining again, or from a wider swarm's nodes.
  if [ "$fresh$joined" != 00 ] || [ "$(wc -l <<<"$members")" -ne "$SWARM_NODES" ]; then forget_stale_nodes; fi
}

# Entries the manager keeps for nodes that are gone (a node that joined again has a new ID;
# a wider swarm's surplus nodes): they would stay in `docker node ls` for good. Only when
# every node said who it is: an engine that did not would lose its entry.
forget_stale_nodes() {
  local ids="" i id node
  for i in $(seq 1 "$SWARM_NODES"); do
    read -r _ _ id < <(swarm_info "$i" || echo unknown)
    [ -n "$id" ] || { log "swarm-$i has no node ID; keeping the manager's node list as it is"; return 0; }
    ids+="$id"$'\n'
  done
  for node in $(dk 1 node ls -q); do
    grep -qxF "$node" <<<"$ids" || dk 1 node rm --force "$node" >/dev/null 2>&1 || true
  done
}

# The manager lists exactly the nodes of the settings, each once, each Ready and Active, and
# every node says it is in the swarm (the manager notices a node is gone only after ~9 s).
all_ready() {
  local list i state; list=$(dk 1 node ls --format '{{.Hostname}} {{.Status}} {{.Availability}}') || return 1
  [ "$(wc -l <<<"$list")" -eq "$SWARM_NODES" ] &&
    [ "$(grep -E '^swarm-[0-9]+ Ready Active$' <<<"$list" | sort -u | wc -l)" -eq "$SWARM_NODES" ] || return 1
  for i in $(seq 2 "$SWARM_NODES"); do
    read -r state _ < <(swarm_info "$i" || echo unknown)
    [ "$state" = active ] || return 1
  done
}

up() {
  [ "$(id -u)" = 0 ] || { log "the local swarm needs root (network namespaces, Docker Engines)"; exit 1; }
  check_count SWARM_NODES "$SWARM_NODES" "$MAX_SWARM_NODES"
  command -v dockerd >/dev/null || { log "no Docker Engine: run scripts/install.sh"; exit 1; }
  ip link show "$bridge_if" >/dev/null 2>&1 || { log "no fog bridge $bridge_if: run scripts/stack.sh up"; exit 1; }
  mkdir -p "$run" "$logs" "$swarm"
  local i t0; t0=$(now_ms)
  for i in $(known_nodes); do
    [ "$i" -gt "$SWARM_NODES" ] || continue
    log "removing swarm-$i (SWARM_NODES is $SWARM_NODES)"
    down_node "$i"
    # The manager forgets it below; with its swarm state kept, an engine started again
    # would wait 20 s for a swarm that no longer has it before it serves its API.
    rm -rf "$(node_dir "$i")/data/swarm"
  done
  [ "$SWARM_NODES" -gt 0 ] || return 0
  for i in $(seq 1 "$SWARM_NODES"); do up_node_network "$i"; up_engine "$i"; done
  for i in $(seq 1 "$SWARM_NODES"); do wait_for "swarm-$i" 60 dk "$i" version; done
  form_swarm
  wait_for swarm-1 60 all_ready
  log "swarm is up in $(secs_since "$t0"): manager tcp://$(swarm_ip 1):2375, nodes $(for i in $(seq 1 "$SWARM_NODES"); do printf 'swarm-%s=%s ' "$i" "$(swarm_ip "$i")"; done)all Ready"
}

# --- down ---

stop_engine() {
  local i=$1 pid
  if pid=$(engine_pid "$i"); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do is_engine "$i" "$pid" || break; sleep 0.2; done
    if is_engine "$i" "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$run/swarm-$i.pid" "$(node_dir "$i")/dockerd.pid"
}

# What outlived node N's engine in its namespace (containerd, shims, docker-proxy) and the
# containers those shims ran.
clear_leftovers() {
  local i=$1 pids kids
  for _ in $(seq 1 50); do
    pids=$(ip netns pids "swarm-$i" 2>/dev/null || true)
    [ -n "$pids" ] || break
    # A container's init is a shim's child in a namespace of its own; killing it ends the container.
    # shellcheck disable=SC2086
    kids=$(ps -o pid= --ppid "$(echo $pids | tr ' ' ,)" 2>/dev/null || true)
    # shellcheck disable=SC2086
    kill -KILL $kids $pids 2>/dev/null || true
    sleep 0.1
  done
}

# Everything of one node: its engine, its leftovers, then the namespace and the veth.
down_node() {
  local i=$1
  stop_engine "$i"
  clear_leftovers "$i"
  ip netns del "swarm-$i" 2>/dev/null || true
  ip link del "vswarm$i" 2>/dev/null || true
}

down() {
  mkdir -p "$run"
  local i
  # All at once: each engine takes a second or two to shut down.
  for i in $(known_nodes); do down_node "$i" & done
  wait
  # The engines' mounts (container layers, their network namespaces) outlive an engine that was killed.
  { grep -oE " $swarm/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  if [ "${1:-}" = --purge ]; then
    rm -rf "$swarm" "$logs"/swarm-*.log
    log "swarm is down; its state was removed"
  else
    log "swarm is down (state kept in $swarm)"
  fi
}

# --- status, inventory ---

status() {
  local i pid state control
  for i in $(seq 1 "$SWARM_NODES"); do
    if pid=$(engine_pid "$i"); then
      if read -r state control _ < <(swarm_info "$i"); then
        local role=worker; [ "$control" = true ] && role=manager
        echo "swarm-$i: running (pid $pid), swarm $role, $state"
      else
        echo "swarm-$i: running (pid $pid), not answering"
      fi
    else
      echo "swarm-$i: stopped"
    fi
  done
}

inventory() {
  local swarms="" nodes=""
  if [ "$SWARM_NODES" -gt 0 ]; then
    swarms="
    $(swarm_inventory_swarms)
  "
    nodes="
$(swarm_inventory_nodes '    ')
  "
  fi
  printf '{\n  "swarms": [%s],\n  "nodes": [%s]\n}\n' "$swarms" "$nodes"
}

case "${1:-}" in
  up) up ;;
  down) shift; down "$@" ;;
  status) status ;;
  inventory) inventory ;;
  *) echo "usage: $0 up | down [--purge] | status | inventory" >&2; exit 2 ;;
esac
