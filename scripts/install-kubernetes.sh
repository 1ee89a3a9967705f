#!/usr/bin/env bash
# Builds the Kubernetes binaries the local cluster runs (kube-apiserver,
# kube-controller-manager, kubelet, kubectl) and the pause program, from the Go module
# proxy: no Debian package carries the server and nothing can be downloaded. `go install`
# refuses k8s.io/kubernetes (its go.mod replaces the staging modules with local paths), so
# a throwaway module requires it and points every staging module at its published version.
# Cached outside the work tree, keyed by version; a finished build is marked complete.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

bin="$KUBE_HOME/bin"
[ -f "$KUBE_HOME/.complete" ] && exit 0
command -v go >/dev/null || { log "building Kubernetes $KUBE_VERSION needs Go on PATH"; exit 1; }
log "building Kubernetes $KUBE_VERSION from the Go module proxy (about 10 minutes on 2 cores, once)"
mkdir -p "$bin"
mod=$(mktemp -d)
trap 'rm -rf "$mod"' EXIT
cd "$mod"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
staging_minor="v0.${KUBE_VERSION#v1.}"
gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -nE 's/^\s*"GoMod": "(.*)",?$/\1/p')
{
  echo "module local.deployer/kubernetes-build"
  echo "go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')"
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  # Every staging module the kubernetes module replaces with a local path, except the
  # samples, which nothing here needs and which the proxy does not serve.
  sed -nE 's#^\s*(k8s\.io/[a-z0-9-]+) => \./staging/.*#\1#p' "$gomod" | grep -v -e sample-cli-plugin -e sample-controller |
    while read -r m; do echo "replace $m => $m $staging_minor"; done
} > go.mod
printf 'package main\n' > main.go
cat > tools.go <<'EOF'
//go:build tools

package main

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
go mod tidy -e >/dev/null 2>&1 || true
go get "k8s.io/kubernetes@$KUBE_VERSION" >/dev/null
minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
for cmd in kube-apiserver kube-controller-manager kubelet kubectl; do
  [ -x "$bin/$cmd" ] && continue
  log "  go build $cmd"
  go build -trimpath -ldflags "$ldflags" -o "$bin/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"
  mv "$bin/$cmd.tmp" "$bin/$cmd"
done
# The pod sandbox's pause program, compiled from the module's own source: nothing from a
# container registry is needed.
src=$(go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
gcc -Os -static -o "$bin/pause" "$src" -DVERSION="$KUBE_VERSION"
touch "$KUBE_HOME/.complete"
log "Kubernetes $KUBE_VERSION built into $bin"
