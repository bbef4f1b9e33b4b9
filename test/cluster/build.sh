#!/usr/bin/env bash
# Builds, offline, every image the kind end-to-end test needs, where no container registry is
# reachable: a debootstrapped Debian base, kind's node base image, a kind node image for the
# Kubernetes version the envtest pins (kubelet, kubeadm, kubectl and the control-plane, kube-proxy,
# etcd, CoreDNS, pause and pod-network images preloaded under the tags kubeadm expects), a Node.js
# image for the repository's Dockerfile, Traefik (the Gateway API implementation) and a client.
# Everything comes from Go modules, Debian packages and npm packages; see
# docs/decisions/080-kind-e2e-offline.md.
#
# Usage: test/cluster/build.sh            builds what is missing, then prints the env file's path
# The env file (KEY=VALUE lines) holds the overrides test/e2e/kind/run.sh takes: KIND_NODE_IMAGE,
# NODE_IMAGE, TRAEFIK_IMAGE, CLIENT_IMAGE, GATEWAY_API_CRDS, and PATH additions for kind/kubectl.
#
# Cached by a hash of test/cluster/ and the etcd pin: binaries under
# ${PORTICO_CACHE:-~/.cache/portico}/cluster/<key>/, images by tags carrying the key. Safe to
# re-run: each part is skipped when present and rebuilt when its inputs change.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck disable=SC1091 # pins.env: KEY=VALUE pins, read from beside this script
. "$HERE/pins.env"
ETCD_MODULE="$REPO_ROOT/test/envtest/controlplane/etcd"

CACHE="${PORTICO_CACHE:-$HOME/.cache/portico}/cluster"
hash_of() { (cd "$REPO_ROOT" && { find "$@" -type f ! -name '*.md' | LC_ALL=C sort | xargs sha256sum; go version; } | sha256sum | cut -c1-12); }
# Two keys: the binaries change only with the Go pins; the images with the builder, pins, Go
# modules or image files too (not with docker.sh or the runc wrapper, which build nothing).
BIN_KEY="$(hash_of test/cluster/go test/cluster/pins.env test/envtest/controlplane/etcd)"
KEY="$(hash_of test/cluster/build.sh test/cluster/pins.env test/cluster/go test/cluster/images test/envtest/controlplane/etcd test/envtest/controlplane/gateway-api)"
OUT="$CACHE/$KEY"
BIN="$CACHE/bin-$BIN_KEY"
mkdir -p "$OUT" "$BIN"
# The directory of a module version in the module cache (downloaded, go.sum-verified by GOSUMDB).
module_dir() { (cd "$CACHE" && go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)",/\1/p'); }
T0=$SECONDS

log() { printf '[cluster build %4ss] %s\n' "$((SECONDS - T0))" "$*" >&2; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
# Builds a Go part once: $1 = marker file that proves it is done, rest = the command.
once() {
  local marker="$1"
  shift
  if [ -e "$marker" ]; then return 0; fi
  local t=$SECONDS
  "$@"
  log "built $(basename "$marker") in $((SECONDS - t)) s"
}

command -v docker >/dev/null || { echo "docker is required" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "the Docker daemon is not running (test/cluster/docker.sh start)" >&2; exit 1; }
command -v go >/dev/null || { echo "go is required" >&2; exit 1; }
command -v node >/dev/null || { echo "node is required (its binary goes into the Node image)" >&2; exit 1; }

NODE_TAG="portico-build/kind-node:$KUBERNETES_VERSION-$KEY"
BASE_TAG="portico-build/debian:$DEBIAN_SUITE-$KEY"
KIND_BASE_TAG="portico-build/kind-base:$KEY"
NODEJS_TAG="portico-build/node:$(node -p 'process.versions.node')-$KEY"
TRAEFIK_TAG="portico-build/traefik:$TRAEFIK_VERSION-$KEY"
CLIENT_TAG="portico-build/client:$KEY"
PODNET_TAG="portico-build/podnet:1"
K8S_IMAGES=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy)

# ---------------------------------------------------------------- Go binaries
k8s_ldflags() {
  local minor="${KUBERNETES_VERSION#v1.}"
  minor="${minor%%.*}"
  local f="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  echo "$f"
}
build_kubernetes() {
  (cd "$HERE/go/kubernetes" && CGO_ENABLED=0 go build -trimpath -ldflags "$(k8s_ldflags)" -o "$BIN/" \
    k8s.io/kubernetes/cmd/kubeadm k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kubectl \
    k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler)
}
build_etcd() {
  (cd "$ETCD_MODULE" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
}
build_containerd() {
  (cd "$HERE/go/containerd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
    -tags "no_aufs no_zfs no_btrfs no_devmapper" -o "$BIN/" \
    github.com/containerd/containerd/v2/cmd/containerd github.com/containerd/containerd/v2/cmd/ctr \
    github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2)
}
# runc needs cgo (nsenter) and libseccomp; the node image has the same Debian libseccomp2.
build_runc() {
  (cd "$HERE/go/runc" && CGO_ENABLED=1 go build -trimpath -tags "seccomp urfave_cli_no_docs" \
    -ldflags "-s -w -X main.version=$(go list -m -f '{{.Version}}' github.com/opencontainers/runc | sed 's/^v//')" \
    -o "$BIN/runc" github.com/opencontainers/runc)
}
build_crictl() {
  (cd "$HERE/go/crictl" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/crictl" sigs.k8s.io/cri-tools/cmd/crictl)
}
build_cni() {
  mkdir -p "$BIN/cni"
  (cd "$HERE/go/cni-plugins" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/cni/" \
    github.com/containernetworking/plugins/plugins/main/ptp github.com/containernetworking/plugins/plugins/ipam/host-local \
    github.com/containernetworking/plugins/plugins/main/loopback github.com/containernetworking/plugins/plugins/meta/portmap)
}
build_coredns() {
  (cd "$HERE/go/coredns" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/coredns" .)
}
build_kind() {
  (cd "$HERE/go/kind" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/kind" sigs.k8s.io/kind)
}
# Traefik's go.mod has replace directives, so it only builds as the main module: build it in a
# writable copy of its (go.sum-verified) module source, like `go build` in a clone would.
build_traefik() {
  local dir src
  dir="$(module_dir "github.com/traefik/traefik/v3@$TRAEFIK_VERSION")"
  [ -d "$dir" ] || { echo "go mod download github.com/traefik/traefik/v3@$TRAEFIK_VERSION failed" >&2; return 1; }
  src="$(mktemp -d)"
  cp -r "$dir/." "$src/" && chmod -R u+w "$src"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
    -o "$BIN/traefik" ./cmd/traefik)
  rm -rf "$src"
}
# pause: Kubernetes' own pause.c from the pinned k8s.io/kubernetes module, static.
build_pause() {
  local dir
  dir="$(module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")"
  gcc -Os -static -Wall -Werror -DVERSION="v$PAUSE_IMAGE_TAG-portico" -o "$BIN/pause" "$dir/build/pause/linux/pause.c"
  strip "$BIN/pause"
}

log "cache keys: binaries $BIN_KEY ($BIN), images $KEY"
once "$BIN/kubelet" build_kubernetes
once "$BIN/etcd" build_etcd
once "$BIN/containerd" build_containerd
once "$BIN/runc" build_runc
once "$BIN/crictl" build_crictl
once "$BIN/cni/portmap" build_cni
once "$BIN/coredns" build_coredns
once "$BIN/kind" build_kind
once "$BIN/traefik" build_traefik
once "$BIN/pause" build_pause

# ---------------------------------------------------------------- images
ctx() { mktemp -d "$OUT/ctx.XXXXXX"; }
dbuild() { # dbuild TAG CONTEXT [docker build args...]
  local tag="$1" dir="$2"
  shift 2
  local t=$SECONDS
  DOCKER_BUILDKIT=0 docker build -q --label "portico.dev/cluster-key=$KEY" -t "$tag" "$@" "$dir" >/dev/null
  rm -rf "$dir"
  log "image $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}')) in $((SECONDS - t)) s"
}
# A static binary alone in an image: the control-plane, etcd, CoreDNS and pause images.
scratch_image() { # scratch_image TAG BINARY ENTRYPOINT [USER]
  local tag="$1" binary="$2" entry="$3" user="${4:-}" dir
  dir="$(ctx)"
  cp "$BIN/$binary" "$dir/"
  {
    echo "FROM scratch"
    echo "COPY $binary $entry"
    echo "ENV PATH=/usr/local/bin:/usr/bin:/bin"
    [ -n "$user" ] && echo "USER $user"
    echo "ENTRYPOINT [\"$entry\"]"
  } >"$dir/Dockerfile"
  dbuild "$tag" "$dir"
}

if ! have_image "$BASE_TAG"; then
  t=$SECONDS
  root="$(mktemp -d "$OUT/rootfs.XXXXXX")"
  mirror="$(sed -n 's/^URIs: \(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" "${mirror:-http://deb.debian.org/debian}" >"$OUT/debootstrap.log" 2>&1 ||
    { tail -20 "$OUT/debootstrap.log" >&2; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import -c 'CMD ["/bin/bash"]' - "$BASE_TAG" >/dev/null
  rm -rf "$root"
  log "image $BASE_TAG (debootstrap $DEBIAN_SUITE) in $((SECONDS - t)) s"
fi

if ! have_image "$KIND_BASE_TAG"; then
  dir="$(ctx)"
  kind_dir="$(module_dir "sigs.k8s.io/kind@$(cd "$HERE/go/kind" && go list -m -f '{{.Version}}' sigs.k8s.io/kind)")"
  cp -r "$kind_dir/images/base/files" "$dir/files" && chmod -R u+w "$dir/files"
  mkdir -p "$dir/bin" "$dir/cni"
  cp "$BIN/containerd" "$BIN/ctr" "$BIN/containerd-shim-runc-v2" "$BIN/crictl" "$dir/bin/"
  cp "$BIN/runc" "$dir/runc"
  cp "$HERE/images/kind-base/files/containerd-oom-policy" "$HERE/images/kind-base/files/10-oom-policy.conf" "$dir/files/"
  cp "$BIN"/cni/* "$dir/cni/"
  cp "$HERE/images/kind-base/Dockerfile" "$dir/"
  dbuild "$KIND_BASE_TAG" "$dir" --build-arg "BASE=$BASE_TAG" --build-arg "PAUSE_TAG=$PAUSE_IMAGE_TAG"
fi

for c in "${K8S_IMAGES[@]}"; do
  tag="registry.k8s.io/$c:$KUBERNETES_VERSION"
  if [ "$(docker image inspect -f '{{index .Config.Labels "portico.dev/cluster-key"}}' "$tag" 2>/dev/null)" = "$KEY" ]; then continue; fi
  if [ "$c" = kube-proxy ]; then
    dir="$(ctx)"
    cp "$BIN/kube-proxy" "$HERE/images/kube-proxy/Dockerfile" "$dir/"
    dbuild "$tag" "$dir" --build-arg "BASE=$BASE_TAG"
  else
    scratch_image "$tag" "$c" "/usr/local/bin/$c"
  fi
done
keyed() { [ "$(docker image inspect -f '{{index .Config.Labels "portico.dev/cluster-key"}}' "$1" 2>/dev/null)" = "$KEY" ]; }
keyed "registry.k8s.io/etcd:$ETCD_IMAGE_TAG" || scratch_image "registry.k8s.io/etcd:$ETCD_IMAGE_TAG" etcd /usr/local/bin/etcd
keyed "registry.k8s.io/coredns/coredns:$COREDNS_IMAGE_TAG" || scratch_image "registry.k8s.io/coredns/coredns:$COREDNS_IMAGE_TAG" coredns /coredns
keyed "registry.k8s.io/pause:$PAUSE_IMAGE_TAG" || scratch_image "registry.k8s.io/pause:$PAUSE_IMAGE_TAG" pause /pause 65535:65535
if ! keyed "$PODNET_TAG"; then
  dir="$(ctx)"
  cp "$BIN/kubectl" "$HERE/images/podnet/podnet.sh" "$HERE/images/podnet/Dockerfile" "$dir/"
  dbuild "$PODNET_TAG" "$dir" --build-arg "BASE=$BASE_TAG"
fi

# The node image, the way `kind build node-image` makes one (run the base image, copy the
# binaries in, import the images into containerd, commit), minus its registry pulls.
if ! have_image "$NODE_TAG"; then
  t=$SECONDS
  images=("${K8S_IMAGES[@]/#/registry.k8s.io/}")
  images=("${images[@]/%/:$KUBERNETES_VERSION}")
  images+=("registry.k8s.io/etcd:$ETCD_IMAGE_TAG" "registry.k8s.io/coredns/coredns:$COREDNS_IMAGE_TAG"
    "registry.k8s.io/pause:$PAUSE_IMAGE_TAG" "$PODNET_TAG")
  cid="$(docker run -d --privileged --entrypoint=sleep "$KIND_BASE_TAG" infinity)"
  trap 'docker rm -f -v "$cid" >/dev/null 2>&1 || true' EXIT
  for b in kubeadm kubelet kubectl; do docker cp "$BIN/$b" "$cid:/usr/bin/$b"; done
  docker exec "$cid" sh -c "echo $KUBERNETES_VERSION > /kind/version && mkdir -p /kind/manifests"
  docker cp "$HERE/images/podnet/default-cni.yaml" "$cid:/kind/manifests/default-cni.yaml"
  docker exec "$cid" sh -c 'nohup containerd >/var/log/containerd-build.log 2>&1 &'
  for _ in $(seq 1 50); do docker exec "$cid" ctr version >/dev/null 2>&1 && break; sleep 0.2; done
  docker save "${images[@]}" | docker exec -i "$cid" ctr --namespace=k8s.io images import \
    --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - >/dev/null
  # kubeadm must find every image it would pull: fail the build here, not in kubeadm init.
  want="$(docker exec "$cid" kubeadm config images list --kubernetes-version "$KUBERNETES_VERSION" 2>/dev/null)"
  have="$(docker exec "$cid" ctr --namespace=k8s.io images list -q)"
  for img in $want; do
    grep -qx "$img" <<<"$have" || { echo "node image lacks $img (kubeadm wants it)" >&2; exit 1; }
  done
  # Stop containerd cleanly before the commit (PID 1 here is sleep, which reaps nothing: an
  # exited containerd stays a zombie, so wait for no *live* containerd).
  docker exec "$cid" sh -c 'pkill -x containerd
    for i in $(seq 1 100); do ps -C containerd -o stat= | grep -q "^[^Z]" || exit 0; sleep 0.2; done; exit 1' ||
    { echo "containerd in the build container did not stop" >&2; exit 1; }
  docker exec "$cid" rm -f /var/log/containerd-build.log
  docker commit --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
    --change "LABEL portico.dev/cluster-key=$KEY" "$cid" "$NODE_TAG" >/dev/null
  docker rm -f -v "$cid" >/dev/null
  trap - EXIT
  log "image $NODE_TAG ($(docker image inspect -f '{{.Size}}' "$NODE_TAG" | awk '{printf "%.0f MB", $1/1e6}')) in $((SECONDS - t)) s"
fi

if ! have_image "$NODEJS_TAG"; then
  dir="$(ctx)"
  node_root="$(cd "$(dirname "$(command -v node)")/.." && pwd)"
  [ -f "$node_root/include/node/node_api.h" ] || { echo "no Node headers beside $(command -v node)" >&2; exit 1; }
  mkdir -p "$dir/node/bin" "$dir/npm"
  cp "$(command -v node)" "$dir/node/bin/node"
  cp -r "$node_root/include" "$dir/node/include"
  (cd "$dir" && npm pack --silent "npm@$NPM_VERSION" >/dev/null && tar -xzf npm-*.tgz -C npm --strip-components=1 && rm npm-*.tgz)
  cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$dir/ca-certificates.crt"
  cp "$HERE/images/node/Dockerfile" "$dir/"
  dbuild "$NODEJS_TAG" "$dir" --build-arg "BASE=$BASE_TAG"
fi
if ! have_image "$TRAEFIK_TAG"; then
  scratch_image "$TRAEFIK_TAG" traefik /traefik 65532:65532
fi
if ! have_image "$CLIENT_TAG"; then
  dir="$(ctx)"
  cp "$HERE/images/client/Dockerfile" "$dir/"
  dbuild "$CLIENT_TAG" "$dir" --build-arg "BASE=$BASE_TAG"
fi

# Gateway API CRDs: the standard channel of the version the envtest pins (one file per CRD).
GW_DIR="$OUT/gateway-api"
if [ ! -d "$GW_DIR" ]; then
  gw="$(module_dir "sigs.k8s.io/gateway-api@$(cd "$REPO_ROOT/test/envtest/controlplane/gateway-api" && go list -m -f '{{.Version}}' sigs.k8s.io/gateway-api)")"
  mkdir -p "$GW_DIR.tmp" && cp "$gw"/config/crd/standard/*.yaml "$GW_DIR.tmp/" && mv "$GW_DIR.tmp" "$GW_DIR"
fi

cat >"$OUT/env" <<EOF
KIND_NODE_IMAGE=$NODE_TAG
NODE_IMAGE=$NODEJS_TAG
TRAEFIK_IMAGE=$TRAEFIK_TAG
CLIENT_IMAGE=$CLIENT_TAG
GATEWAY_API_CRDS=$GW_DIR
CLUSTER_BIN=$BIN
EOF
log "done"
echo "$OUT/env"
