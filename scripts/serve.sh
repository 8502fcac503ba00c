#!/usr/bin/env bash
# Start the action server and Rasa together; stop both on Ctrl-C or exit.
#   scripts/serve.sh run    # Rasa server with the REST and socket.io channels
#   scripts/serve.sh shell  # interactive `rasa shell` in this terminal
# Ports and host come from the environment (defaults in brackets):
#   RASA_HOST [127.0.0.1]  RASA_PORT [5005]  ACTION_PORT [5055]  RASA_MODEL [models/spine-faq.tar.gz]
#   RASA_ENDPOINTS [endpoints.yml, with ACTION_PORT filled in]
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
bin=.venv/bin
host=${RASA_HOST:-127.0.0.1}
rasa_port=${RASA_PORT:-5005}
action_port=${ACTION_PORT:-5055}
model=${RASA_MODEL:-models/spine-faq.tar.gz}
export RASA_TELEMETRY_ENABLED=${RASA_TELEMETRY_ENABLED:-false}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

[ -x "$bin/rasa" ] || { echo "error: $bin/rasa missing; run 'make install' first" >&2; exit 1; }
[ -f "$model" ] || { echo "error: no trained model at $model; run 'make train' first" >&2; exit 1; }

mkdir -p var  # the SQLite tracker store lives here (endpoints.yml)

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# The action server only listens on loopback: Rasa is its only client.
SANIC_HOST=127.0.0.1 "$bin/python" -m rasa_sdk --actions actions --port "$action_port" &
pids+=($!)

endpoints=${RASA_ENDPOINTS:-endpoints.yml}
if [ -z "${RASA_ENDPOINTS:-}" ] && [ "$action_port" != 5055 ]; then
  endpoints=$(mktemp)
  sed "s/127.0.0.1:5055/127.0.0.1:$action_port/" endpoints.yml > "$endpoints"
fi

case "$mode" in
  run)
    echo "Chat at http://$host:$rasa_port/webhooks/rest/webhook (Ctrl-C stops both servers)"
    "$bin/rasa" run --model "$model" --endpoints "$endpoints" --credentials credentials.yml \
      --interface "$host" --port "$rasa_port" &
    pids+=($!)
    wait "${pids[@]}"
    ;;
  shell)
    "$bin/rasa" shell --model "$model" --endpoints "$endpoints" --port "$rasa_port"
    ;;
  *)
    echo "usage: $0 run|shell" >&2
    exit 2
    ;;
esac
