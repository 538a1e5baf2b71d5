#!/usr/bin/env bash
# Checks deploy/ as far as it can be checked without a container engine or a cluster:
#   - the YAML, TOML and cross-file agreement: DeployManifestsTest (part of mvn verify)
#   - the image's build stage: what its COPY lines copy, put in an empty directory, and its Maven
#     build run there (this machine's Maven and local repository standing in for the image's)
#   - the compose file, with the compose client (docker compose or docker-compose), if installed
#   - the Kubernetes manifests rendered by kustomize (kubectl kustomize), if kubectl is installed
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"

(cd "$root" && mvn -B -q -pl router-examples/proxy -am test -Dtest=DeployManifestsTest -Dsurefire.failIfNoSpecifiedTests=false)
echo "ok: DeployManifestsTest"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
awk '/ AS build$/ { b = 1; next } /^FROM / { b = 0 } b && /^COPY / { print $2, $3 }' "$here/Dockerfile" |
  while read -r from to; do
    mkdir -p "$stage/$to"
    if [ -d "$root/$from" ]; then
      (cd "$root/$from" && tar --exclude=./target -cf - .) | tar -xf - -C "$stage/$to"
    else
      cp "$root/$from" "$stage/$to"
    fi
  done
# The build stage's own command (RUN mvn ... package in the Dockerfile).
(cd "$stage" && mvn -B -q -pl router-examples/proxy -am -DskipTests package)
test -f "$stage/router-examples/proxy/target/vllm-router.jar"
echo "ok: the image's build stage makes vllm-router.jar from what it copies"

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
