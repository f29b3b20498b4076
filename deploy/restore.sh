#!/usr/bin/env bash
# Restore a backup made by backup.sh: checks SHA256SUMS, recreates each dumped database from
# its dump (the database is dropped first: stop the services that use it), and replaces the
# content of ARTIFACT_DIR with the archived MLflow artifacts.
#
#   restore.sh BACKUP_FOLDER [ARTIFACT_DIR]
#
# Connection: the standard libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD); the user must
# be allowed to create databases. In the compose stack (see docs/deploy.md#restore):
#   docker compose stop api ui monitor mlflow
#   docker compose --profile tools run --rm --entrypoint /deploy/restore.sh backup \
#       /backups/riskloop-YYYYmmddTHHMMSSZ /mlartifacts
#   docker compose start mlflow api ui monitor
set -euo pipefail

usage() { echo "usage: $0 BACKUP_FOLDER [ARTIFACT_DIR]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
folder=$1
artifacts=${2:-}

if [ ! -f "$folder/SHA256SUMS" ]; then
    echo "error: $folder has no SHA256SUMS: not a complete backup made by backup.sh" >&2
    exit 1
fi
(cd "$folder" && sha256sum --check --quiet SHA256SUMS) || {
    echo "error: checksums in $folder do not match: the backup is damaged" >&2
    exit 1
}

shopt -s nullglob
dumps=("$folder"/*.dump)
if [ ${#dumps[@]} -eq 0 ]; then
    echo "error: no database dump (*.dump) in $folder" >&2
    exit 1
fi
for dump in "${dumps[@]}"; do
    database=$(basename "$dump" .dump)
    echo "restoring database $database" >&2
    dropdb --if-exists --force --maintenance-db=postgres "$database"
    createdb --maintenance-db=postgres "$database"
    pg_restore --no-owner --exit-on-error --dbname="$database" "$dump"
done

if [ -n "$artifacts" ]; then
    if [ ! -f "$folder/mlartifacts.tar.gz" ]; then
        echo "error: $folder has no mlartifacts.tar.gz to restore into $artifacts" >&2
        exit 1
    fi
    echo "restoring MLflow artifacts into $artifacts" >&2
    mkdir -p "$artifacts"
    find "$artifacts" -mindepth 1 -delete
    tar -C "$artifacts" -xzf "$folder/mlartifacts.tar.gz"
fi
echo "restored $folder"
