#!/bin/sh
# Starts JupyterLab on 0.0.0.0:8888 with a token from JUPYTER_TOKEN, else from the file
# JUPYTER_TOKEN_FILE (default /run/secrets/jupyter_token, e.g. a Docker/Podman secret).
# Refuses to start without a token. Notebooks: NOTEBOOK_DIR (default /home/weir/notebooks).
# Extra arguments go to `jupyter lab`.
set -eu
token_file=${JUPYTER_TOKEN_FILE:-/run/secrets/jupyter_token}
if [ -z "${JUPYTER_TOKEN:-}" ] && [ -f "$token_file" ]; then
  if [ ! -r "$token_file" ]; then
    echo "weir-notebook: $token_file is not readable by uid $(id -u)" >&2
    exit 64
  fi
  JUPYTER_TOKEN=$(tr -d ' \t\r\n' < "$token_file")
fi
if [ -z "${JUPYTER_TOKEN:-}" ]; then
  echo "weir-notebook: no token: set JUPYTER_TOKEN or mount a secret file at $token_file" >&2
  exit 64
fi
# Jupyter Server reads the token from the environment, so it never shows in the process list.
export JUPYTER_TOKEN
unset JUPYTER_TOKEN_FILE
# Run as another uid than the image's (e.g. --user 1000:1000 to match a volume's owner), the home
# directory is not writable: Jupyter's runtime files then go to a private temporary home.
if [ ! -w "${HOME:-/nonexistent}" ]; then
  HOME=$(mktemp -d /tmp/home.XXXXXX)
  export HOME
fi
notebook_dir=${NOTEBOOK_DIR:-/home/weir/notebooks}
# New notebooks default to the Arc kernel (Python's ipykernel stays available).
exec jupyter lab --ip=0.0.0.0 --port=8888 --no-browser \
  --ServerApp.root_dir="$notebook_dir" --MultiKernelManager.default_kernel_name=arc "$@"
