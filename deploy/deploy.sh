#!/usr/bin/env bash
# Deploy the riskloop compose stack to a Linux machine prepared by deploy/cloud-init.yaml
# (Docker with the compose plugin, a firewall, the `riskloop` user): copy the stack, set the
# secrets, install the systemd units, start the stack and wait until GET /ready answers 200.
#
#   deploy/deploy.sh --host riskloop@203.0.113.10 [--domain risk.example.com] [--email you@x]
#                    [--image ghcr.io/OWNER/riskloop:v1] [--env-file deploy/.env] [--dry-run]
#
# Secrets: deploy/.env (git-ignored). When it does not exist it is created from .env.example
# with fresh random secrets (mode 600) and kept for the next deployment. --dry-run prints every
# command instead of running it and connects nowhere. Run from anywhere inside the repository.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
host=""
domain=""
email=""
image=""
env_file="$repo/deploy/.env"
dry_run=0
remote_dir=/opt/riskloop
ready_timeout=${RISKLOOP_READY_TIMEOUT_S:-1200}

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
        --host) host=${2:?--host needs user@address}; shift 2 ;;
        --domain) domain=${2:?--domain needs a name}; shift 2 ;;
        --email) email=${2:?--email needs an address}; shift 2 ;;
        --image) image=${2:?--image needs an image reference}; shift 2 ;;
        --env-file) env_file=${2:?--env-file needs a path}; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        -h | --help) usage ;;
        *) echo "error: unknown argument $1" >&2; usage ;;
    esac
done
if [[ ! "$host" =~ ^[A-Za-z0-9._-]+@[A-Za-z0-9.:_-]+$ ]]; then
    echo "error: --host must be user@address (received '${host}')" >&2
    exit 2
fi
if [ -n "$domain" ] && [[ ! "$domain" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
    echo "error: --domain must be a DNS name such as risk.example.com (received '$domain')" >&2
    exit 2
fi

# Print a command (dry run) or run it.
run() {
    if [ "$dry_run" -eq 1 ]; then
        echo "+ $*"
    else
        "$@"
    fi
}

remote() { run ssh -o BatchMode=yes "$host" "$@"; }

# The secrets file: created once with random values, then reused.
if [ ! -f "$env_file" ]; then
    echo "creating $env_file with new random secrets" >&2
    umask 077
    while IFS= read -r line; do
        case "$line" in
            *=change-me*) echo "${line%%=*}=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" ;;
            *) echo "$line" ;;
        esac
    done <"$repo/deploy/.env.example" >"$env_file"
fi

# The .env the machine gets: the secrets plus this deployment's address and image.
rendered=$(mktemp)
trap 'rm -f "$rendered"' EXIT
grep -vE '^(RISKLOOP_SITE_ADDRESS|RISKLOOP_ACME_EMAIL|RISKLOOP_IMAGE|RISKLOOP_API_IMAGE|RISKLOOP_UI_URL)=' \
    "$env_file" >"$rendered" || true
# The API's image is published next to the full one: ghcr.io/OWNER/riskloop:v1 → riskloop-api:v1.
if [ -n "$image" ] && [[ "$image" =~ ^(.+):([^:/]+)$ ]]; then
    api_image="${BASH_REMATCH[1]}-api:${BASH_REMATCH[2]}"
elif [ -n "$image" ]; then
    api_image="$image-api"
else
    api_image=riskloop-api:local
fi
{
    echo "RISKLOOP_SITE_ADDRESS=${domain:-:80}"
    echo "RISKLOOP_ACME_EMAIL=$email"
    echo "RISKLOOP_IMAGE=${image:-riskloop:local}"
    echo "RISKLOOP_API_IMAGE=$api_image"
    # where sign-in returns people (the address the identity provider has registered)
    if [ -n "$domain" ]; then echo "RISKLOOP_UI_URL=https://$domain"; else echo "RISKLOOP_UI_URL=http://${host#*@}"; fi
} >>"$rendered"
if grep -q 'change-me' "$rendered"; then
    echo "error: $env_file still holds a change-me placeholder: set every secret" >&2
    exit 1
fi
if grep -q 'from-your-identity-provider' "$rendered"; then
    echo "error: $env_file still holds a from-your-identity-provider placeholder: set" \
        "RISKLOOP_OIDC_ISSUER, RISKLOOP_OIDC_CLIENT_ID and RISKLOOP_OIDC_CLIENT_SECRET (the UI's" \
        "registration at your identity provider; docs/deploy.md)" >&2
    exit 1
fi

echo "deploying to $host:$remote_dir (${domain:-no domain: plain HTTP on port 80})" >&2

# 1. Copy what the stack needs (code and lock to build the image, configuration, the bundled
#    data) — never local state, secrets or backups.
remote "sudo install -d -o \$(id -u) -g \$(id -g) $remote_dir"
if [ "$dry_run" -eq 1 ]; then
    echo "+ tar -C $repo -czf - pyproject.toml uv.lock README.md src conf/base conf/logging.yml deploy data/01_raw | ssh $host tar -C $remote_dir -xzf -"
else
    tar -C "$repo" -czf - --exclude=deploy/.env --exclude=deploy/backups --exclude=__pycache__ \
        pyproject.toml uv.lock README.md src conf/base conf/logging.yml deploy data/01_raw |
        ssh -o BatchMode=yes "$host" "tar -C $remote_dir -xzf -"
fi

# 2. Secrets, readable by the deploying user only.
if [ "$dry_run" -eq 1 ]; then
    echo "+ ssh $host 'umask 077 && cat > $remote_dir/deploy/.env' < (rendered $env_file)"
else
    ssh -o BatchMode=yes "$host" "umask 077 && cat > $remote_dir/deploy/.env" <"$rendered"
fi

# 3. The image: built on the machine from the lock, or pulled when --image names a published one.
if [ -n "$image" ]; then
    remote "cd $remote_dir/deploy && docker compose --env-file .env pull"
else
    remote "cd $remote_dir/deploy && docker compose --env-file .env build"
fi

# 4. systemd: the stack starts at boot; backups run nightly.
remote "sudo cp $remote_dir/deploy/systemd/riskloop.service $remote_dir/deploy/systemd/riskloop-backup.service $remote_dir/deploy/systemd/riskloop-backup.timer /etc/systemd/system/ && sudo systemctl daemon-reload && sudo systemctl enable riskloop.service riskloop-backup.timer && sudo systemctl restart riskloop.service && sudo systemctl start riskloop-backup.timer"

# 5. Wait until the API has loaded a champion (the first start trains one: a few minutes).
echo "waiting up to ${ready_timeout}s for GET /ready" >&2
remote "for i in \$(seq 1 $((ready_timeout / 10))); do curl -fsS http://127.0.0.1:8000/ready && exit 0; sleep 10; done; echo 'API not ready: docker compose logs api bootstrap' >&2; exit 1"

if [ "$dry_run" -eq 1 ]; then
    echo "dry run: nothing was copied, started or contacted" >&2
elif [ -n "$domain" ]; then
    echo "riskloop is up: https://$domain (API https://$domain/docs, Grafana https://$domain/grafana/)" >&2
else
    echo "riskloop is up: http://${host#*@} (plain HTTP; give --domain for TLS)" >&2
fi
