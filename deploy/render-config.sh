#!/usr/bin/env bash
# Prints one node's server.properties from deploy/server.properties.template.
#
#   deploy/render-config.sh [options] NODE_ID PEER...
#
# PEER is ID@HOST (HOST an IPv4 address or a DNS name) or ID@HOST:PORT to
# give that voter its own controller port (several nodes on one machine).
# Every node of the cluster gets the same peer list, its own NODE_ID among
# them: it advertises the host of its own entry.
#
# A broker added to the cluster later (a fourth VM) is not a voter: give it
# --broker-only --host ITS_HOST and the voters' peer list; it gets
# process.roles=broker and no controller listener.
#
# Options (environment in brackets):
#   --client-port N      clients' listener, 9092        [SLUICE_CLIENT_PORT]
#   --controller-port N  controllers' listener, 10092   [SLUICE_CONTROLLER_PORT]
#   --metrics-port N     Prometheus endpoint, 9404      [SLUICE_METRICS_PORT]
#   --data-dir DIR       log.dirs, /var/lib/sluice/data [SLUICE_DATA_DIR]
#   --bind ADDR          listeners' bind address, 0.0.0.0 [SLUICE_BIND]
#   --template FILE      another template               [SLUICE_TEMPLATE]
#   --broker-only        not a voter: process.roles=broker (needs --host)
#   --host HOST          the host this broker advertises (--broker-only)
#
# Bad input gets one line on stderr starting "render-config: " and exit 2;
# nothing is printed then.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CLIENT_PORT=${SLUICE_CLIENT_PORT:-9092}
CONTROLLER_PORT=${SLUICE_CONTROLLER_PORT:-10092}
METRICS_PORT=${SLUICE_METRICS_PORT:-9404}
DATA_DIR=${SLUICE_DATA_DIR:-/var/lib/sluice/data}
BIND=${SLUICE_BIND:-0.0.0.0}
TEMPLATE=${SLUICE_TEMPLATE:-$HERE/server.properties.template}
BROKER_ONLY=0
OWN_HOST=""
PEERS_MAX=64 # a quorum of more voters is not a deployment we mean

die() {
  echo "render-config: $*" >&2
  exit 2
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

check_port() { # name, value
  if ! [[ $2 =~ ^[0-9]{1,5}$ ]] || ((10#$2 < 1 || 10#$2 > 65535)); then
    die "$1 must be a port number (1-65535), not '$2'"
  fi
}

# An IPv4 address or a DNS name: letters, digits, dots and dashes only,
# which also keeps the value safe inside the properties file.
check_host() { # what, value
  if ! [[ $2 =~ ^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$ ]] || [[ $2 == *..* ]]; then
    die "$1 must be an IPv4 address or a host name (letters, digits, '.', '-'), not '$2'"
  fi
}

while [ $# -gt 0 ]; do
  case $1 in
  --client-port | --controller-port | --metrics-port | --data-dir | --bind | --template | --host)
    [ $# -ge 2 ] || die "$1 needs a value"
    case $1 in
    --client-port) CLIENT_PORT=$2 ;;
    --controller-port) CONTROLLER_PORT=$2 ;;
    --metrics-port) METRICS_PORT=$2 ;;
    --data-dir) DATA_DIR=$2 ;;
    --bind) BIND=$2 ;;
    --template) TEMPLATE=$2 ;;
    --host) OWN_HOST=$2 ;;
    esac
    shift 2
    ;;
  --broker-only) BROKER_ONLY=1 && shift ;;
  -h | --help) usage ;;
  --) shift && break ;;
  -*) die "unknown option $1 (--help lists them)" ;;
  *) break ;;
  esac
done

[ $# -ge 2 ] || die "usage: render-config.sh [options] NODE_ID PEER... (PEER is ID@HOST); --help says more"
NODE_ID=$1
shift
[[ $NODE_ID =~ ^[0-9]{1,9}$ ]] || die "NODE_ID must be a non-negative integer, not '$NODE_ID'"
NODE_ID=$((10#$NODE_ID))
[ $# -le $PEERS_MAX ] || die "at most $PEERS_MAX peers, not $#"
check_port --client-port "$CLIENT_PORT"
check_port --controller-port "$CONTROLLER_PORT"
check_port --metrics-port "$METRICS_PORT"
check_host --bind "$BIND"
[[ $DATA_DIR == /* ]] || die "--data-dir must be an absolute path, not '$DATA_DIR'"
[[ $DATA_DIR =~ ^[A-Za-z0-9/._-]+$ ]] || die "--data-dir may hold only letters, digits and / . _ -, not '$DATA_DIR'"
[ -r "$TEMPLATE" ] || die "cannot read the template $TEMPLATE"

VOTERS=""
HOST=""
MY_CONTROLLER_PORT=""
declare -A SEEN=()
for peer in "$@"; do
  [[ $peer =~ ^([0-9]{1,9})@([^:]+)(:([^:]*))?$ ]] || die "peer '$peer' is not ID@HOST or ID@HOST:PORT"
  id=$((10#${BASH_REMATCH[1]}))
  host=${BASH_REMATCH[2]}
  port=${BASH_REMATCH[4]:-$CONTROLLER_PORT}
  check_host "the host of peer '$peer'" "$host"
  check_port "the port of peer '$peer'" "$port"
  port=$((10#$port))
  [ -z "${SEEN[$id]:-}" ] || die "node id $id appears twice among the peers"
  SEEN[$id]=1
  VOTERS+="${VOTERS:+,}$id@$host:$port"
  if [ "$id" -eq "$NODE_ID" ]; then
    HOST=$host
    MY_CONTROLLER_PORT=$port
  fi
done
ROLES=broker,controller
CONTROLLER_LISTENER=",CONTROLLER://$BIND:$MY_CONTROLLER_PORT"
if [ "$BROKER_ONLY" -eq 1 ]; then
  [ -z "$HOST" ] || die "node $NODE_ID is a voter among the peers; --broker-only is for a node that is not"
  [ -n "$OWN_HOST" ] || die "--broker-only needs --host (the address this broker advertises)"
  check_host --host "$OWN_HOST"
  HOST=$OWN_HOST
  ROLES=broker
  CONTROLLER_LISTENER=""
else
  [ -z "$OWN_HOST" ] || die "--host is for --broker-only; a voter advertises the host of its peer entry"
  [ -n "$HOST" ] || die "node $NODE_ID is not among the peers ($*): every node is a voter in combined mode (--broker-only adds a broker that is not)"
fi

# Bash's ${var//pattern/"string"}: the quoted replacement is literal (no &).
render_line() {
  local l=$1
  l=${l//@NODE_ID@/"$NODE_ID"}
  l=${l//@ROLES@/"$ROLES"}
  l=${l//@CONTROLLER_LISTENER@/"$CONTROLLER_LISTENER"}
  l=${l//@VOTERS@/"$VOTERS"}
  l=${l//@HOST@/"$HOST"}
  l=${l//@BIND@/"$BIND"}
  l=${l//@CLIENT_PORT@/"$((10#$CLIENT_PORT))"}
  l=${l//@METRICS_PORT@/"$((10#$METRICS_PORT))"}
  l=${l//@DATA_DIR@/"$DATA_DIR"}
  printf '%s\n' "$l"
}

OUT=""
while IFS= read -r line || [ -n "$line" ]; do
  OUT+=$(render_line "$line")$'\n'
done < "$TEMPLATE"
if [[ $OUT =~ @[A-Z_]+@ ]]; then
  die "the template $TEMPLATE has a field this script does not fill: ${BASH_REMATCH[0]}"
fi
printf '%s' "$OUT"
