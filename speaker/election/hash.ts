import { createHash } from 'node:crypto';

/**
 * Rendezvous (highest random weight) score of a node for a VIP: the first 64 bits of
 * SHA-256("<node>\0<canonical ip>"). Deterministic across processes, versions and platforms,
 * so every speaker ranks nodes identically; the IP (not the Service) is hashed, so Services
 * sharing an IP share an owner. Scores are memoized: a speaker recomputes the same pairs on
 * every membership change.
 */
const cache = new Map<string, bigint>();
const CACHE_LIMIT = 1_000_000;

export function rendezvousScore(node: string, ip: string): bigint {
  const key = `${node}\0${ip}`;
  let score = cache.get(key);
  if (score === undefined) {
    score = createHash('sha256').update(key).digest().readBigUInt64BE(0);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, score);
  }
  return score;
}

/** The winning node among `nodes` for `ip` (highest score; ties, which need a 64-bit collision, by name). */
export function rendezvousOwner(nodes: Iterable<string>, ip: string): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const n of nodes) {
    const s = rendezvousScore(n, ip);
    if (s > bestScore || (s === bestScore && best !== undefined && n < best)) {
      best = n;
      bestScore = s;
    }
  }
  return best;
}
