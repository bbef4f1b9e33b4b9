// The IPAM controller: `startController()` runs it in-process; controllers/main.ts is the CLI.
export {
  DEFAULT_LEASE_NAME,
  defaultIdentity,
  type RunningController,
  type StartControllerOptions,
  startController,
} from './controller.ts';
export {
  CONTROLLER_CLUSTER_ROLE_RULES,
  CONTROLLER_LEASE_RULES,
  CONTROLLER_METALLB_RULES,
  controllerClusterRole,
  controllerLeaseRole,
} from './rbac.ts';
