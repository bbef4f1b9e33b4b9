// rbac.authorization.k8s.io/v1 PolicyRule (the fields Portico's components use), type-only. Each
// component declares its least-privilege rule lists (controllers/rbac.ts, speaker/rbac.ts,
// dns/sources/rbac.ts) against this one shape; charts/rbac.ts renders them into the Helm chart.

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
