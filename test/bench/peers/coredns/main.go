// Minimal CoreDNS for the DNS benchmark (test/bench/dns.ts): only the `bind` and `file` plugins are compiled in,
// so the binary serves the generated zone file authoritatively like Portico and Knot do.
// Built by the bench into a cache folder; never shipped.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/file"
)

func init() {
	// The directive list decides which Corefile directives exist and their order: `bind` keeps the
	// listener on 127.0.0.1, `file` serves the zone.
	dnsserver.Directives = []string{"bind", "file"}
}

func main() {
	coremain.Run()
}
