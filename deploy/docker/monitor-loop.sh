#!/bin/sh
# riskloop's scheduled work inside the compose stack (installed as riskloop-monitor-loop).
#
#   riskloop-monitor-loop bootstrap   migrate the prediction store; train and register a first
#                                     champion when the registry has none; publish the public
#                                     half of the model-signing key (RISKLOOP_PUBLIC_KEY_DIR,
#                                     default /app/trusted-keys) for the API to trust; exit
#   riskloop-monitor-loop loop        every RISKLOOP_MONITOR_INTERVAL_S seconds run the drift
#                                     monitor, which retrains a challenger when one of its alerts
#                                     asks for it (retraining.yml `alerts`: which rules, at most
#                                     once per min_interval_hours) and asks the API to reload;
#                                     also every RISKLOOP_RETRAIN_INTERVAL_S seconds (0: never)
#                                     retrain on a timer, then ask the API to reload the champion
#
# The loop runs `riskloop monitor --retrain-on-alerts` and, on its own schedule, retraining; the
# same without the timer is `riskloop monitor --every 1h --api-url http://api:8000
# --retrain-on-alerts`. This script stays the container's entry point so compose.yaml does not
# change.
set -eu

monitor_interval="${RISKLOOP_MONITOR_INTERVAL_S:-3600}"
retrain_interval="${RISKLOOP_RETRAIN_INTERVAL_S:-0}"
api_url="${RISKLOOP_API_URL:-http://api:8000}"
public_key_dir="${RISKLOOP_PUBLIC_KEY_DIR:-/app/trusted-keys}"

has_champion() {
    python - <<'PY'
import sys

from riskloop import registry
from riskloop.data.scenario import load_scenario
from riskloop.settings import Settings

settings = Settings()
registry.configure(settings.resolved_tracking_uri)
name = load_scenario(settings.scenario_path).model_name
sys.exit(0 if registry.version_for_alias(name) is not None else 1)
PY
}

reload_api() {
    # The API swaps models without a restart when it offers POST /v1/admin/reload.
    python - "$api_url" <<'PY' || echo "could not reload the API; restart it: docker compose restart api"
import os
import sys
import urllib.request

request = urllib.request.Request(
    sys.argv[1] + "/v1/admin/reload",
    method="POST",
    headers={"Authorization": "Bearer " + os.environ.get("RISKLOOP_ADMIN_TOKEN", "")},
)
with urllib.request.urlopen(request, timeout=60) as response:
    print("API reloaded:", response.status)
PY
}

publish_public_key() {
    # The API loads only models signed by a key it trusts (RISKLOOP_TRUSTED_KEYS, compose.yaml):
    # the trainer's public key, written where the API reads it. The private key stays here.
    python - "$public_key_dir" <<'PY'
import sys
from pathlib import Path

from riskloop.provenance import PUBLIC_KEY_FILE, ensure_signing_key, public_key_pem
from riskloop.settings import Settings

key = ensure_signing_key(Settings().resolved_signing_key_file)
folder = Path(sys.argv[1])
folder.mkdir(parents=True, exist_ok=True)
(folder / PUBLIC_KEY_FILE).write_bytes(public_key_pem(key.public_key))
print(f"model-signing key {key.key_id}: public key in {folder / PUBLIC_KEY_FILE}")
PY
}

bootstrap() {
    riskloop db upgrade
    if has_champion; then
        echo "a champion is registered: nothing to train"
    else
        echo "no champion registered yet: training the first one"
        riskloop run
    fi
    publish_public_key
}

loop() {
    last_retrain=$(date +%s)
    while true; do
        # one monitor run (docs/monitoring.md), retraining when an alert asks for it (rate
        # limited by the journal); exit status 1 means "nothing logged yet": not a reason to
        # stop the loop
        riskloop monitor --api-url "$api_url" --retrain-on-alerts || echo "monitor exited with status $?"
        now=$(date +%s)
        if [ "$retrain_interval" -gt 0 ] && [ $((now - last_retrain)) -ge "$retrain_interval" ]; then
            riskloop retrain && reload_api
            last_retrain=$now
        fi
        sleep "$monitor_interval"
    done
}

case "${1:-loop}" in
    bootstrap) bootstrap ;;
    loop) loop ;;
    *) echo "usage: riskloop-monitor-loop [bootstrap|loop]" >&2; exit 2 ;;
esac
