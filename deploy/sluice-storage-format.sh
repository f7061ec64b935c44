#!/usr/bin/env bash
# sluice.service's ExecStartPre: formats this node's log dirs with the
# cluster id in /etc/sluice/cluster.id before the first start, and does
# nothing on later starts (--ignore-formatted), as kafka-storage.sh format
# does. Installed as PREFIX/libexec/sluice/sluice-storage-format.
#
#   sluice-storage-format [CONFIG [CLUSTER_ID_FILE]]
set -euo pipefail
CONFIG=${1:-/etc/sluice/server.properties}
ID_FILE=${2:-/etc/sluice/cluster.id}
SLUICECTL=${SLUICECTL:-$(dirname "$0")/../../bin/sluicectl}

if [ ! -r "$ID_FILE" ]; then
  echo "sluice-storage-format: $ID_FILE is missing: run 'sluicectl storage random-uuid' once for the cluster and write its output to $ID_FILE on every node" >&2
  exit 2
fi
id=$(tr -d '[:space:]' < "$ID_FILE")
if ! [[ $id =~ ^[A-Za-z0-9_-]{22}$ ]]; then
  echo "sluice-storage-format: $ID_FILE does not hold a cluster id (22 characters of base64url, as 'sluicectl storage random-uuid' prints)" >&2
  exit 2
fi
exec "$SLUICECTL" storage format -t "$id" -c "$CONFIG" --ignore-formatted
