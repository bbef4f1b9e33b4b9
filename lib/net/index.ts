// IP math shared by the controller (pools, allocation), the speaker (which VIPs to answer for)
// and DNS (PTR names): see ip.ts for single addresses and interval.ts for CIDRs and ranges.
export * from './interval.ts';
export * from './ip.ts';
