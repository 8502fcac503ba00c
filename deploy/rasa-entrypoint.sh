#!/usr/bin/env bash
# Entrypoint of the Rasa image (deploy/Dockerfile.rasa): Rasa through bot.server.launcher,
# with the arguments it is given (the image's CMD, compose's `command`, Helm's `args`) plus
# what scripts/serve.sh adds for `make run`: `--cors` with the clinic's allowed origins
# (CLINIC_ALLOWED_ORIGINS or clinic.yml), so an embedded widget works the same way.
# Rasa's HTTP API stays off: serve.sh's RASA_ENABLE_API is not offered here.
set -euo pipefail

origins=$(python -m bot allowed-origins) || exit 2
cors_args=()
while IFS= read -r origin; do
  if [ -n "$origin" ]; then cors_args+=("$origin"); fi
done <<< "$origins"
if [ ${#cors_args[@]} -gt 0 ]; then cors_args=(--cors "${cors_args[@]}"); fi

exec python -m bot.server.launcher "$@" ${cors_args[@]+"${cors_args[@]}"}
