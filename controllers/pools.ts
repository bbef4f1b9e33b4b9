// The IPAddressPool resource as the controller reads it (raw JSON; the CRD has defaulted it).

import { GROUP, KINDS, PLURALS, VERSION } from '../lib/api/group.ts';
import type { IPAddressPoolSpec, IPAddressPoolStatus } from '../lib/api/types.ts';
import type { KubeObject, ResourceRef } from '../lib/kube/index.ts';

export const POOL_RESOURCE = {
  group: GROUP,
  version: VERSION,
  plural: PLURALS.IPAddressPool,
  namespaced: false,
  kind: KINDS.IPAddressPool,
} as const satisfies ResourceRef;

export interface PoolObject extends KubeObject {
  spec?: IPAddressPoolSpec;
  status?: IPAddressPoolStatus;
}
