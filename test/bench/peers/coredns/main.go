// Minimal CoreDNS for the DNS benchmark (test/bench/dns.ts): only the `file` plugin is compiled in,
// so the binary serves the generated zone file authoritatively like Portico and Knot do.
// Built by the bench into a cache folder; never shipped.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/file"
)

func init() {
	// The directive list decides which Corefile directives exist and their order; we need only one.
	dnsserver.Directives = []string{"file"}
}

func main() {
	coremain.Run()
}
