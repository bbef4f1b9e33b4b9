/**
 * CEL building blocks for the CRD validation rules. Kubernetes CEL has no `let` (cel.bind is not in
 * the apiserver's environment) and no ordering on IP values, so these TypeScript helpers expand
 * sub-expressions textually; the apiserver's cost estimator sees the expanded text.
 *
 * Environment: the rules must compile in the environment kube-apiserver 1.34 uses for *new*
 * expressions, which is the 1.33 compatibility environment: the Kubernetes IP and CIDR libraries
 * (`isIP`, `ip()`, `.family()`, `isCIDR`), cel-go's strings extension v2 (`split`,
 * `substring`, `trim`, `join`), regex `matches`, list macros. cel-go's lists extension (`range`,
 * `slice`, `sort`) only arrives in the 1.34 environment and must not be used.
 *
 * Every helper expects its argument to be a CEL expression of type string that is safe to repeat
 * (no side effects; CEL has none).
 */

/** CEL string literal with single quotes. */
export function lit(s: string): string {
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

// ------------------------------------------------------------------------------------------------
// Address ranges `first-last`. IPv6 addresses never contain '-', so one '-' splits a range.

export function rangeFirst(s: string): string {
  return `${s}.split('-', 3)[0].trim()`;
}

export function rangeLast(s: string): string {
  return `${s}.split('-', 3)[1].trim()`;
}

/** True when s is `ip-ip` (spaces around '-' allowed). Never errors. */
export function isRange(s: string): string {
  return `(${s}.split('-', 3).size() == 2 && isIP(${rangeFirst(s)}) && isIP(${rangeLast(s)}))`;
}

/** True when s is a CIDR, a single address (a /32 or /128, as lib/net reads it) or a range. Never errors. */
export function isAddressEntry(s: string): string {
  return `(isCIDR(${s}) || isIP(${s}) || ${isRange(s)})`;
}

// ------------------------------------------------------------------------------------------------
// Ordering IPs. The Kubernetes IP type has no `<`, and rewriting addresses as text is both fiddly
// (v6 spellings) and priced as unbounded by the cost estimator (`join`, `string(ip)`, `!=` on IPs
// have no size bound). The CIDR library gives an exact test instead. For addresses a and b of one
// family, let p be the length of their common prefix: b is inside a/p but not inside a/(p+1), and
// a and b differ at bit p. Then b < a exactly when a has a 1 at bit p, i.e. when masking a to p+1
// bits keeps a bit that masking to p bits clears. Scanning p over 0..bits-1 finds that unique p.
//
// Comprehensions over one-element lists (`[x].all(v, …)`) stand in for `let`: the apiserver
// charges each textual repetition of x, so binding it once keeps the rule inside the budget.

const PREFIXES = `[${Array.from({ length: 129 }, (_, i) => `'${i}'`).join(', ')}]`;

/**
 * True when IP text `a` is greater than IP text `b` (both valid, same family). Never errors:
 * every cidr() call is guarded by `i < bits`.
 */
export function ipGreaterThan(a: string, b: string): string {
  const body =
    `i < (bip.family() == 4 ? 32 : 128) && cidr(aslash + p).containsIP(bip) && ` +
    `!cidr(aslash + ${PREFIXES}[i + 1]).containsIP(bip) && ` +
    `!(cidr(aslash + ${PREFIXES}[i + 1]).masked().ip() == cidr(aslash + p).masked().ip())`;
  return `[${a} + '/'].all(aslash, [ip(${b})].all(bip, ${PREFIXES}.exists(i, p, ${body})))`;
}

// ------------------------------------------------------------------------------------------------
// Messages. messageExpression must itself never error, so every branch is guarded.

/**
 * Explains why s is neither a CIDR, an address nor a range. Only evaluated when `isAddressEntry(s)`
 * is false.
 */
export function addressSyntaxMessage(s: string): string {
  const q = `"'" + ${s} + "'"`;
  const before = `${s}.split('/', 3)[0]`;
  const after = `${s}.split('/', 3)[1]`;
  const prefixOk = `${after}.matches('^(0|[1-9][0-9]{0,2})$')`;
  const maxBits = `(ip(${before}).family() == 4 ? 32 : 128)`;
  const cidrReason =
    `${s}.split('/', 3).size() != 2 || !isIP(${before}) ? ` +
    `${q} + " is not a valid CIDR: the part before '/' must be an IPv4 or IPv6 address"` +
    ` : !${prefixOk} || int(${after}) > ${maxBits} ? ` +
    `${q} + " has an invalid prefix length: IPv4 allows /0 to /32, IPv6 /0 to /128"` +
    ` : ${q} + " is not a valid CIDR"`;
  const rangeReason =
    `${s}.split('-', 3).size() != 2 ? ${q} + " is not a valid range: write first-last with exactly one '-'"` +
    ` : !isIP(${rangeFirst(s)}) ? ${q} + " is not a valid range: '" + ${rangeFirst(s)} + "' is not an IP address"` +
    ` : ${q} + " is not a valid range: '" + ${rangeLast(s)} + "' is not an IP address"`;
  const other = `${q} + " is neither a CIDR (192.0.2.0/24, 2001:db8::/64), an address, nor a range (192.0.2.10-192.0.2.20)"`;
  return `${s}.contains('/') ? (${cidrReason}) : ${s}.contains('-') ? (${rangeReason}) : ${other}`;
}
