#!/usr/bin/env bash
# Serves an exported FCN with the tensorflow/serving image:
#   REST on http://localhost:8501/v1/models/fcn, gRPC on localhost:8500.
# Usage: export/docker_run.sh [EXPORT_DIR]   (default: serving/fcn, which holds 1/, 2/, ...)
# TF Serving polls the folder: a new version exported into it is picked up without a restart.
set -euo pipefail
export_dir="$(cd "${1:-serving/fcn}" && pwd)"
config="$(cd "$(dirname "$0")" && pwd)/models.config"
docker run --rm -p 8501:8501 -p 8500:8500 \
  --mount "type=bind,source=${export_dir},target=/models/fcn,readonly" \
  --mount "type=bind,source=${config},target=/models/models.config,readonly" \
  tensorflow/serving:latest \
  --model_config_file=/models/models.config \
  --model_config_file_poll_wait_seconds=60
