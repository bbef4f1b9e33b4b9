#!/usr/bin/env bash
# Portico on kind, end to end, for users with Docker (it cannot run in the project's CI, which has
# no Docker). What it does:
#   1. creates a kind cluster (3 nodes: the speakers need peers),
#   2. builds the image from the repository's Dockerfile and loads it into the cluster,
#   3. `helm install`s charts/portico,
#   4. creates an IPAddressPool in the top of the kind Docker network's IPv4 range and an
#      L2Advertisement for it,
#   5. creates a LoadBalancer Service (with a portico.dev/hostname) in front of a small web server,
#   6. checks from a container on the kind network that the VIP answers HTTP and that the Portico
#      DNS server resolves the hostname to the VIP (dig).
#
# Usage: test/e2e/kind/run.sh            (KEEP=1 keeps the cluster afterwards)
# Env:   CLUSTER=portico-e2e  IMAGE=portico:e2e  NAMESPACE=portico-system  ZONE=k8s.home.arpa
#        HELPER_IMAGE=nicolaka/netshoot (a container with curl and dig, run on the kind network)
set -euo pipefail

CLUSTER="${CLUSTER:-portico-e2e}"
IMAGE="${IMAGE:-portico:e2e}"
NAMESPACE="${NAMESPACE:-portico-system}"
ZONE="${ZONE:-k8s.home.arpa}"
HELPER_IMAGE="${HELPER_IMAGE:-nicolaka/netshoot}"
KEEP="${KEEP:-0}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"

log() { printf '\n==> %s\n' "$*" >&2; }
fail() {
  printf '\nFAIL: %s\n' "$*" >&2
  exit 1
}

for bin in kind docker helm kubectl; do
  command -v "$bin" >/dev/null 2>&1 || fail "$bin is required"
done
WORK="$(mktemp -d)"

cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    log "diagnostics"
    kubectl -n "$NAMESPACE" get pods -o wide || true
    kubectl -n "$NAMESPACE" logs -l app.kubernetes.io/component=speaker --tail=50 --prefix || true
    kubectl -n "$NAMESPACE" logs -l app.kubernetes.io/component=controller --tail=50 --prefix || true
    kubectl get events -A --field-selector reason!=Pulled --sort-by=.lastTimestamp | tail -30 || true
  fi
  rm -rf "$WORK"
  if [ "$KEEP" = "1" ]; then
    log "keeping cluster $CLUSTER (kind delete cluster --name $CLUSTER)"
  else
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
  exit "$status"
}
trap cleanup EXIT

log "creating kind cluster $CLUSTER"
cat >"$WORK/kind.yaml" <<'EOF'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
  - role: worker
  - role: worker
EOF
if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind create cluster --name "$CLUSTER" --config "$WORK/kind.yaml" --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null

log "building $IMAGE from $REPO_ROOT/Dockerfile"
docker build -t "$IMAGE" "$REPO_ROOT"
kind load docker-image "$IMAGE" --name "$CLUSTER"

log "installing charts/portico"
helm upgrade --install portico "$REPO_ROOT/charts/portico" \
  --namespace "$NAMESPACE" --create-namespace \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=Never \
  --set dns.zone.name="$ZONE" \
  --wait --timeout 5m

log "finding the kind network's IPv4 range"
subnet=""
for s in $(docker network inspect kind -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}'); do
  case "$s" in
    *.*/*) subnet="$s" ;;
  esac
done
[ -n "$subnet" ] || fail "the kind Docker network has no IPv4 subnet"
# The top of a /16 (e.g. 172.18.255.200-250) is far from the addresses Docker hands out (bottom up).
IFS=. read -r o1 o2 _ <<<"${subnet%/*}"
prefix_len="${subnet#*/}"
[ "$prefix_len" -le 16 ] || fail "expected a /16 or larger kind network, got $subnet"
range_start="$o1.$o2.255.200"
range_end="$o1.$o2.255.250"
echo "kind network $subnet → pool $range_start-$range_end"

kubectl apply -f - <<EOF
apiVersion: portico.dev/v1alpha1
kind: IPAddressPool
metadata:
  name: kind
spec:
  addresses: ["$range_start-$range_end"]
---
apiVersion: portico.dev/v1alpha1
kind: L2Advertisement
metadata:
  name: kind
spec:
  ipAddressPools: [kind]
EOF

log "deploying a web server behind a LoadBalancer Service"
kubectl create namespace portico-e2e --dry-run=client -o yaml | kubectl apply -f -
kubectl -n portico-e2e apply -f - <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: [netexec, --http-port=8080]
          ports: [{ containerPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    portico.dev/hostname: web.$ZONE
spec:
  type: LoadBalancer
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
EOF
kubectl -n portico-e2e rollout status deployment/web --timeout=180s

wait_for_ip() {
  local ns="$1" name="$2" ip=""
  for _ in $(seq 1 60); do
    ip="$(kubectl -n "$ns" get service "$name" -o jsonpath='{.status.loadBalancer.ingress[0].ip}' 2>/dev/null || true)"
    if [ -n "$ip" ]; then
      echo "$ip"
      return 0
    fi
    sleep 2
  done
  return 1
}

vip="$(wait_for_ip portico-e2e web)" || fail "Service web got no VIP"
echo "web VIP: $vip"
case "$vip" in
  "$o1.$o2.255."*) ;;
  *) fail "VIP $vip is not from the pool $range_start-$range_end" ;;
esac
kubectl -n portico-e2e wait service/web --for=jsonpath='{.status.conditions[?(@.type=="portico.dev/Announced")].status}'=True --timeout=60s ||
  fail "Service web is not Announced"
kubectl -n portico-e2e get service web -o jsonpath='{.status.conditions[?(@.type=="portico.dev/Announced")].message}'
echo

dns_vip="$(wait_for_ip "$NAMESPACE" portico-dns)" || fail "the DNS Service got no VIP"
echo "DNS VIP: $dns_vip"

helper() { docker run --rm --network kind "$HELPER_IMAGE" "$@"; }

log "HTTP to the VIP from a container on the kind network"
ok=0
for _ in $(seq 1 15); do
  if helper curl -fsS --max-time 3 "http://$vip/hostname"; then
    ok=1
    break
  fi
  sleep 2
done
echo
[ "$ok" = 1 ] || fail "http://$vip/ is not reachable"

log "DNS: web.$ZONE through the Portico DNS server"
answer=""
for _ in $(seq 1 15); do
  answer="$(helper dig +short +time=2 +tries=1 "@$dns_vip" "web.$ZONE" A || true)"
  [ "$answer" = "$vip" ] && break
  sleep 2
done
echo "dig @$dns_vip web.$ZONE → ${answer:-<nothing>}"
[ "$answer" = "$vip" ] || fail "web.$ZONE resolved to '${answer}', expected $vip"
flags="$(helper dig +noall +comments "@$dns_vip" "web.$ZONE" A | grep -o 'flags:[^;]*' | head -1)"
case "$flags" in
  *" aa"*) ;;
  *) fail "the answer is not authoritative ($flags)" ;;
esac

log "PASS: $vip serves HTTP and web.$ZONE resolves to it"
