#!/bin/sh
# podnet: pod networking for the offline kind cluster, doing what kind's kindnetd does (ADR 080).
# On its node (hostNetwork, NET_ADMIN): writes a CNI config (ptp + host-local over the node's
# podCIDR, portmap), masquerades pod traffic leaving the pod network, and keeps a route to every
# other node's podCIDR via that node's InternalIP. Level-based: every pass recomputes the routes
# from the Node list, so a node that comes back (docker start) gets its routes again.
set -eu
: "${NODE_NAME:?NODE_NAME (downward API) is required}"
: "${POD_SUBNET:?POD_SUBNET is required}"
CNI_DIR="${CNI_DIR:-/etc/cni/net.d}"
INTERVAL="${INTERVAL:-5}"

log() { echo "podnet: $*"; }

pod_cidr=""
while [ -z "$pod_cidr" ]; do
  pod_cidr="$(kubectl get node "$NODE_NAME" -o jsonpath='{.spec.podCIDR}' 2>/dev/null || true)"
  [ -n "$pod_cidr" ] || { log "waiting for $NODE_NAME's podCIDR"; sleep 2; }
done
mtu="$(cat /sys/class/net/eth0/mtu 2>/dev/null || echo 1500)"
conf="$CNI_DIR/10-podnet.conflist"
cat >"$conf.tmp" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "podnet",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "mtu": $mtu,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "routes": [{ "dst": "0.0.0.0/0" }],
        "ranges": [[{ "subnet": "$pod_cidr" }]]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
mv "$conf.tmp" "$conf"
log "wrote $conf for $pod_cidr (mtu $mtu)"

# Pod traffic to anything outside the pod network leaves with the node's address.
iptables -t nat -N PODNET-MASQ 2>/dev/null || true
iptables -t nat -C POSTROUTING -j PODNET-MASQ 2>/dev/null || iptables -t nat -A POSTROUTING -j PODNET-MASQ
iptables -t nat -F PODNET-MASQ
iptables -t nat -A PODNET-MASQ -d "$POD_SUBNET" -j RETURN
iptables -t nat -A PODNET-MASQ -s "$POD_SUBNET" -j MASQUERADE

while :; do
  kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' 2>/dev/null |
    while read -r name cidr ip; do
      if [ "$name" = "$NODE_NAME" ] || [ -z "$cidr" ] || [ -z "$ip" ]; then continue; fi
      case "$ip" in *:*) continue ;; esac
      case "$(ip route show "$cidr" 2>/dev/null)" in
        *"via $ip "*) ;;
        *) ip route replace "$cidr" via "$ip" && log "route $cidr via $ip ($name)" ;;
      esac
    done
  sleep "$INTERVAL"
done
