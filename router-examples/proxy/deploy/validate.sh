#!/usr/bin/env bash
# Checks deploy/ as far as it can be checked without a container engine or a cluster:
#   - the YAML, TOML and cross-file agreement: DeployManifestsTest (part of mvn verify)
#   - the compose file, with the compose client (docker compose or docker-compose), if installed
#   - the Kubernetes manifests rendered by kustomize (kubectl kustomize), if kubectl is installed
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"

(cd "$root" && mvn -B -q -pl router-examples/proxy -am test -Dtest=DeployManifestsTest -Dsurefire.failIfNoSpecifiedTests=false)
echo "ok: DeployManifestsTest"

if docker compose version >/dev/null 2>&1; then
  docker compose -f "$here/compose.yaml" config --quiet && echo "ok: docker compose config"
elif command -v docker-compose >/dev/null 2>&1; then
  docker-compose -f "$here/compose.yaml" config --quiet && echo "ok: docker-compose config"
else
  echo "skipped: no compose client (docker compose or docker-compose)"
fi

if command -v kubectl >/dev/null 2>&1; then
  kinds="$(kubectl kustomize "$here/k8s" | grep -c '^kind:')"
  echo "ok: kubectl kustomize renders $kinds objects"
else
  echo "skipped: no kubectl"
fi
