#!/usr/bin/env bash
# Installs the Debian packages Sluice builds and tests with, when missing.
set -euo pipefail
pkgs=(build-essential pkg-config zlib1g-dev libzstd-dev liblz4-dev libsnappy-dev libssl-dev
      check libfyaml-dev librdkafka-dev libmicrohttpd-dev kcat valgrind gnuplot-nox
      python3 python3-pytest python3-kafka python3-confluent-kafka python3-snappy python3-lz4
      python3-zstandard procps
      chromium python3-prometheus-client # test_system.py: the page in a real browser; metrics parsed as Prometheus does
      shellcheck python3-yaml # test_deploy.py: shellcheck on deploy/*.sh, the alert rules parsed
      python3-pytest-xdist # the integration files run on several workers (they mostly wait on brokers)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
