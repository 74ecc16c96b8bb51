#!/usr/bin/env bash
# kube-cluster.sh DIR up|down
#
# A one-node Kubernetes cluster for the tests (binaries from build-kube.sh in $KUBE_BIN, the
# private Docker engine of docker-engine.sh in $DOCKER_HOST as the kubelet's runtime), every
# file of it in DIR. No controller-manager, no kube-proxy, no network plugin: pods use the host
# network and must listen on 127.0.0.1.
#
# The node lives in a network namespace of its own (kubelet refuses a loopback node address and
# the host's own address must not be used): a veth pair joins the host (198.18.0.1/30) and the
# node (198.18.0.2/30), a benchmark range that exists only on this pair. etcd, the API server,
# the scheduler and kubelet run inside it; the API is https://198.18.0.2:6443.
# kubelet runs in a mount namespace of its own where the kernel tunables it insists on are
# files holding its values, so the host's sysctls are never written (and are compared with
# their saved values at `down`), and /var/log is DIR/varlog; DIR/kubelet is shared with the
# host's namespace, where the engine must see the pods' mounts.
# `up` writes DIR/kubeconfig. `down` stops everything by recorded PID, removes the pods'
# containers, the veth pair and the namespace.
set -euo pipefail
DIR=$(realpath -m "${1:?usage: kube-cluster.sh DIR up|down}")
ACTION=${2:?usage: kube-cluster.sh DIR up|down}
NETNS=${KUBE_NETNS:-jht-kube}
HOST_IP=198.18.0.1
NODE_IP=198.18.0.2
NODE=jht-node
PAUSE_IMAGE=jupyterhub-teams-test/pause:3.4.1
TUNABLES="vm.overcommit_memory=1 vm.panic_on_oom=0 kernel.panic=10 kernel.panic_on_oops=1
          kernel.keys.root_maxkeys=1000000 kernel.keys.root_maxbytes=25000000"

# an exited daemon that PID 1 has not reaped yet counts as stopped
alive() { local state; state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -n "$state" ] && [ "$state" != Z ]; }

down() {
  [ -d "$DIR/pids" ] || return 0
  for name in kubelet kube-scheduler kube-apiserver etcd; do
    file=$DIR/pids/$name.pid
    [ -f "$file" ] || continue
    pid=$(cat "$file")
    # only a process of ours: its command line names the daemon or DIR (PIDs get reused)
    if tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | grep -q -e "$name" -e "$DIR"; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 75); do alive "$pid" || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
  done
  # kubelet leaves the pods' containers running when it stops
  if [ -f "$DIR/docker_host" ]; then
    ids=$(DOCKER_HOST=$(cat "$DIR/docker_host") docker ps -aq --filter label=io.kubernetes.pod.name 2>/dev/null || true)
    [ -z "$ids" ] || DOCKER_HOST=$(cat "$DIR/docker_host") docker rm -f $ids >/dev/null
  fi
  # the shared DIR/kubelet and the pod mounts that reached the host through it
  if mountpoint -q "$DIR/kubelet" 2>/dev/null; then umount -R "$DIR/kubelet"; fi
  ip link del "$NETNS-h" 2>/dev/null || true
  ip netns del "$NETNS" 2>/dev/null || true
  if [ -f "$DIR/sysctl.before" ]; then
    while IFS== read -r key value; do
      now=$(sysctl -n "$key")
      if [ "$now" != "$value" ]; then echo "restoring $key: $now -> $value" >&2; sysctl -qw "$key=$value"; fi
    done < "$DIR/sysctl.before"
  fi
}

if [ "$ACTION" = down ]; then down; exit 0; fi

BIN=${KUBE_BIN:?set KUBE_BIN to the folder build-kube.sh printed}
: "${DOCKER_HOST:?start docker-engine.sh and set DOCKER_HOST}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
command -v etcd >/dev/null \
  || DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends etcd-server >&2
trap 'echo "the cluster did not come up; stopping what started" >&2; down' ERR
mkdir -p "$DIR"/{pids,logs,sysctl,varlog,pki}
echo "$DOCKER_HOST" > "$DIR/docker_host"
for pair in $TUNABLES; do echo "${pair%%=*}=$(sysctl -n "${pair%%=*}")"; done > "$DIR/sysctl.before"

ip netns add "$NETNS"
ip link add "$NETNS-h" type veth peer name "$NETNS-n" netns "$NETNS"
ip addr add "$HOST_IP/30" dev "$NETNS-h"
ip link set "$NETNS-h" up
ip -n "$NETNS" addr add "$NODE_IP/30" dev "$NETNS-n"
ip -n "$NETNS" link set "$NETNS-n" up
ip -n "$NETNS" link set lo up
# nsenter, not `ip netns exec`: that remounts /sys and kubelet would lose its cgroups
IN_NODE="nsenter --net=/run/netns/$NETNS"
start() { local name=$1; shift; "$@" >"$DIR/logs/$name.log" 2>&1 & echo $! >"$DIR/pids/$name.pid"; }
wait_until() {
  local what=$1 log=$2; shift 2
  for _ in $(seq 450); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "timed out waiting for $what; the end of its log:" >&2
  tail -25 "$DIR/logs/$log.log" >&2
  return 1
}

# one static admin token; every request is allowed (a test cluster)
TOKEN=$(openssl rand -hex 16)
echo "$TOKEN,admin,admin,system:masters" > "$DIR/tokens.csv"
openssl genrsa -out "$DIR/sa.key" 2048 2>/dev/null
cat > "$DIR/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "https://$NODE_IP:6443", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: "$TOKEN"}}]
contexts: [{name: test, context: {cluster: test, user: admin, namespace: default}}]
current-context: test
KUBECONFIG
chmod 600 "$DIR/kubeconfig" "$DIR/tokens.csv"
api() { curl -sfk -H "Authorization: Bearer $TOKEN" "$@"; }
API=https://$NODE_IP:6443

start etcd $IN_NODE etcd --name node --data-dir "$DIR/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster node=http://127.0.0.1:2380
wait_until etcd etcd $IN_NODE curl -sf http://127.0.0.1:2379/health

start kube-apiserver $IN_NODE "$BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
  --bind-address=$NODE_IP --advertise-address=$NODE_IP --secure-port=6443 --cert-dir="$DIR/pki" \
  --token-auth-file="$DIR/tokens.csv" --anonymous-auth=false --authorization-mode=AlwaysAllow \
  --service-account-key-file="$DIR/sa.key" --service-account-signing-key-file="$DIR/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc --service-cluster-ip-range=198.19.0.0/24 \
  --allow-privileged=true
wait_until kube-apiserver kube-apiserver api $API/readyz

start kube-scheduler $IN_NODE "$BIN/kube-scheduler" --kubeconfig="$DIR/kubeconfig" \
  --leader-elect=false --authentication-kubeconfig="$DIR/kubeconfig" \
  --authorization-kubeconfig="$DIR/kubeconfig" --bind-address=127.0.0.1 --port=0

docker image inspect $PAUSE_IMAGE >/dev/null 2>&1 \
  || tar -C "$BIN" -c pause | docker import -c 'ENTRYPOINT ["/pause"]' - $PAUSE_IMAGE >/dev/null
for pair in $TUNABLES; do echo "${pair#*=}" > "$DIR/sysctl/${pair%%=*}"; done
# The mounts kubelet makes for pods (subPath binds, above all) must reach the Docker engine,
# which runs in the host's mount namespace: DIR/kubelet is a shared mount, and kubelet's
# namespace keeps it shared while every other mount there is made private first, so that the
# tunables and /var/log binds stay kubelet's alone.
mkdir -p "$DIR/kubelet"
mountpoint -q "$DIR/kubelet" || mount --bind "$DIR/kubelet" "$DIR/kubelet"
mount --make-shared "$DIR/kubelet"
PRIVATE="findmnt -rno TARGET | while read -r m; do [ \"\$m\" = $DIR/kubelet ] || mount --make-private \"\$m\" 2>/dev/null || true; done"
MOUNTS="for f in $DIR/sysctl/*; do mount --bind \$f /proc/sys/\$(basename \$f | tr . /); done; mount --bind $DIR/varlog /var/log"
start kubelet unshare -m --propagation unchanged sh -c "$PRIVATE; $MOUNTS; exec $IN_NODE $BIN/kubelet \
  --kubeconfig=$DIR/kubeconfig --container-runtime=docker --docker-endpoint=$DOCKER_HOST \
  --pod-infra-container-image=$PAUSE_IMAGE --hostname-override=$NODE --node-ip=$NODE_IP \
  --address=$NODE_IP --healthz-bind-address=127.0.0.1 --read-only-port=0 \
  --root-dir=$DIR/kubelet --experimental-dockershim-root-directory=$DIR/dockershim \
  --volume-plugin-dir=$DIR/volume-plugins --cert-dir=$DIR/kubelet-pki \
  --fail-swap-on=false --cgroups-per-qos=false --enforce-node-allocatable= --cgroup-driver=cgroupfs \
  --make-iptables-util-chains=false --oom-score-adj=0 --protect-kernel-defaults=true \
  --image-gc-high-threshold=100 --image-gc-low-threshold=99 \
  '--eviction-hard=memory.available<1Mi,nodefs.available<1%,imagefs.available<1%'"
wait_until "the node to register" kubelet api $API/api/v1/nodes/$NODE

# the two jobs of the absent controller-manager: drop the not-ready taint, and create the
# "default" service account (pods are refused without it; keep automountServiceAccountToken off)
api -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"taints":null}}' \
  $API/api/v1/nodes/$NODE >/dev/null
api -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"default"}}' \
  $API/api/v1/namespaces/default/serviceaccounts >/dev/null || true
node_ready() {
  api $API/api/v1/nodes/$NODE | python3 -c 'import json, sys
node = json.load(sys.stdin)
conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
sys.exit(not (conditions.get("Ready") == "True" and not node["spec"].get("taints")))'
}
wait_until "the node to be ready" kubelet node_ready
trap - ERR
