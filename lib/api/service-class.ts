// Which Services Portico serves: `type: LoadBalancer` with our spec.loadBalancerClass, or with no
// class at all when the install opts into unclassed Services (--handle-unclassed). The controller
// (allocation) and the speaker (announcement) must agree exactly, or a VIP would be allocated and
// never announced (or announced for a Service someone else owns), hence one pure function.
// The DNS server deliberately does NOT use it: it publishes host names of every LoadBalancer
// Service, whoever allocated its address (like ExternalDNS).

export interface ClassConfig {
  /** spec.loadBalancerClass Portico serves (default portico.dev/lb). */
  lbClass: string;
  /** Also serve LoadBalancer Services that set no class (absent, null or ""). */
  handleUnclassed: boolean;
}

/** The fields of a core/v1 Service this decision reads (raw JSON or client-node objects). */
export interface ServiceClassFields {
  metadata?: unknown;
  spec?: { type?: string; loadBalancerClass?: string | null };
}

/** Is this Service ours? Other classes (and non-LoadBalancer types) are ignored entirely. */
export function servedByPortico(svc: ServiceClassFields | undefined, cfg: ClassConfig): boolean {
  const spec = svc?.spec;
  if (spec?.type !== 'LoadBalancer') return false;
  const cls = spec.loadBalancerClass;
  if (cls === undefined || cls === null || cls === '') return cfg.handleUnclassed;
  return cls === cfg.lbClass;
}
