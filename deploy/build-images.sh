#!/usr/bin/env bash
# Build riskloop's two images from this checkout (deploy/Dockerfile):
#   riskloop-api:TAG   --target api: the scoring API only
#   riskloop:TAG       the default target: UI, trainer, monitor loop, MLflow server
#
#   deploy/build-images.sh [TAG]        (default TAG: local; prints the two references)
#
# BuildKit is needed (cache mounts): `docker buildx` when installed, otherwise a docker client
# that still carries the built-in BuildKit (Debian's docker.io, /usr/bin/docker). On a machine
# without registry access, run deploy/stand-in-images.sh first.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tag=${1:-local}

if docker buildx version >/dev/null 2>&1; then
    build=(docker buildx build --load)
else
    build=()
    for client in docker /usr/bin/docker; do
        if command -v "$client" >/dev/null &&
            printf 'FROM scratch\n' | DOCKER_BUILDKIT=1 "$client" build -q - >/dev/null 2>&1; then
            build=(env DOCKER_BUILDKIT=1 "$client" build)
            break
        fi
    done
    if [ ${#build[@]} -eq 0 ]; then
        echo "error: no BuildKit builder: install docker buildx (or Debian's docker.io)" >&2
        exit 1
    fi
fi

"${build[@]}" --quiet -f "$repo/deploy/Dockerfile" --target api -t "riskloop-api:$tag" "$repo" >&2
"${build[@]}" --quiet -f "$repo/deploy/Dockerfile" -t "riskloop:$tag" "$repo" >&2
echo "riskloop-api:$tag"
echo "riskloop:$tag"
