// One import for the shared Kubernetes plumbing: `import { Informer, Controller, ... } from '../lib/kube/index.ts'`.
export * from './apply.ts';
export * from './backoff.ts';
export * from './cache.ts';
export * from './client.ts';
export * from './controller.ts';
export * from './events.ts';
export * from './informer.ts';
export * from './leader.ts';
export * from './log.ts';
export * from './workqueue.ts';
