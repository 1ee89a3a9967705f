#!/usr/bin/env bash
# One command from a fresh clone to a real deployment: installs what is missing, brings up
# the local stack (Temporal, Kafka, registry, 3 fog nodes, a swarm of 3, a Kubernetes cluster of 2), starts the worker and
# bridge, sends the sample application's Deploy requests through Kafka (to the fog nodes, then
# to the swarm's, then to the cluster's), follows each to its end and asks every node for the page. Everything stays up afterwards, for the Temporal UI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
cd "$(dirname "$here")"

bash scripts/npm-install.sh
npm run --silent build
bash scripts/stack.sh up
bash scripts/services.sh up

# The fog nodes as the Node Manager announces them on platform.nodes (docs/node-manager.md):
# their records win over the inventory file; TLS material goes by name ("fleet"), never inline.
log "publishing the fog nodes' records on platform.nodes, as the Node Manager would"
node -e '
  const nodes = require(process.argv[1]).nodes.filter((n) => n.target.kind === "docker-engine");
  const now = new Date();
  const docker = ({ host, port, insecure, tls }) => (tls !== undefined ? { host, port, tls: "fleet" } : { host, port, insecure });
  console.log(JSON.stringify(nodes.map((n) => ({ nodeId: n.id, generation: Math.floor(now.getTime() / 1000), observedAt: now.toISOString(), status: "Online", address: n.address, labels: n.labels, target: { kind: "docker-engine", docker: docker(n.target.docker) } }))));
' "$DEPLOYER_STATE/inventory.json" > "$DEPLOYER_STATE/fog-node-records.json"
node dist/src/cli/main.js publish-nodes "$DEPLOYER_STATE/fog-node-records.json"

stamp=$(date -u +%Y%m%d-%H%M%S)
id="hello-$stamp"
log "deploying examples/hello as $id through Kafka, to the fog nodes (bare Docker Engines)"
node dist/src/cli/main.js deploy examples/hello/deploy.json --id "$id" --wait --timeout 300
log "deploying it again as hello-swarm-$stamp, to the swarm's nodes (one Swarm service per node)"
node dist/src/cli/main.js deploy examples/hello/deploy-swarm.json --id "hello-swarm-$stamp" --wait --timeout 300
log "and as hello-kube-$stamp, to the Kubernetes nodes (one Deployment per node, pinned by nodeName)"
node dist/src/cli/main.js deploy examples/hello/deploy-kube.json --id "hello-kube-$stamp" --wait --timeout 300

log "asking every node for the page:"
for addr in $(node -e 'for (const n of require(process.argv[1]).nodes) console.log(n.address)' "$DEPLOYER_STATE/inventory.json"); do
  printf '  http://%s:8080/  ->  %s\n' "$addr" "$(curl -fsS "http://$addr:8080/" | grep -o '<p>.*</p>')"
done
# Asked of the Temporal UI's own HTTP API: what an operator's browser sees.
status=$(curl -fsS "http://127.0.0.1:$TEMPORAL_UI_PORT/api/v1/namespaces/default/workflows/$id" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).workflowExecutionInfo.status))')
log "Temporal UI shows workflow $id as $status"
log "watch it in the Temporal UI: http://127.0.0.1:$TEMPORAL_UI_PORT/namespaces/default/workflows/$id"
log "to read its inputs and results there (they are encrypted), sign in once at http://127.0.0.1:$DEPLOYER_CODEC_PORT/ with the token that cat $DEPLOYER_STATE/codec.token shows"
log "the fleet as the worker sees it (the fog nodes from platform.nodes):"
node dist/src/cli/main.js nodes
log "stop everything with: npm run stack:down"
[ "$status" = WORKFLOW_EXECUTION_STATUS_COMPLETED ]
