#!/bin/sh
# Entrypoint of the Tempest worker image: `tempest worker` with its flags taken from the
# environment, so Compose and Kubernetes configure workers with plain variables. Arguments given
# to the container are appended (e.g. `--max-concurrent-cells 4` overrides the variable).
#   TEMPORAL_ADDRESS              host:port of the Temporal frontend (default 127.0.0.1:7233)
#   TEMPORAL_NAMESPACE            Temporal namespace (default "default")
#   TEMPEST_TASK_QUEUE            task queue (default tempest-benchmarks)
#   TEMPEST_ARTIFACTS             s3://bucket/prefix or a folder (default $TEMPEST_HOME/artifacts)
#   TEMPEST_MAX_CONCURRENT_CELLS  cells evaluated at once (default 2)
#   TEMPEST_ACTIVITIES_ONLY       1: cell batches only, no workflows (a spec's attackTaskQueue)
#   TEMPEST_PAYLOAD_KEY_FILE      keyring file (a mounted secret); unset: TEMPEST_PAYLOAD_KEYS or
#                                 TEMPEST_PAYLOAD_KEY if set, else payloads are not encrypted
# TLS and API keys (Temporal Cloud, a frontend behind TLS) need no flag here: `tempest worker` reads
# the `temporal` CLI's variables itself, TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH
# / _KEY_PATH / TEMPORAL_TLS_SERVER_CA_CERT_PATH (or the _DATA forms with inline PEM) and
# TEMPORAL_TLS_SERVER_NAME.
# S3 endpoint and credentials come from the AWS variables (AWS_ENDPOINT_URL_S3, AWS_REGION,
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SHARED_CREDENTIALS_FILE, ...), read by the SDK.
set -eu

app="${TEMPEST_APP_DIR:-/app}"
set -- worker \
  --address "${TEMPORAL_ADDRESS:-127.0.0.1:7233}" \
  --namespace "${TEMPORAL_NAMESPACE:-default}" \
  --task-queue "${TEMPEST_TASK_QUEUE:-tempest-benchmarks}" \
  --max-concurrent-cells "${TEMPEST_MAX_CONCURRENT_CELLS:-2}" \
  "$@"
if [ -n "${TEMPEST_ARTIFACTS:-}" ]; then
  set -- "$@" --artifacts "$TEMPEST_ARTIFACTS"
fi
if [ "${TEMPEST_ACTIVITIES_ONLY:-0}" = 1 ]; then
  set -- "$@" --activities-only
fi
if [ -n "${TEMPEST_PAYLOAD_KEY_FILE:-}" ]; then
  set -- "$@" --payload-key-file "$TEMPEST_PAYLOAD_KEY_FILE"
fi
# exec: node becomes PID 1's child-free process and receives SIGTERM itself (graceful shutdown).
exec node "$app/bin/tempest.js" "$@"
