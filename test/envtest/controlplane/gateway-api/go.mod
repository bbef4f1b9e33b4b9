// Pin for the Gateway API standard CRDs installed by the test control plane. Nothing is built
// from this module: provision.ts runs `go mod download -json sigs.k8s.io/gateway-api` here and
// copies config/crd/standard/*.yaml from the module's Dir. go.sum verifies the download.
module portico.dev/envtest/gateway-api

go 1.24.0

require sigs.k8s.io/gateway-api v1.6.3
