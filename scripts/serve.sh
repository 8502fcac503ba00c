#!/usr/bin/env bash
# Start the action server and Rasa together; stop both on Ctrl-C or exit.
#   scripts/serve.sh run    # Rasa server with the REST and socket.io channels
#   scripts/serve.sh shell  # interactive `rasa shell` in this terminal
# Ports and host come from the environment (defaults in brackets):
#   RASA_HOST [127.0.0.1]  RASA_PORT [5005]  ACTION_PORT [5055]  RASA_MODEL [models/spine-faq.tar.gz]
#   RASA_ENDPOINTS [endpoints.yml, with ACTION_PORT filled in]
#   ACTION_SERVER_URL [http://127.0.0.1:$ACTION_PORT/webhook] for endpoints files that use it
#   SERVE_BANNER [true]  false: no start-up banner (make cluster prints its own)
# Security (README, "Security, privacy and operations"):
#   ACTION_SERVER_TOKEN [random per start]  shared secret Rasa sends to the action server
#   RASA_ENABLE_API [false]  true: Rasa's HTTP API, only with RASA_AUTH_TOKEN and/or RASA_JWT_SECRET
#   CLINIC_ALLOWED_ORIGINS [none]  web pages allowed to call Rasa from a browser (CORS)
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
# Sanic answers 413 to request bodies over this many bytes before reading them (its
# default is 100 MB); a patient's question needs a few KB (docs/reliability.md). The
# action server replaces it with its own, larger ACTION_REQUEST_MAX_SIZE: Rasa sends it
# the whole session on every turn (bot/server/action_server.py).
export SANIC_REQUEST_MAX_SIZE=${SANIC_REQUEST_MAX_SIZE:-65536}

[ -x "$bin/rasa" ] || { echo "error: $bin/rasa missing; run 'make install' first" >&2; exit 1; }
[ -f "$model" ] || { echo "error: no trained model at $model; run 'make train' first" >&2; exit 1; }

mkdir -p var  # the SQLite tracker store lives here (endpoints.yml)

# The secret endpoints.yml sends as X-Action-Token; the action server refuses requests
# without it. A fresh random one per start unless you set your own.
if [ -z "${ACTION_SERVER_TOKEN:-}" ]; then
  ACTION_SERVER_TOKEN=$("$bin/python" -c 'import secrets; print(secrets.token_hex(32))')
fi
export ACTION_SERVER_TOKEN

# Rasa's HTTP API can read and change every patient's conversation: off unless asked
# for, and then never without authentication.
api_args=()
case "${RASA_ENABLE_API:-false}" in
  true)
    if [ -n "${RASA_AUTH_TOKEN:-}" ]; then api_args+=(--auth-token "$RASA_AUTH_TOKEN"); fi
    if [ -n "${RASA_JWT_SECRET:-}" ]; then api_args+=(--jwt-secret "$RASA_JWT_SECRET"); fi
    if [ ${#api_args[@]} -eq 0 ]; then
      echo "error: RASA_ENABLE_API=true needs RASA_AUTH_TOKEN or RASA_JWT_SECRET;" \
        "the API must not run without authentication" >&2
      exit 2
    fi
    api_args=(--enable-api "${api_args[@]}")
    ;;
  false) ;;
  *) echo "error: RASA_ENABLE_API must be true or false, got '$RASA_ENABLE_API'" >&2; exit 2 ;;
esac

# CORS allow-list from the clinic settings (CLINIC_ALLOWED_ORIGINS or clinic.yml);
# none means only pages served by Rasa itself (the web chat demo) can call it.
origins=$("$bin/python" -m bot allowed-origins) || exit 2
cors_args=()
while IFS= read -r origin; do
  if [ -n "$origin" ]; then cors_args+=("$origin"); fi
done <<< "$origins"
if [ ${#cors_args[@]} -gt 0 ]; then cors_args=(--cors "${cors_args[@]}"); fi

# Rasa is started through bot.server.launcher: `rasa` with two measured per-turn CPU
# fixes installed (bot/server/rasa_internals.py); arguments and behaviour are Rasa's own.
pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# The action server listens on loopback (ACTION_HOST to change): Rasa is its only client.
"$bin/python" -m bot.server.action_server --actions actions --port "$action_port" &
pids+=($!)

export ACTION_SERVER_URL=${ACTION_SERVER_URL:-http://127.0.0.1:$action_port/webhook}
endpoints=${RASA_ENDPOINTS:-endpoints.yml}
if [ -z "${RASA_ENDPOINTS:-}" ] && [ "$action_port" != 5055 ]; then
  endpoints=$(mktemp)
  sed "s/127.0.0.1:5055/127.0.0.1:$action_port/" endpoints.yml > "$endpoints"
fi

case "$mode" in
  run)
    echo "Starting the action server and Rasa on $host:$rasa_port (about 20 s)..."
    "$bin/python" -m bot.server.launcher run --model "$model" --endpoints "$endpoints" \
      --credentials credentials.yml \
      --interface "$host" --port "$rasa_port" ${api_args[@]+"${api_args[@]}"} \
      ${cors_args[@]+"${cors_args[@]}"} &
    pids+=($!)
    if [ "${SERVE_BANNER:-true}" != false ]; then
      "$bin/python" -m bot banner --url "http://$host:$rasa_port" --endpoints "$endpoints" &
      pids+=($!)
    fi
    wait "${pids[@]}"
    ;;
  shell)
    "$bin/python" -m bot.server.launcher shell --model "$model" --endpoints "$endpoints" \
      --interface "$host" --port "$rasa_port"
    ;;
  *)
    echo "usage: $0 run|shell" >&2
    exit 2
    ;;
esac
