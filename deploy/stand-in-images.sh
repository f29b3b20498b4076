#!/usr/bin/env bash
# Stand-ins for the two public images deploy/Dockerfile starts from, built from packages, for a
# machine whose Docker engine cannot pull from an image registry (the project's test machines
# reach PyPI and Debian's archive only). They take the very names the Dockerfile uses, so the
# Dockerfile builds unchanged; docs/deploy.md#stand-in-images says how they differ.
#
#   deploy/stand-in-images.sh [--force]
#
#   python:3.11.x-slim-bookworm   Debian 12 (debootstrap --variant=minbase) + Debian's python3.11
#   ghcr.io/astral-sh/uv:X.Y.Z    the uv and uvx binaries from uv's PyPI wheel, FROM scratch
#
# An image that already exists under its name is kept (the engine's store is the cache: a second
# run takes a second) and one the engine can pull is pulled instead; --force rebuilds both. Needs root (debootstrap), debootstrap, python3
# with pip (to fetch the wheel) and a running Docker engine.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dockerfile="$repo/deploy/Dockerfile"
force=0
case "${1:-}" in
    --force) force=1 ;;
    "") ;;
    *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

# The names come from the Dockerfile itself, so the two cannot drift apart.
python_image=$(sed -n 's/^ARG PYTHON_IMAGE=//p' "$dockerfile")
uv_image=$(sed -n 's/^FROM \(ghcr.io\/astral-sh\/uv:[^ ]*\) AS uv$/\1/p' "$dockerfile")
uv_version=${uv_image##*:}
if [ -z "$python_image" ] || [ -z "$uv_image" ]; then
    echo "error: $dockerfile must name ARG PYTHON_IMAGE=... and FROM ghcr.io/astral-sh/uv:X AS uv" >&2
    exit 1
fi
case "$python_image" in
    python:3.11*-bookworm) ;;
    *) echo "error: stand-ins exist for python:3.11*-bookworm only (Dockerfile: $python_image)" >&2
       exit 1 ;;
esac

# What debian:bookworm-slim leaves out: package caches and lists, documentation, manual pages
# and translations (and dpkg is told to keep leaving them out of every later install).
slim_rootfs() {
    local root=$1
    cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/info/*
CFG
    find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
    rm -rf "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/usr/share/info/* \
        "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
}

have() { [ "$force" -eq 0 ] && docker image inspect "$1" >/dev/null 2>&1; }

# The real image when the engine can pull it (then no stand-in is needed at all).
pulled() {
    [ "$force" -eq 0 ] && timeout 300 docker pull --quiet "$1" >/dev/null 2>&1 &&
        echo "$1: pulled from its registry" >&2
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if have "$python_image"; then
    echo "$python_image: present" >&2
elif pulled "$python_image"; then
    :
else
    echo "$python_image: Debian 12 + Debian's python3.11" >&2
    if ! have riskloop-stand-in/debian:bookworm; then
        echo "debootstrap --variant=minbase bookworm (about two minutes)" >&2
        debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >&2
        slim_rootfs "$work/rootfs"
        tar -C "$work/rootfs" -c . | docker import - riskloop-stand-in/debian:bookworm >/dev/null
        rm -rf "$work/rootfs"
    fi
    mkdir -p "$work/python/ca"
    # A machine that reaches PyPI through its own TLS-inspecting proxy trusts that proxy's
    # certificate authority (/usr/local/share/ca-certificates): the builds run in this image
    # must trust it too, or uv cannot download a wheel.
    cp /usr/local/share/ca-certificates/*.crt "$work/python/ca/" 2>/dev/null || true
    # What the official slim image has that the build and the services use: python3.11 and
    # `python`/`python3` on PATH, CA certificates, time zones, a UTF-8 locale.
    cat >"$work/python/Dockerfile" <<'DOCKERFILE'
FROM riskloop-stand-in/debian:bookworm
ENV LANG=C.UTF-8 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
COPY ca/ /usr/local/share/ca-certificates/
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3.11 ca-certificates tzdata netbase \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && ln -s /usr/bin/python3.11 /usr/local/bin/python3 \
    && ln -s /usr/bin/python3.11 /usr/local/bin/python
CMD ["python3"]
DOCKERFILE
    docker build -q -t "$python_image" "$work/python" >/dev/null
fi

if have "$uv_image"; then
    echo "$uv_image: present" >&2
elif pulled "$uv_image"; then
    :
else
    echo "$uv_image: uv $uv_version from its PyPI wheel" >&2
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --platform manylinux_2_17_x86_64 --dest "$work/wheel" "uv==$uv_version" >&2
    mkdir -p "$work/uv"
    python3 - "$work/wheel" "$work/uv" <<'PY'
import pathlib, sys, zipfile

wheel, = pathlib.Path(sys.argv[1]).glob("uv-*.whl")
target = pathlib.Path(sys.argv[2])
with zipfile.ZipFile(wheel) as archive:
    for name in ("uv", "uvx"):
        (member,) = [m for m in archive.namelist() if m.endswith(f".data/scripts/{name}")]
        (target / name).write_bytes(archive.read(member))
        (target / name).chmod(0o755)
PY
    printf 'FROM scratch\nCOPY uv uvx /\nENTRYPOINT ["/uv"]\n' >"$work/uv/Dockerfile"
    docker build -q -t "$uv_image" "$work/uv" >/dev/null
fi
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' |
    grep -E "^(${python_image//./\\.}|${uv_image//./\\.}) " >&2
