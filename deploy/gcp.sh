#!/usr/bin/env bash
# Our users' cluster on GCP: three Debian 12 VMs in three zones of one
# region, each with a static internal IP, running a Sluice node (KRaft
# combined mode) and both web apps; firewall rules for clients (9092),
# controllers (10092), the apps (8001, 8002) and metrics (9404) from one
# source range, and node to node inside the cluster. Then each VM gets the
# source tree (git archive), builds it and runs deploy/install.sh, and
# test-topic is created (6 partitions, replication factor 3, gzip).
#
#   deploy/gcp.sh --project P --source-range CIDR [options]
#
# Options (environment in brackets):
#   --project P          GCP project                    [GCP_PROJECT]
#   --region R           us-central1                    [GCP_REGION]
#   --zones A,B,C        R-a,R-b,R-c                    [GCP_ZONES]
#   --source-range CIDR  who may reach the ports, e.g. 10.0.0.0/8 [SLUICE_SOURCE_RANGE]
#   --network N, --subnet S   default, default          [GCP_NETWORK, GCP_SUBNET]
#   --ips A,B,C          internal IPs to reserve (default: GCP picks them)
#   --machine-type T     n2-standard-4; --disk-size 100GB
#   --name-prefix X      VM names X-1, X-2, X-3; sluice
#   --cluster-id ID      default: a new one (bin/sluicectl storage random-uuid)
#   --no-install         create the VMs and rules only
#   --dry-run            print the gcloud commands, run nothing (no network)
#
# Bad input: one line on stderr starting "gcp: " and exit 2.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PROJECT=${GCP_PROJECT:-${CLOUDSDK_CORE_PROJECT:-}}
REGION=${GCP_REGION:-us-central1}
ZONES=${GCP_ZONES:-}
SOURCE_RANGE=${SLUICE_SOURCE_RANGE:-}
NETWORK=${GCP_NETWORK:-default}
SUBNET=${GCP_SUBNET:-default}
IPS=""
MACHINE_TYPE=n2-standard-4
DISK_SIZE=100GB
NAME_PREFIX=sluice
CLUSTER_ID=""
INSTALL=1
DRY_RUN=0
PORTS="tcp:9092,tcp:10092,tcp:8001,tcp:8002,tcp:9404"
NODES=(1 2 3)

die() {
  echo "gcp: $*" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case $1 in
  --project | --region | --zones | --source-range | --network | --subnet | --ips | --machine-type | \
    --disk-size | --name-prefix | --cluster-id)
    [ $# -ge 2 ] || die "$1 needs a value"
    case $1 in
    --project) PROJECT=$2 ;;
    --region) REGION=$2 ;;
    --zones) ZONES=$2 ;;
    --source-range) SOURCE_RANGE=$2 ;;
    --network) NETWORK=$2 ;;
    --subnet) SUBNET=$2 ;;
    --ips) IPS=$2 ;;
    --machine-type) MACHINE_TYPE=$2 ;;
    --disk-size) DISK_SIZE=$2 ;;
    --name-prefix) NAME_PREFIX=$2 ;;
    --cluster-id) CLUSTER_ID=$2 ;;
    esac
    shift 2
    ;;
  --no-install) INSTALL=0 && shift ;;
  --dry-run) DRY_RUN=1 && shift ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
  *) die "unknown argument $1 (--help lists the options)" ;;
  esac
done

NAME_RE='^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$' # GCP resource names
[ -n "$PROJECT" ] || die "--project (or GCP_PROJECT) is required"
[[ $PROJECT =~ ^[a-z][-a-z0-9]{4,28}[a-z0-9]$ ]] || die "--project '$PROJECT' is not a GCP project id"
[[ $REGION =~ ^[a-z]+-[a-z]+[0-9]+$ ]] || die "--region '$REGION' is not a GCP region (e.g. us-central1)"
[ -n "$SOURCE_RANGE" ] || die "--source-range (or SLUICE_SOURCE_RANGE) is required: the CIDR range allowed to reach the cluster"
CIDR_RE='^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$'
IFS=, read -r -a RANGES <<< "$SOURCE_RANGE"
for r in "${RANGES[@]}"; do
  [[ $r =~ $CIDR_RE ]] || die "--source-range '$r' is not an IPv4 CIDR range (a.b.c.d/n)"
done
[ -n "$ZONES" ] || ZONES="$REGION-a,$REGION-b,$REGION-c"
IFS=, read -r -a ZONE <<< "$ZONES"
[ ${#ZONE[@]} -eq 3 ] || die "--zones needs three zones, not '$ZONES'"
for z in "${ZONE[@]}"; do
  [[ $z == "$REGION"-[a-z] ]] || die "zone '$z' is not a zone of $REGION (e.g. $REGION-a)"
done
[ "$(printf '%s\n' "${ZONE[@]}" | sort -u | wc -l)" -eq 3 ] || die "--zones must be three different zones"
for v in "$NETWORK" "$SUBNET" "$NAME_PREFIX-3-ip"; do
  [[ $v =~ $NAME_RE ]] || die "'$v' is not a GCP resource name (lower-case letters, digits, '-')"
done
[[ $MACHINE_TYPE =~ ^[a-z0-9-]+$ ]] || die "--machine-type '$MACHINE_TYPE' is not a machine type"
[[ $DISK_SIZE =~ ^[0-9]+(GB|TB)$ ]] || die "--disk-size '$DISK_SIZE' is not a size like 100GB"
IP=()
if [ -n "$IPS" ]; then
  IFS=, read -r -a IP <<< "$IPS"
  [ ${#IP[@]} -eq 3 ] || die "--ips needs three addresses, not '$IPS'"
  for a in "${IP[@]}"; do
    [[ $a =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || die "--ips: '$a' is not an IPv4 address"
  done
fi
if [ -z "$CLUSTER_ID" ]; then
  [ -x "$HERE/../bin/sluicectl" ] || die "bin/sluicectl is missing: run make, or give --cluster-id"
  CLUSTER_ID=$("$HERE/../bin/sluicectl" storage random-uuid)
fi
[[ $CLUSTER_ID =~ ^[A-Za-z0-9_-]{22}$ ]] || die "--cluster-id '$CLUSTER_ID' is not a cluster id (22 characters of base64url)"

quote() { # one shell word, quoted only when it must be
  if [[ $1 =~ ^[A-Za-z0-9_./:,=@%+-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

show() { # a command as one line a shell can run
  local sep=""
  for a in "$@"; do
    printf '%s' "$sep"
    quote "$a"
    sep=" "
  done
}

run() { # a gcloud command: printed, and run unless --dry-run
  show "$@"
  echo
  [ "$DRY_RUN" -eq 1 ] || "$@"
}

G=(--project "$PROJECT")

for n in "${NODES[@]}"; do
  addr=(gcloud compute addresses create "$NAME_PREFIX-$n-ip" "${G[@]}" --region "$REGION" --subnet "$SUBNET")
  [ -z "$IPS" ] || addr+=(--addresses "${IP[$((n - 1))]}")
  run "${addr[@]}"
done
for n in "${NODES[@]}"; do
  if [ -z "$IPS" ]; then
    if [ "$DRY_RUN" -eq 1 ]; then
      run gcloud compute addresses describe "$NAME_PREFIX-$n-ip" "${G[@]}" --region "$REGION" --format 'value(address)'
      IP[n - 1]="IP_OF_$NAME_PREFIX-$n"
    else
      printf 'gcloud compute addresses describe %s ...\n' "$NAME_PREFIX-$n-ip"
      IP[n - 1]=$(gcloud compute addresses describe "$NAME_PREFIX-$n-ip" "${G[@]}" --region "$REGION" \
        --format 'value(address)')
    fi
  fi
done

run gcloud compute firewall-rules create "$NAME_PREFIX-access" "${G[@]}" --network "$NETWORK" \
  --direction INGRESS --action allow --rules "$PORTS" --source-ranges "$SOURCE_RANGE" \
  --target-tags "$NAME_PREFIX"
# Node to node (replication, the quorum), whatever the source range.
run gcloud compute firewall-rules create "$NAME_PREFIX-internal" "${G[@]}" --network "$NETWORK" \
  --direction INGRESS --action allow --rules "tcp:9092,tcp:10092" --source-tags "$NAME_PREFIX" \
  --target-tags "$NAME_PREFIX"

for n in "${NODES[@]}"; do
  run gcloud compute instances create "$NAME_PREFIX-$n" "${G[@]}" --zone "${ZONE[$((n - 1))]}" \
    --machine-type "$MACHINE_TYPE" --image-family debian-12 --image-project debian-cloud \
    --boot-disk-size "$DISK_SIZE" --boot-disk-type pd-balanced --subnet "$SUBNET" \
    --private-network-ip "${IP[$((n - 1))]}" --tags "$NAME_PREFIX"
done

PEERS=""
for n in "${NODES[@]}"; do PEERS+="${PEERS:+ }$n@${IP[$((n - 1))]}"; done
echo "# cluster id $CLUSTER_ID; peers $PEERS"
[ "$INSTALL" -eq 1 ] || exit 0

# Each VM: the source tree, Debian's build packages (make deps), make, then
# deploy/install.sh --now (the user, /etc/sluice, the units, started).
for n in "${NODES[@]}"; do
  remote="rm -rf sluice-src && mkdir sluice-src && tar -x -C sluice-src && cd sluice-src"
  remote+=" && sudo apt-get update -qq && sudo apt-get install -y -qq make && make deps && make -j\$(nproc)"
  remote+=" && sudo deploy/install.sh --now --cluster-id $CLUSTER_ID $n $PEERS"
  ssh=(gcloud compute ssh "$NAME_PREFIX-$n" "${G[@]}" --zone "${ZONE[$((n - 1))]}" --command "$remote")
  printf 'git -C %s archive --format=tar HEAD | ' "$(quote "$REPO")"
  if [ "$DRY_RUN" -eq 1 ]; then
    run "${ssh[@]}"
  else
    show "${ssh[@]}"
    echo
    git -C "$REPO" archive --format=tar HEAD | "${ssh[@]}"
  fi
done
run gcloud compute ssh "$NAME_PREFIX-1" "${G[@]}" --zone "${ZONE[0]}" --command \
  "sluicectl topics --bootstrap-server localhost:9092 --create --if-not-exists --topic test-topic --partitions 6 --replication-factor 3 --config compression.type=gzip"
