#!/usr/bin/env bash
# Portico on kind, end to end, the way a user runs it: client → Portico DNS → VIP (ARP from the
# owning speaker) → kube-proxy → Gateway (Traefik) → backend pod. On a laptop with Docker and
# internet it uses public images; CI runs the same script offline with the images
# test/cluster/build.sh makes (the *_IMAGE / GATEWAY_API_CRDS overrides below).
#
# What it checks, each printed as "CHECK ok: …" (the first failed check stops it with "FAIL: …"):
#   1. a 3-node kind cluster (1 control plane, 2 workers); `helm install charts/portico` with the
#      chart's defaults plus dns.service.nodePort, a pool in the top of the kind network's range
#      and an L2Advertisement; every pod Ready; speakers hold CAP_NET_RAW and nothing else;
#   2. Traefik (Gateway API) + a Gateway + an HTTPRoute app.$ZONE → a backend Deployment; the
#      Gateway's Service gets a VIP and the Gateway reports it;
#   3. DNS: app.$ZONE resolves to that VIP on the DNS Service's VIP and on NodePort 30053 of every
#      node (the /etc/resolver setup), authoritative;
#   4. `curl http://app.$ZONE/` through the system resolver pointed at the Portico DNS returns the
#      backend's reply; the client's neighbour table maps the VIP to the MAC of exactly the node
#      the Service's portico.dev/Announced condition names;
#   5. an externalTrafficPolicy: Local Service is announced by the node running its endpoint;
#      `portico status -o json` (cli/main.ts) shows the Gateway's VIP with that owner, the zone
#      served and every speaker live, and `portico why` says OK;
#   6. failover: `docker kill` of the owner node while the client requests every 50 ms; the VIP
#      moves and requests succeed again (outage in ms, FAILOVER_TRIALS times), and the same for a
#      speaker pod deleted gracefully (GRACEFUL_TRIALS times);
#   7. deleting the controller pods moves no IP; `helm upgrade` with a changed value moves no IP and
#      keeps the speaker key; `helm uninstall` leaves only what the README says stays.
#
# Usage: test/e2e/kind/run.sh            (KEEP=1 keeps the cluster afterwards)
# Env:   CLUSTER=portico-e2e  IMAGE=portico:e2e  NAMESPACE=portico-system  ZONE=k8s.home.arpa
#        KIND_NODE_IMAGE=       kind node image (empty: kind's default)
#        NODE_IMAGE=            build arg for the Dockerfile's Node image (empty: node:24-bookworm-slim)
#        TRAEFIK_IMAGE=docker.io/traefik:v3.6   CLIENT_IMAGE=nicolaka/netshoot
#        GATEWAY_API_CRDS=<standard-install.yaml URL of Gateway API v1.4.0> (a URL, file or folder)
#        FAILOVER_TRIALS=5  GRACEFUL_TRIALS=5
#        RESULTS_JSON=      write the measured outages there as one JSON object (the bench uses it)
set -euo pipefail

CLUSTER="${CLUSTER:-portico-e2e}"
IMAGE="${IMAGE:-portico:e2e}"
NAMESPACE="${NAMESPACE:-portico-system}"
ZONE="${ZONE:-k8s.home.arpa}"
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-}"
NODE_IMAGE="${NODE_IMAGE:-}"
TRAEFIK_IMAGE="${TRAEFIK_IMAGE:-docker.io/traefik:v3.6}"
CLIENT_IMAGE="${CLIENT_IMAGE:-nicolaka/netshoot}"
GATEWAY_API_CRDS="${GATEWAY_API_CRDS:-https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.4.0/standard-install.yaml}"
FAILOVER_TRIALS="${FAILOVER_TRIALS:-5}"
GRACEFUL_TRIALS="${GRACEFUL_TRIALS:-5}"
RESULTS_JSON="${RESULTS_JSON:-}"
KEEP="${KEEP:-0}"
DNS_NODE_PORT=30053
APP_NS=portico-e2e
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
CLIENT="$CLUSTER-client"
T0=$SECONDS

log() { printf '\n==> [%ss] %s\n' "$((SECONDS - T0))" "$*" >&2; }
ok() { printf 'CHECK ok: %s\n' "$*"; }
fail() {
  printf '\nFAIL: %s\n' "$*" >&2
  exit 1
}
# Every Deployment and DaemonSet of a namespace rolled out and available. Not `kubectl wait
# pods --all`: it lists the pods first, and a replaced pod deleted while it waits fails it with
# NotFound (seen after `helm upgrade`, when the old DNS replica went away).
rolled_out() { # NAMESPACE TIMEOUT
  local w
  for w in $(kubectl -n "$1" get deployments,daemonsets -o name); do
    kubectl -n "$1" rollout status "$w" --timeout="$2" >/dev/null || return 1
  done
}

for bin in kind docker helm kubectl node; do
  command -v "$bin" >/dev/null 2>&1 || fail "$bin is required"
done
WORK="$(mktemp -d)"

cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    log "diagnostics"
    kubectl get nodes -o wide || true
    kubectl get pods -A -o wide || true
    kubectl -n "$NAMESPACE" logs -l app.kubernetes.io/component=speaker --tail=40 --prefix || true
    kubectl -n "$NAMESPACE" logs -l app.kubernetes.io/component=controller --tail=40 --prefix || true
    kubectl -n "$NAMESPACE" logs -l app.kubernetes.io/component=dns --tail=20 --prefix || true
    kubectl -n "$APP_NS" logs -l app=traefik --tail=20 --prefix || true
    kubectl get events -A --sort-by=.lastTimestamp 2>/dev/null | tail -40 || true
  fi
  docker rm -f "$CLIENT" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  if [ "$KEEP" = "1" ]; then
    log "keeping cluster $CLUSTER (kind delete cluster --name $CLUSTER)"
  else
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
  exit "$status"
}
trap cleanup EXIT

# ------------------------------------------------------------------------------------------------
log "creating kind cluster $CLUSTER (1 control plane, 2 workers)"
cat >"$WORK/kind.yaml" <<'EOF'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
  - role: worker
  - role: worker
EOF
kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
kind create cluster --name "$CLUSTER" --config "$WORK/kind.yaml" --wait 180s ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"}
kubectl config use-context "kind-$CLUSTER" >/dev/null
kubectl wait --for=condition=Ready nodes --all --timeout=180s >/dev/null || fail "nodes not Ready"
mapfile -t WORKERS < <(kubectl get nodes -l '!node-role.kubernetes.io/control-plane' -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
[ "${#WORKERS[@]}" -eq 2 ] || fail "expected 2 workers, got ${WORKERS[*]}"
ok "kind cluster with 3 Ready nodes (workers ${WORKERS[*]})"

log "building $IMAGE from $REPO_ROOT/Dockerfile"
# BuildKit when the buildx plugin is there; the classic builder otherwise (the Dockerfile needs no
# BuildKit feature, and a newer CLI refuses to build without buildx unless told so).
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0
docker build -q -t "$IMAGE" ${NODE_IMAGE:+--build-arg "NODE_IMAGE=$NODE_IMAGE"} "$REPO_ROOT" >/dev/null
kind load docker-image "$IMAGE" --name "$CLUSTER" >/dev/null
# Images present locally (built offline, or pulled before) are loaded; others the nodes pull.
if docker image inspect "$TRAEFIK_IMAGE" >/dev/null 2>&1; then
  kind load docker-image "$TRAEFIK_IMAGE" --name "$CLUSTER" >/dev/null
fi

log "Gateway API CRDs from $GATEWAY_API_CRDS"
case "$GATEWAY_API_CRDS" in
  http://* | https://*) kubectl apply --server-side -f "$GATEWAY_API_CRDS" >/dev/null ;;
  *) kubectl apply --server-side -R -f "$GATEWAY_API_CRDS" >/dev/null ;;
esac
kubectl wait --for=condition=Established crd/gateways.gateway.networking.k8s.io crd/httproutes.gateway.networking.k8s.io --timeout=60s >/dev/null

log "finding the kind network's IPv4 range"
subnet=""
for s in $(docker network inspect kind -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}'); do
  case "$s" in *.*/*) subnet="$s" ;; esac
done
[ -n "$subnet" ] || fail "the kind Docker network has no IPv4 subnet"
IFS=. read -r o1 o2 _ <<<"${subnet%/*}"
[ "${subnet#*/}" -le 16 ] || fail "expected a /16 or larger kind network, got $subnet"
# The top of the /16 (e.g. 172.18.255.200-250) is far from the addresses Docker hands out.
POOL="$o1.$o2.255.200-$o1.$o2.255.250"
echo "kind network $subnet → pool $POOL"

log "helm install charts/portico"
# The chart's defaults, plus the pool (with an L2Advertisement) and the DNS node port.
cat >"$WORK/values.yaml" <<EOF
pools:
  - name: kind
    addresses: ["$POOL"]
    l2: true
EOF
helm_args=(--namespace "$NAMESPACE" --values "$WORK/values.yaml" --set "image.repository=${IMAGE%:*}"
  --set "image.tag=${IMAGE##*:}" --set image.pullPolicy=Never --set "dns.zone.name=$ZONE"
  --set "dns.service.nodePort=$DNS_NODE_PORT")
helm install portico "$REPO_ROOT/charts/portico" --create-namespace "${helm_args[@]}" --wait --timeout 5m >/dev/null ||
  fail "helm install failed"
ok "helm install charts/portico (pool $POOL with an L2Advertisement, dns.service.nodePort=$DNS_NODE_PORT)"
rolled_out "$NAMESPACE" 180s || fail "Portico pods not Ready"
ok "all Portico pods Ready: $(kubectl -n "$NAMESPACE" get pods --no-headers | wc -l) pods"

# Effective, permitted and bounding capabilities of each speaker's process 1 (the speaker itself):
# exactly CAP_NET_RAW (bit 13 = 0x2000), as a non-root user.
for pod in $(kubectl -n "$NAMESPACE" get pods -l app.kubernetes.io/component=speaker -o name); do
  status="$(kubectl -n "$NAMESPACE" exec "$pod" -- cat /proc/1/status)"
  for f in CapEff CapPrm; do
    v="$(awk -v f="$f:" '$1==f {print $2}' <<<"$status")"
    [ "$v" = 0000000000002000 ] || fail "$pod $f=$v, want 0000000000002000 (CAP_NET_RAW only)"
  done
  uid="$(awk '$1=="Uid:" {print $2}' <<<"$status")"
  [ "$uid" != 0 ] || fail "$pod runs as root"
done
ok "speakers hold only CAP_NET_RAW (CapEff=CapPrm=0x2000) as non-root"

# ------------------------------------------------------------------------------------------------
log "backend, Traefik (Gateway API), Gateway and HTTPRoute app.$ZONE"
kubectl create namespace "$APP_NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
# One backend and one Traefik per worker, and each hop prefers its own node (Traefik sends to the
# backend Service's ClusterIP, internalTrafficPolicy Local; Traefik's Service is
# externalTrafficPolicy Local), so what a node failure costs is the VIP's move alone.
kubectl -n "$APP_NS" apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - { labelSelector: { matchLabels: { app: web } }, topologyKey: kubernetes.io/hostname }
      containers:
        - name: web
          image: $IMAGE
          imagePullPolicy: Never
          command: [node, -e]
          args:
            - |
              require('node:http').createServer((q, s) => s.end('hello from ' + process.env.NODE_NAME + '\n')).listen(8080);
          env:
            - { name: NODE_NAME, valueFrom: { fieldRef: { fieldPath: spec.nodeName } } }
          ports: [{ containerPort: 8080 }]
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2 }
          securityContext: { runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  internalTrafficPolicy: Local
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: traefik }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: portico-e2e-traefik }
rules:
  - apiGroups: [""]
    resources: [namespaces, services, secrets, configmaps]
    verbs: [get, list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [get, list, watch]
  - apiGroups: [gateway.networking.k8s.io]
    resources: [gatewayclasses, gateways, httproutes, grpcroutes, referencegrants, backendtlspolicies, tcproutes, tlsroutes]
    verbs: [get, list, watch]
  - apiGroups: [gateway.networking.k8s.io]
    resources: [gatewayclasses/status, gateways/status, httproutes/status, grpcroutes/status, backendtlspolicies/status, tcproutes/status, tlsroutes/status]
    verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: portico-e2e-traefik }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: portico-e2e-traefik }
subjects: [{ kind: ServiceAccount, name: traefik, namespace: $APP_NS }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: traefik }
spec:
  replicas: 2
  selector: { matchLabels: { app: traefik } }
  template:
    metadata: { labels: { app: traefik } }
    spec:
      serviceAccountName: traefik
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - { labelSelector: { matchLabels: { app: traefik } }, topologyKey: kubernetes.io/hostname }
      containers:
        - name: traefik
          image: $TRAEFIK_IMAGE
          imagePullPolicy: IfNotPresent
          args:
            - --entryPoints.web.address=:8000
            - --ping=true
            - --ping.entryPoint=web
            - --providers.kubernetesgateway=true
            - --providers.kubernetesgateway.nativeLBByDefault=true
            - --providers.kubernetesgateway.statusaddress.service.name=traefik
            - --providers.kubernetesgateway.statusaddress.service.namespace=$APP_NS
          ports: [{ name: web, containerPort: 8000 }]
          readinessProbe: { httpGet: { path: /ping, port: 8000 }, periodSeconds: 2 }
          securityContext: { runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false }
---
apiVersion: v1
kind: Service
metadata: { name: traefik }
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: { app: traefik }
  ports: [{ name: web, port: 80, targetPort: 8000 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: traefik }
spec:
  controllerName: traefik.io/gateway-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: web }
spec:
  gatewayClassName: traefik
  listeners:
    - { name: web, protocol: HTTP, port: 8000, hostname: "*.$ZONE" }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: app }
spec:
  parentRefs: [{ name: web }]
  hostnames: [app.$ZONE]
  rules:
    - backendRefs: [{ name: web, port: 80 }]
EOF
kubectl -n "$APP_NS" rollout status deployment/web --timeout=180s >/dev/null || fail "backend not ready"
kubectl -n "$APP_NS" rollout status deployment/traefik --timeout=180s >/dev/null || fail "Traefik not ready"

wait_for_ip() { # namespace name → the Service's first ingress IP
  local ip=""
  for _ in $(seq 1 60); do
    ip="$(kubectl -n "$1" get service "$2" -o jsonpath='{.status.loadBalancer.ingress[0].ip}' 2>/dev/null || true)"
    [ -n "$ip" ] && { echo "$ip"; return 0; }
    sleep 2
  done
  return 1
}
in_pool() { case "$1" in "$o1.$o2.255."*) return 0 ;; *) return 1 ;; esac; }
VIP="$(wait_for_ip "$APP_NS" traefik)" || fail "the Gateway's Service (traefik) got no VIP"
in_pool "$VIP" || fail "VIP $VIP is not from the pool $POOL"
gw_addr=""
for _ in $(seq 1 60); do
  gw_addr="$(kubectl -n "$APP_NS" get gateway web -o jsonpath='{.status.addresses[0].value}' 2>/dev/null || true)"
  [ "$gw_addr" = "$VIP" ] && break
  sleep 2
done
[ "$gw_addr" = "$VIP" ] || fail "Gateway web reports address '$gw_addr', want the VIP $VIP"
kubectl -n "$APP_NS" wait gateway/web --for=condition=Programmed --timeout=60s >/dev/null || fail "Gateway web not Programmed"
ok "the Gateway's Service got VIP $VIP from the pool; Gateway web is Programmed with that address"

DNS_VIP="$(wait_for_ip "$NAMESPACE" portico-dns)" || fail "the DNS Service got no VIP"
in_pool "$DNS_VIP" || fail "DNS VIP $DNS_VIP is not from the pool"

# ------------------------------------------------------------------------------------------------
log "client container on the kind network (not a node), resolver → Portico DNS $DNS_VIP"
docker rm -f "$CLIENT" >/dev/null 2>&1 || true
# --dns makes the container's resolver (Docker's embedded one) forward to the Portico DNS VIP,
# like /etc/resolver/<zone> does on a Mac. NET_ADMIN only to read and flush its neighbour table.
docker run -d --name "$CLIENT" --network kind --dns "$DNS_VIP" --cap-add NET_ADMIN \
  --entrypoint sleep "$CLIENT_IMAGE" infinity >/dev/null
client() { docker exec "$CLIENT" "$@"; }

dig_a() { # server port name → the A answer
  client dig +short +time=2 +tries=2 -p "$2" "@$1" "$3" A 2>/dev/null | head -1
}
answer=""
for _ in $(seq 1 30); do
  answer="$(dig_a "$DNS_VIP" 53 "app.$ZONE" || true)"
  [ "$answer" = "$VIP" ] && break
  sleep 2
done
[ "$answer" = "$VIP" ] || fail "dig @$DNS_VIP app.$ZONE → '$answer', want $VIP"
flags="$(client dig +noall +comments "@$DNS_VIP" "app.$ZONE" A | grep -o 'flags:[^;]*' | head -1)"
case "$flags" in *" aa"*) ;; *) fail "the answer is not authoritative ($flags)" ;; esac
case "$flags" in *" ra"*) fail "the DNS server offers recursion ($flags)" ;; esac
ok "dig @$DNS_VIP app.$ZONE → $VIP (authoritative, no recursion)"
refused="$(client dig +noall +comments "@$DNS_VIP" example.com A | grep -o 'status: [A-Z]*' || true)"
[ "$refused" = "status: REFUSED" ] || fail "a name outside the zone got '$refused', want REFUSED"
ok "dig @$DNS_VIP example.com → REFUSED (not an open resolver)"
for node in $(kubectl get nodes -o name); do
  node_ip="$(kubectl get "$node" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')"
  for proto in +notcp +tcp; do
    a="$(client dig +short +time=2 +tries=2 "$proto" -p "$DNS_NODE_PORT" "@$node_ip" "app.$ZONE" A | head -1)"
    [ "$a" = "$VIP" ] || fail "dig $proto @$node_ip -p $DNS_NODE_PORT app.$ZONE → '$a', want $VIP"
  done
  ok "dig @$node_ip -p $DNS_NODE_PORT app.$ZONE → $VIP over UDP and TCP (${node#node/})"
done

owner_of() { # namespace service → the node the Announced condition names (True only)
  kubectl -n "$1" get service "$2" \
    -o jsonpath='{.status.conditions[?(@.type=="portico.dev/Announced")].status} {.status.conditions[?(@.type=="portico.dev/Announced")].message}' 2>/dev/null |
    sed -n 's/^True .*: node \([^ ]*\) interface.*/\1/p'
}
wait_owner() {
  local o=""
  for _ in $(seq 1 60); do
    o="$(owner_of "$1" "$2")"
    [ -n "$o" ] && { echo "$o"; return 0; }
    sleep 1
  done
  return 1
}
node_mac() { docker inspect -f '{{(index .NetworkSettings.Networks "kind").MacAddress}}' "$1"; }
neigh_mac() { client ip neigh show "$1" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}' | head -1; }

reply="$(client curl -fsS --max-time 5 "http://app.$ZONE/")" || fail "curl http://app.$ZONE/ failed"
case "$reply" in "hello from "*) ;; *) fail "unexpected reply '$reply'" ;; esac
ok "curl http://app.$ZONE/ (resolved by Portico DNS) → '$reply'"

check_neighbour() { # ip namespace service → the owner, after checking the client's ARP entry
  local ip="$1" owner mac want
  owner="$(wait_owner "$2" "$3")" || fail "$2/$3 has no Announced=True condition"
  mac="$(neigh_mac "$ip")"
  want="$(node_mac "$owner")"
  if [ -z "$mac" ] || [ "$mac" != "$want" ]; then fail "neighbour entry of $ip is '$mac', want $want (node $owner)"; fi
  echo "$owner"
}
OWNER="$(check_neighbour "$VIP" "$APP_NS" traefik)"
ok "the client's neighbour table maps $VIP to $(node_mac "$OWNER"), the MAC of $OWNER, which the Announced condition names"

# ------------------------------------------------------------------------------------------------
log "externalTrafficPolicy: Local Service, one endpoint"
kubectl -n "$APP_NS" apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: { name: solo }
spec:
  replicas: 1
  selector: { matchLabels: { app: solo } }
  template:
    metadata: { labels: { app: solo } }
    spec:
      containers:
        - name: solo
          image: $IMAGE
          imagePullPolicy: Never
          command: [node, -e]
          args: ["require('node:http').createServer((q, s) => s.end('solo')).listen(8080)"]
          ports: [{ containerPort: 8080 }]
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2 }
          securityContext: { runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false }
---
apiVersion: v1
kind: Service
metadata: { name: solo }
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: { app: solo }
  ports: [{ port: 80, targetPort: 8080 }]
EOF
kubectl -n "$APP_NS" rollout status deployment/solo --timeout=120s >/dev/null || fail "solo not ready"
SOLO_VIP="$(wait_for_ip "$APP_NS" solo)" || fail "solo got no VIP"
solo_node="$(kubectl -n "$APP_NS" get pods -l app=solo -o jsonpath='{.items[0].spec.nodeName}')"
solo_owner=""
for _ in $(seq 1 30); do
  solo_owner="$(owner_of "$APP_NS" solo)"
  [ "$solo_owner" = "$solo_node" ] && break
  sleep 1
done
[ "$solo_owner" = "$solo_node" ] || fail "solo ($SOLO_VIP) announced by '$solo_owner', its endpoint runs on $solo_node"
# kube-proxy programs a new Service's node-local rules within a sync period or so: retry a while.
solo_ok=0
for _ in $(seq 1 30); do
  if client curl -fsS --max-time 2 "http://$SOLO_VIP/" >/dev/null 2>&1; then
    solo_ok=1
    break
  fi
  sleep 1
done
[ "$solo_ok" = 1 ] || fail "curl http://$SOLO_VIP/ failed for 30 s"
[ "$(neigh_mac "$SOLO_VIP")" = "$(node_mac "$solo_node")" ] || fail "the client's neighbour entry for $SOLO_VIP is not $solo_node's MAC"
ok "externalTrafficPolicy: Local VIP $SOLO_VIP is announced by $solo_node, the node running its endpoint"

# ------------------------------------------------------------------------------------------------
log "portico status / why (the README's step after helm install), on kind's current context"
portico() { node "$REPO_ROOT/cli/main.ts" "$@"; }
nodes="$(kubectl get nodes --no-headers | wc -l)"
# shellcheck disable=SC2016 # ${...} below are JavaScript template literals, not shell expansions
portico status -o json | node -e '
  const r = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
  const [vip, owner, svc, zone, nodes] = process.argv.slice(1);
  const row = r.vips.find((v) => v.ip === vip);
  const z = r.zones.find((x) => x.zone === zone);
  const bad = [];
  if (!row || row.announced !== "True" || row.node !== owner || !row.services.includes(svc)) bad.push(`VIP row ${JSON.stringify(row)}`);
  if (!z || z.ready !== "True" || !(z.records > 0) || !(z.serial > 0)) bad.push(`zone row ${JSON.stringify(z)}`);
  if (r.speakers.filter((s) => s.live).length !== Number(nodes)) bad.push(`speakers ${JSON.stringify(r.speakers)}`);
  if (bad.length) { console.error(bad.join("\n")); process.exit(1); }
' "$VIP" "$OWNER" "$APP_NS/traefik" "$ZONE" "$nodes" ||
  fail "portico status does not show $VIP announced by $OWNER, zone $ZONE served, $nodes live speakers"
portico why "$APP_NS/traefik" | grep -q '^Verdict: OK' || fail "portico why $APP_NS/traefik is not OK"
ok "portico status: $VIP ($APP_NS/traefik) announced by $OWNER, zone $ZONE served, $nodes live speakers; portico why: OK"

# ------------------------------------------------------------------------------------------------
# A client loop: one request every 50 ms to app.$ZONE at the VIP resolved above (a client that
# cached the answer within its TTL), printing "<start ms> ok|fail" per request. It stops after
# $1 seconds, or once requests have succeeded for 2 s in a row after a failure.
probe_loop() {
  # shellcheck disable=SC2016 # expanded by the client's bash, with its arguments
  client bash -c '
    ms() { local u=${EPOCHREALTIME/./}; echo $((u / 1000)); }  # bash 5; busybox date has no %N
    end=$(( $(ms) + $1 * 1000 )); failed=0; streak=0
    while [ "$(ms)" -lt "$end" ]; do
      t=$(ms)
      if curl -fs -o /dev/null --connect-timeout 0.3 --max-time 0.6 --resolve "$2:80:$3" "http://$2/"; then
        echo "$t ok"; streak=$((streak + 1))
        [ "$failed" = 1 ] && [ "$streak" -ge 40 ] && break
      else
        echo "$t fail"; failed=1; streak=0
      fi
      sleep 0.05
    done' _ "$1" "app.$ZONE" "$VIP"
}
# Client-visible outage from a probe log: from the last success before the first failure to the
# first success after the last failure (0 when nothing failed). Fails when the log does not end
# in success.
outage_ms() {
  awk '
    $2 == "ok" { if (bad && first_ok_after == "") first_ok_after = $1; if (!bad) last_ok = $1; if (bad) { recovered = 1 } last = "ok" }
    $2 == "fail" { if (!bad) { bad = 1; before = last_ok } ; first_ok_after = ""; recovered = 0; last = "fail" }
    END {
      if (last != "ok") { print "never-recovered"; exit }
      if (!bad) { print 0; exit }
      print first_ok_after - before
    }' "$1"
}
wait_settled() { # every node Ready, every Portico/app pod Ready, the VIP announced and serving
  kubectl wait --for=condition=Ready nodes --all --timeout=240s >/dev/null || fail "nodes not Ready again"
  rolled_out "$NAMESPACE" 240s || fail "Portico pods not Ready again"
  rolled_out "$APP_NS" 240s || fail "app pods not Ready again"
  for _ in $(seq 1 60); do
    if client curl -fs -o /dev/null --max-time 1 --resolve "app.$ZONE:80:$VIP" "http://app.$ZONE/" &&
      [ -n "$(owner_of "$APP_NS" traefik)" ]; then
      return 0
    fi
    sleep 1
  done
  fail "app.$ZONE does not answer on $VIP after recovery"
}

# After `docker start` of a killed node its pods still look Ready in the API (the node controller
# notices a dead node only after 40 s): wait until every Portico and app pod there runs a container
# started after the kill, and is Ready.
wait_restarted() { # node since(RFC 3339, UTC)
  local stale=""
  for _ in $(seq 1 120); do
    stale="$(kubectl get pods -A --field-selector "spec.nodeName=$1" \
      -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.status.containerStatuses[0].state.running.startedAt} {.status.containerStatuses[0].ready}{"\n"}{end}' |
      awk -v since="$2" -v ns="^($NAMESPACE|$APP_NS)/" '$1 ~ ns && ($2 == "" || $2 < since || $3 != "true")')"
    [ -z "$stale" ] && return 0
    sleep 2
  done
  fail "pods on $1 did not come back after its restart: $stale"
}
# After a speaker pod is deleted: its replacement on the same node is Ready.
wait_speaker_replaced() { # node old-pod-name
  local pods=""
  for _ in $(seq 1 90); do
    pods="$(kubectl -n "$NAMESPACE" get pods -l app.kubernetes.io/component=speaker --field-selector "spec.nodeName=$1" \
      -o jsonpath='{range .items[*]}{.metadata.name} {.status.containerStatuses[0].ready}{"\n"}{end}')"
    if ! grep -q "^$2 " <<<"$pods" && grep -q " true$" <<<"$pods"; then return 0; fi
    sleep 1
  done
  fail "the speaker on $1 was not replaced: $pods"
}

# The owner right before a trial: the node the Announced condition names AND whose MAC the client
# resolves the VIP to after flushing its neighbour entry (the condition alone can lag a handover,
# and killing a node that no longer owns the VIP would measure nothing).
confirm_owner() {
  local o="" mac=""
  for _ in $(seq 1 30); do
    o="$(owner_of "$APP_NS" traefik)"
    client ip neigh flush to "$VIP" >/dev/null 2>&1 || true
    client curl -fs -o /dev/null --max-time 1 --resolve "app.$ZONE:80:$VIP" "http://app.$ZONE/" || true
    mac="$(neigh_mac "$VIP")"
    if [ -n "$o" ] && [ "$mac" = "$(node_mac "$o")" ]; then
      echo "$o"
      return 0
    fi
    sleep 1
  done
  fail "the Announced condition names '$o' but the client resolves $VIP to $mac"
}

KILL_OUTAGES=()
GRACEFUL_OUTAGES=()
log "failover: docker kill of the owner node, $FAILOVER_TRIALS trials"
for trial in $(seq 1 "$FAILOVER_TRIALS"); do
  wait_settled
  owner="$(confirm_owner)"
  probe_loop 25 >"$WORK/kill-$trial.log" &
  loop=$!
  sleep 1
  killed_at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  docker kill "$owner" >/dev/null
  wait "$loop" || true
  out="$(outage_ms "$WORK/kill-$trial.log")"
  [ "$out" != never-recovered ] || fail "trial $trial: requests to $VIP did not recover within 25 s after killing $owner"
  new_owner="$(wait_owner "$APP_NS" traefik)" || true
  KILL_OUTAGES+=("$out")
  ok "kill trial $trial: killed $owner; client-visible outage ${out} ms; VIP now on ${new_owner:-?}"
  docker start "$owner" >/dev/null
  wait_restarted "$owner" "$killed_at"
done

log "graceful handover: speaker pod on the owner deleted, $GRACEFUL_TRIALS trials"
for trial in $(seq 1 "$GRACEFUL_TRIALS"); do
  wait_settled
  owner="$(confirm_owner)"
  pod="$(kubectl -n "$NAMESPACE" get pods -l app.kubernetes.io/component=speaker --field-selector "spec.nodeName=$owner" -o name)"
  probe_loop 8 >"$WORK/graceful-$trial.log" &
  loop=$!
  sleep 1
  kubectl -n "$NAMESPACE" delete "$pod" --wait=false >/dev/null
  wait "$loop" || true
  out="$(outage_ms "$WORK/graceful-$trial.log")"
  [ "$out" != never-recovered ] || fail "graceful trial $trial: requests did not recover"
  GRACEFUL_OUTAGES+=("$out")
  ok "graceful trial $trial: deleted ${pod#pod/} on $owner; client-visible outage ${out} ms"
  wait_speaker_replaced "$owner" "${pod#pod/}"
done
wait_settled

stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {printf "p50 %d max %d", a[int((NR + 1) / 2)], a[NR]}'; }
echo "FAILOVER kill:     $(stats "${KILL_OUTAGES[@]}") ms over ${#KILL_OUTAGES[@]} trials (${KILL_OUTAGES[*]})"
echo "FAILOVER graceful: $(stats "${GRACEFUL_OUTAGES[@]}") ms over ${#GRACEFUL_OUTAGES[@]} trials (${GRACEFUL_OUTAGES[*]})"
if [ -n "$RESULTS_JSON" ]; then
  join() { local IFS=,; echo "$*"; }
  printf '{"kill_outages_ms":[%s],"graceful_outages_ms":[%s]}\n' "$(join "${KILL_OUTAGES[@]}")" "$(join "${GRACEFUL_OUTAGES[@]}")" >"$RESULTS_JSON"
fi

# ------------------------------------------------------------------------------------------------
all_ips() { kubectl get services -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}={.status.loadBalancer.ingress[*].ip}{"\n"}{end}' | grep -v '=$' | sort; }
BEFORE="$(all_ips)"
echo "$BEFORE"

log "controller restart"
kubectl -n "$NAMESPACE" delete pods -l app.kubernetes.io/component=controller --wait=true >/dev/null
kubectl -n "$NAMESPACE" rollout status deployment/portico-controller --timeout=120s >/dev/null
kubectl -n "$NAMESPACE" wait --for=condition=Ready pods -l app.kubernetes.io/component=controller --timeout=120s >/dev/null
sleep 5
[ "$(all_ips)" = "$BEFORE" ] || fail "IPs changed across a controller restart: $(diff <(echo "$BEFORE") <(all_ips) || true)"
ok "controller pods deleted and back: no Service IP moved"

log "helm upgrade with a changed value"
key_before="$(kubectl -n "$NAMESPACE" get secret -l app.kubernetes.io/component=speaker -o jsonpath='{.items[0].data.key}')"
helm upgrade portico "$REPO_ROOT/charts/portico" "${helm_args[@]}" --set logLevel=debug --wait --timeout 5m >/dev/null ||
  fail "helm upgrade failed"
rolled_out "$NAMESPACE" 180s || fail "Portico not rolled out after helm upgrade"
sleep 5
[ "$(all_ips)" = "$BEFORE" ] || fail "IPs changed across helm upgrade: $(diff <(echo "$BEFORE") <(all_ips) || true)"
key_after="$(kubectl -n "$NAMESPACE" get secret -l app.kubernetes.io/component=speaker -o jsonpath='{.items[0].data.key}')"
if [ -z "$key_before" ] || [ "$key_before" != "$key_after" ]; then fail "helm upgrade changed the speaker key"; fi
client curl -fsS --max-time 5 "http://app.$ZONE/" >/dev/null || fail "app.$ZONE unreachable after helm upgrade"
ok "helm upgrade --set logLevel=debug: no Service IP moved, the speaker key kept, app.$ZONE still served"

log "helm uninstall"
helm uninstall portico --namespace "$NAMESPACE" --wait --timeout 3m >/dev/null || fail "helm uninstall failed"
kubectl -n "$NAMESPACE" wait --for=delete pods --all --timeout=120s >/dev/null || fail "Portico pods still there after uninstall"
# What stays, as the README says: the key Secret, the CRDs and the Leases (the released leader
# Lease, and each speaker's Lease, owned by its Node).
left="$(kubectl get all,serviceaccounts,roles,rolebindings,configmaps,secrets,leases -n "$NAMESPACE" -o name 2>/dev/null |
  grep -v -e '^serviceaccount/default$' -e '^configmap/kube-root-ca.crt$' -e '^secret/portico-speaker-key$' \
    -e '^lease.coordination.k8s.io/portico-controller$' -e '^lease.coordination.k8s.io/portico-speaker-' || true)"
left+="$(kubectl get clusterroles,clusterrolebindings -o name | grep -E '/portico-(controller|speaker|dns)' || true)"
left+="$(kubectl get dnszones,ipaddresspools,l2advertisements -o name 2>/dev/null || true)"
[ -z "$left" ] || fail "left after helm uninstall: $left"
kubectl -n "$NAMESPACE" get secret portico-speaker-key >/dev/null || fail "the speaker key Secret should stay (README)"
kubectl get crd ipaddresspools.portico.dev >/dev/null || fail "the CRDs should stay (README)"
ok "helm uninstall left only the CRDs, the speaker key Secret and the Leases (as the README says)"

log "PASS ($((SECONDS - T0)) s)"
