#!/usr/bin/env bash
# Installs one Sluice node on a VM (Debian 12, systemd): the sluice user,
# /etc/sluice (server.properties rendered for this node, cluster.id,
# apps.env), /var/lib/sluice, the binaries of bin/ in PREFIX/bin, the
# storage-format helper and the three systemd units, then enables them.
# Run it again with the same arguments and it changes nothing.
#
#   sudo deploy/install.sh --cluster-id ID [options] NODE_ID PEER...
#
# NODE_ID and PEER... are render-config.sh's (PEER is ID@HOST); build with
# make first. Options:
#   --cluster-id ID    the cluster's id (sluicectl storage random-uuid, run
#                      once; the same on every node); optional once
#                      /etc/sluice/cluster.id exists
#   --root DIR         install under DIR instead of / (a staging root: no
#                      user is created, nothing is chowned, systemctl only
#                      lays out the enable links)
#   --prefix DIR       where binaries go, /usr/local
#   --bin-dir DIR      where the built binaries are, the repository's bin/
#   --data-dir DIR     log.dirs, /var/lib/sluice/data
#   --bootstrap-servers LIST   the apps' KAFKA_BOOTSTRAP_SERVERS (default:
#                      every peer's host at the client port)
#   --no-apps          the broker only
#   --now              also start (or restart) the units
# Other render-config.sh options (--client-port, --controller-port,
# --metrics-port, --bind, --broker-only, --host) are passed on to it.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=/
PREFIX=/usr/local
BIN_DIR=$HERE/../bin
CLUSTER_ID=""
BOOTSTRAP=""
APPS=1
NOW=0
CLIENT_PORT=9092
RENDER_ARGS=()
BINARIES=(sluice sluicectl sluice-producer-app sluice-consumer-app)

die() {
  echo "install: $*" >&2
  exit 2
}

say() { echo "install: $*"; }

while [ $# -gt 0 ]; do
  case $1 in
  --root | --prefix | --bin-dir | --cluster-id | --bootstrap-servers | --data-dir | --client-port | \
    --controller-port | --metrics-port | --bind | --host)
    [ $# -ge 2 ] || die "$1 needs a value"
    case $1 in
    --root) ROOT=$2 ;;
    --prefix) PREFIX=$2 ;;
    --bin-dir) BIN_DIR=$2 ;;
    --cluster-id) CLUSTER_ID=$2 ;;
    --bootstrap-servers) BOOTSTRAP=$2 ;;
    *)
      RENDER_ARGS+=("$1" "$2")
      [ "$1" = --client-port ] && CLIENT_PORT=$2
      ;;
    esac
    shift 2
    ;;
  --broker-only) RENDER_ARGS+=("$1") && shift ;;
  --no-apps) APPS=0 && shift ;;
  --now) NOW=1 && shift ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
  -*) die "unknown option $1 (--help lists them)" ;;
  *) break ;;
  esac
done

[ $# -ge 2 ] || die "usage: install.sh --cluster-id ID [options] NODE_ID PEER...; --help says more"
[[ $ROOT == /* ]] || die "--root must be an absolute path, not '$ROOT'"
[[ $PREFIX == /* && $PREFIX =~ ^[A-Za-z0-9/._-]+$ ]] || die "--prefix must be an absolute path of letters, digits and / . _ -, not '$PREFIX'"
ROOT=${ROOT%/}
STAGING=0
[ -n "$ROOT" ] && STAGING=1
if [ "$STAGING" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
  die "installing into / needs root (sudo), or --root DIR for a staging root"
fi
for b in "${BINARIES[@]}"; do
  [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b is missing: run make first (or give --bin-dir)"
done
if [ -n "$CLUSTER_ID" ] && ! [[ $CLUSTER_ID =~ ^[A-Za-z0-9_-]{22}$ ]]; then
  die "--cluster-id must be 22 characters of base64url, as 'sluicectl storage random-uuid' prints, not '$CLUSTER_ID'"
fi
if [ -n "$BOOTSTRAP" ] && ! [[ $BOOTSTRAP =~ ^[A-Za-z0-9.:,_-]+$ ]]; then
  die "--bootstrap-servers must be host:port,host:port..., not '$BOOTSTRAP'"
fi

# Render first: bad input stops here, before anything is written.
CONFIG=$("$HERE/render-config.sh" "${RENDER_ARGS[@]}" "$@") || exit 2
DATA_DIR=$(sed -n 's/^log\.dirs=//p' <<< "$CONFIG")
if [ -z "$BOOTSTRAP" ]; then
  shift
  for peer in "$@"; do
    host=${peer#*@}
    BOOTSTRAP+="${BOOTSTRAP:+,}${host%%:*}:$CLIENT_PORT"
  done
fi

ETC=$ROOT/etc/sluice
ID_FILE=$ETC/cluster.id
if [ -f "$ID_FILE" ]; then
  old=$(tr -d '[:space:]' < "$ID_FILE")
  if [ -n "$CLUSTER_ID" ] && [ "$old" != "$CLUSTER_ID" ]; then
    die "$ID_FILE holds cluster id $old, not $CLUSTER_ID: a formatted node keeps its cluster; remove the file (and the data) by hand to change it"
  fi
  CLUSTER_ID=$old
fi
[ -n "$CLUSTER_ID" ] || die "--cluster-id is needed on a first install: run 'sluicectl storage random-uuid' once and give its output to every node"

create_user() {
  if [ "$STAGING" -eq 1 ]; then
    say "staging root: not creating the sluice user"
  elif id sluice > /dev/null 2>&1; then
    say "user sluice exists"
  else
    useradd --system --user-group --home-dir /var/lib/sluice --no-create-home --shell /usr/sbin/nologin \
      --comment "Sluice broker" sluice
    say "created user sluice"
  fi
}

# mode, owner, dir
make_dir() {
  install -d -m "$1" "$ROOT$3"
  [ "$STAGING" -eq 1 ] || chown "$2" "$ROOT$3"
}

# mode, source, destination (within ROOT); copies only when it differs.
put_file() {
  local dst=$ROOT$3
  if [ -f "$dst" ] && cmp -s "$2" "$dst"; then
    return 0
  fi
  install -D -m "$1" "$2" "$dst"
  say "wrote $3"
}

# mode, owner, content, destination: a rendered file; the one it replaces
# is kept as .previous.
put_text() {
  local dst=$ROOT$4 tmp
  tmp=$(mktemp)
  printf '%s\n' "$3" > "$tmp"
  if [ -f "$dst" ] && cmp -s "$tmp" "$dst"; then
    rm -f "$tmp"
    return 0
  fi
  [ -f "$dst" ] && cp -p "$dst" "$dst.previous" && say "kept the old $4 as $4.previous"
  install -D -m "$1" "$tmp" "$dst"
  rm -f "$tmp"
  [ "$STAGING" -eq 1 ] || chown "$2" "$dst"
  say "wrote $4"
}

# A unit with /usr/local replaced by PREFIX.
put_unit() {
  local tmp
  tmp=$(mktemp)
  sed "s#/usr/local/#$PREFIX/#g" "$HERE/systemd/$1" > "$tmp"
  put_file 0644 "$tmp" "/etc/systemd/system/$1"
  rm -f "$tmp"
}

create_user
make_dir 0750 root:sluice /etc/sluice
make_dir 0750 sluice:sluice /var/lib/sluice
make_dir 0750 sluice:sluice "$DATA_DIR"
for b in "${BINARIES[@]}"; do
  put_file 0755 "$BIN_DIR/$b" "$PREFIX/bin/$b"
done
put_file 0755 "$HERE/sluice-storage-format.sh" "$PREFIX/libexec/sluice/sluice-storage-format"
for doc in operations.md apps.md metrics.md sluicectl.md; do
  put_file 0644 "$HERE/../docs/$doc" "$PREFIX/share/doc/sluice/$doc"
done
put_text 0640 root:sluice "$CLUSTER_ID" /etc/sluice/cluster.id
put_text 0640 root:sluice "$CONFIG" /etc/sluice/server.properties
UNITS=(sluice.service)
if [ "$APPS" -eq 1 ]; then
  put_text 0644 root:root "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
PRODUCER_APP_ARGS=
CONSUMER_APP_ARGS=" /etc/sluice/apps.env
  UNITS+=(sluice-producer-app.service sluice-consumer-app.service)
fi
for u in "${UNITS[@]}"; do put_unit "$u"; done
# log.dirs outside /var/lib/sluice must be writable under ProtectSystem=strict.
if [[ $DATA_DIR != /var/lib/sluice/* ]]; then
  put_text 0644 root:root "[Service]
ReadWritePaths=$DATA_DIR" /etc/systemd/system/sluice.service.d/data-dir.conf
fi

if [ "$STAGING" -eq 1 ]; then
  # A staging root has no multi-user.target: the links are laid out all the same.
  systemctl --root="$ROOT" enable "${UNITS[@]}" 2>&1 | grep -v 'non-existent unit' | sed 's/^/install: /' || true
  say "staged under $ROOT"
  exit 0
fi
systemctl daemon-reload
systemctl enable "${UNITS[@]}" 2>&1 | sed 's/^/install: /'
if [ "$NOW" -eq 1 ]; then
  systemctl restart "${UNITS[@]}"
  say "started ${UNITS[*]}"
else
  say "enabled ${UNITS[*]}; start with: systemctl start ${UNITS[*]}"
fi
