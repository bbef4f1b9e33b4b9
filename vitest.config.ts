import { defineConfig } from 'vitest/config';

// Three projects, one command (`npm test`):
//  - unit: pure cores and nock-driven error paths; no control plane, no root.
//  - integration: a real etcd + kube-apiserver started once by test/envtest/global-setup.ts.
//  - e2e: network namespaces as nodes (root), real ARP/NDP and real DNS clients.
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**', 'test/e2e/**', 'node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/envtest/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // One shared control plane; files run one at a time so timing-sensitive tests
          // (leases, watch recovery) do not starve each other on a 2-core machine.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/envtest/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
