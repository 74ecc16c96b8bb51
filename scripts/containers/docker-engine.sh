#!/usr/bin/env bash
# docker-engine.sh DIR start|stop
#
# A private Docker engine for the tests: its data, state, socket and logs all live in DIR (keep
# DIR short: a unix socket path is at most 107 bytes). It makes no bridge and touches neither
# iptables nor sysctls: containers run with --network host (and listen on 127.0.0.1 only) or
# --network none. After start: export DOCKER_HOST=unix://DIR/docker.sock
# Stop keeps DIR, so the images loaded into it are there at the next start.
set -euo pipefail
D=$(realpath -m "${1:?usage: docker-engine.sh DIR start|stop}")
ACTION=${2:-start}

# an exited daemon that PID 1 has not reaped yet counts as stopped
alive() { local state; state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -n "$state" ] && [ "$state" != Z ]; }

if [ "$ACTION" = stop ]; then
  if [ -f "$D/dockerd.pid" ]; then
    pid=$(cat "$D/dockerd.pid")
    kill "$pid" 2>/dev/null || true   # dockerd stops its containers and its containerd
    for _ in $(seq 150); do alive "$pid" || break; sleep 0.2; done
    rm -f "$D/dockerd.pid"
  fi
  # dockerd leaves its netns bind mount behind; unmount everything under DIR
  findmnt -rn -o TARGET | grep "^$D/" | sort -r | xargs -r -n1 umount -l || true
  exit 0
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
command -v dockerd >/dev/null \
  || DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends docker.io >&2
mkdir -p "$D"
if [ -f "$D/dockerd.pid" ] && alive "$(cat "$D/dockerd.pid")"; then exit 0; fi

# kubelet asks runc for a negative oom_score_adj (the pod's pause container), which needs
# CAP_SYS_RESOURCE; this wrapper clamps negative values to 0 and runs runc. Plain containers
# ask 0 and pass through unchanged.
cat > "$D/runc-clamp" <<'WRAPPER'
#!/bin/sh
for arg in "$@"; do case "$arg" in create|run)
  bundle=.; prev=
  for x in "$@"; do { [ "$prev" = --bundle ] || [ "$prev" = -b ]; } && bundle=$x; prev=$x; done
  [ -f "$bundle/config.json" ] && sed -i -E 's/"oomScoreAdj":-[0-9]+/"oomScoreAdj":0/' "$bundle/config.json"
  break;;
esac; done
exec /usr/sbin/runc "$@"
WRAPPER
chmod +x "$D/runc-clamp"
echo '{}' > "$D/daemon.json"   # the host's /etc/docker/daemon.json is never read

dockerd --config-file "$D/daemon.json" \
  --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
  --storage-driver=overlay2 --oom-score-adjust=0 \
  --add-runtime "runc-clamp=$D/runc-clamp" --default-runtime=runc-clamp \
  --data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/dockerd.pid" \
  -H "unix://$D/docker.sock" --log-level=warn >"$D/dockerd.log" 2>&1 &
for _ in $(seq 300); do
  if docker -H "unix://$D/docker.sock" version >/dev/null 2>&1; then exit 0; fi
  sleep 0.2
done
echo "dockerd did not start; its log:" >&2
tail -20 "$D/dockerd.log" >&2
exit 1
