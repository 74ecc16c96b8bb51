#!/usr/bin/env bash
# build-kube.sh CACHE_DIR
#
# kube-apiserver, kubelet and kube-scheduler, built from Debian's `kubernetes` source package
# (Debian ships only kubectl as a binary) with Debian's Go, plus the static "pause" binary pods
# start with. Prints the folder holding them. The folder's name carries the source and Go
# versions, so a second run finds it and installs nothing (about 8 minutes the first time on
# two cores, ~3 GB of scratch space).
set -euo pipefail
CACHE=${1:?usage: build-kube.sh CACHE_DIR}
export DEBIAN_FRONTEND=noninteractive
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# A private apt state with deb-src lines made from the host's own Debian sources; the host's
# apt configuration is read, never changed.
. /etc/os-release
APT_DIR=$CACHE/apt
mkdir -p "$APT_DIR/parts" "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
for f in $(grep -l "^Suites:.*\b$VERSION_CODENAME\b" /etc/apt/sources.list.d/*.sources 2>/dev/null); do
  sed 's/^Types: deb$/Types: deb-src/' "$f" > "$APT_DIR/parts/$(basename "$f")"
done
if [ -f /etc/apt/sources.list ]; then
  sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list > "$APT_DIR/parts/host.list"
fi
APT=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$APT_DIR/parts"
     -o "Dir::State::lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache")
source_version() { apt-cache "${APT[@]}" showsrc kubernetes 2>/dev/null | awk '/^Version:/{print $2; exit}'; }
VERSION=$(source_version || true)
if [ -z "$VERSION" ]; then
  apt-get "${APT[@]}" update -q >/dev/null
  VERSION=$(source_version)
fi
GO_VERSION=$(apt-cache policy golang-go | awk '/Candidate:/{print $2}' | tr -c 'A-Za-z0-9.+\n' _)
OUT=$CACHE/kube-$VERSION-go$GO_VERSION-reflect2fix
BINARIES="kube-apiserver kubelet kube-scheduler pause"
if (cd "$OUT" 2>/dev/null && ls $BINARIES >/dev/null 2>&1); then echo "$OUT"; exit 0; fi

as_root apt-get install -y -q --no-install-recommends golang-go rsync dpkg-dev gcc libc6-dev \
  golang-github-modern-go-reflect2-dev >&2
WORK=$(mktemp -d /tmp/jupyterhub-teams-kube-build.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
apt-get "${APT[@]}" source -q "kubernetes=$VERSION" >/dev/null 2>&1
cd "$WORK"/kubernetes-*/
mkdir -p .go/src/k8s.io && ln -s ../../.. .go/src/k8s.io/kubernetes   # the layout debian/rules uses
# Kubernetes 1.20 vendors modern-go/reflect2 1.0.1, which makes binaries built with Go 1.18 or
# later crash on their first map encoding; Debian's reflect2 1.0.2 (same API) does not.
rsync -a --delete --exclude go.mod --exclude go.sum \
  /usr/share/gocode/src/github.com/modern-go/reflect2/ vendor/github.com/modern-go/reflect2/
env GOPATH="$PWD/.go" HOME="$WORK/home" GOCACHE="$WORK/gocache" GOFLAGS= \
  make WHAT="cmd/kube-apiserver cmd/kubelet cmd/kube-scheduler" >&2
gcc -Os -Wall -static -DVERSION=v3.4.1 -o _output/bin/pause build/pause/linux/pause.c
mkdir -p "$OUT.partial"
for binary in $BINARIES; do cp "_output/bin/$binary" "$OUT.partial/"; done
rm -rf "$OUT" && mv "$OUT.partial" "$OUT"
echo "$OUT"
