import { describe, expect, it } from 'vitest';
import { siblingModule } from '../../../dns/server/server.ts';

// The DNS worker thread's module is found next to server.ts/server.js with the caller's extension:
// the compiled image once looked for worker.ts in dist/ and crashed on start (kind e2e finding).
describe('siblingModule', () => {
  it('keeps .ts when running from source and .js in the compiled build', () => {
    expect(siblingModule('worker', 'file:///repo/dns/server/server.ts').href).toBe(
      'file:///repo/dns/server/worker.ts',
    );
    expect(siblingModule('worker', 'file:///app/dist/dns/server/server.js').href).toBe(
      'file:///app/dist/dns/server/worker.js',
    );
    expect(siblingModule('worker', 'file:///app/dist/dns/server/server.mjs').href).toBe(
      'file:///app/dist/dns/server/worker.mjs',
    );
  });

  it('names a module that exists beside the running server', async () => {
    const { existsSync } = await import('node:fs');
    const url = siblingModule('worker', new URL('../../../dns/server/server.ts', import.meta.url).href);
    expect(existsSync(url)).toBe(true);
  });
});
