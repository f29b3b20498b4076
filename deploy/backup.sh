#!/usr/bin/env bash
# Back up riskloop: a pg_dump (custom format) of each database and a tarball of the MLflow
# artifacts, into a new time-stamped folder with SHA256SUMS; folders older than
# RISKLOOP_BACKUP_KEEP_DAYS are deleted afterwards.
#
#   backup.sh BACKUP_ROOT [ARTIFACT_DIR]
#
# Connection: the standard libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD).
# RISKLOOP_BACKUP_DATABASES  databases to dump (default "riskloop mlflow")
# RISKLOOP_BACKUP_KEEP_DAYS  days to keep (default 14; 0 keeps everything)
# In the compose stack: docker compose --profile tools run --rm backup (nightly by
# riskloop-backup.timer). Restore with restore.sh. Prints the new folder on the last line.
set -euo pipefail

usage() { echo "usage: $0 BACKUP_ROOT [ARTIFACT_DIR]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
root=$1
artifacts=${2:-}
read -r -a databases <<<"${RISKLOOP_BACKUP_DATABASES:-riskloop mlflow}"
keep_days=${RISKLOOP_BACKUP_KEEP_DAYS:-14}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
target="$root/riskloop-$stamp"
partial="$target.partial"
mkdir -p "$partial"
# a failed run leaves no folder that looks complete
trap 'rm -rf "$partial"' ERR

for database in "${databases[@]}"; do
    echo "dumping database $database" >&2
    pg_dump --format=custom --no-owner --dbname="$database" --file="$partial/$database.dump"
done

if [ -n "$artifacts" ]; then
    if [ ! -d "$artifacts" ]; then
        echo "error: artifact folder $artifacts does not exist" >&2
        exit 1
    fi
    echo "archiving MLflow artifacts from $artifacts" >&2
    tar -C "$artifacts" -czf "$partial/mlartifacts.tar.gz" .
fi

(cd "$partial" && sha256sum -- * >SHA256SUMS)
mv "$partial" "$target"
trap - ERR

if [ "$keep_days" -gt 0 ]; then
    find "$root" -mindepth 1 -maxdepth 1 -type d -name 'riskloop-*' -mtime +"$keep_days" \
        -exec rm -rf {} +
fi
echo "$target"
