#!/usr/bin/env bash
# build-image.sh CACHE_DIR JUPYTERHUB_VERSION JUPYTERLAB_VERSION COLLABORATION_VERSION
#
# Builds, without any container registry, the root filesystem of a stock single-user image:
# Debian minbase (the host's own suite and apt sources), a Python venv in /opt/jh with
# jupyterhub, jupyterlab and jupyter-collaboration from PyPI, a /home/jovyan any uid may write
# to (servers run as the person's uid), and nothing of jupyterhub-teams.
# Prints the tarball's path. The tarball is cached in CACHE_DIR under a name made of the suite
# and the three versions, so a second run costs nothing.
# Load it with: docker import -c 'ENV PATH=/opt/jh/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
#   -c 'ENV LANG=C.UTF-8' -c 'CMD ["jupyterhub-singleuser"]' TARBALL TAG
set -euo pipefail
CACHE=${1:?usage: build-image.sh CACHE_DIR JH_VERSION LAB_VERSION COLLAB_VERSION}
JH=${2:?}; LAB=${3:?}; COLLAB=${4:?}
. /etc/os-release
# LAYOUT changes whenever this script changes what goes into the image
LAYOUT=2
OUT=$CACHE/singleuser-$LAYOUT-$VERSION_CODENAME-jupyterhub$JH-jupyterlab$LAB-collaboration$COLLAB.tar
if [ -s "$OUT" ]; then echo "$OUT"; exit 0; fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
command -v mmdebstrap >/dev/null \
  || DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends mmdebstrap >&2
mkdir -p "$CACHE"
PARTIAL=$CACHE/.partial-$$.tar     # mmdebstrap picks tar output from the suffix
trap 'rm -f "$PARTIAL"' EXIT
# pip inside the chroot needs the host's CA bundle and name resolution for the build only; both
# are removed again. env -i keeps the host's pip settings (local paths) out of the chroot.
PIP="env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 PIP_CERT=/tmp/host-ca.crt PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1"
mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates,tini \
  --customize-hook='cp /etc/ssl/certs/ca-certificates.crt "$1/tmp/host-ca.crt"; cp /etc/resolv.conf "$1/etc/resolv.conf"' \
  --customize-hook='chroot "$1" python3 -m venv /opt/jh' \
  --customize-hook="chroot \"\$1\" $PIP /opt/jh/bin/pip install -q jupyterhub==$JH jupyterlab==$LAB jupyter-collaboration==$COLLAB" \
  --customize-hook='mkdir -p -m 1777 "$1/home/jovyan"' \
  --customize-hook='rm -f "$1/tmp/host-ca.crt" "$1/etc/resolv.conf"; rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  "$VERSION_CODENAME" "$PARTIAL" >&2
mv "$PARTIAL" "$OUT"
trap - EXIT
echo "$OUT"
