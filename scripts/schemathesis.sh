#!/usr/bin/env bash
# Makes (once) and prints the path of schemathesis, the fuzzer that the HTTP API's fuzz run
# (test/integration/http-fuzz.test.ts) points at the API's own OpenAPI document: a Python
# virtual environment with one pinned version from PyPI, cached outside the work tree keyed
# by version, as scripts/install.sh caches the Temporal CLI. Progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

: "${SCHEMATHESIS_VERSION:=4.32.5}"
venv="$DEPLOYER_CACHE/schemathesis-$SCHEMATHESIS_VERSION"

if [ ! -f "$venv/.complete" ]; then
  # Debian's python3 has venv but not ensurepip without python3-venv, which scripts/install.sh installs.
  if ! python3 -c 'import ensurepip' 2>/dev/null; then
    log "python3 cannot make a virtual environment: run scripts/install.sh (it installs Debian's python3-venv)"
    exit 1
  fi
  log "installing schemathesis $SCHEMATHESIS_VERSION from PyPI into $venv (once)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
  touch "$venv/.complete"
fi
echo "$venv/bin/schemathesis"
