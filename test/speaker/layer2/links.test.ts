import { afterEach, describe, expect, it } from 'vitest';
import type { Link } from '../../../speaker/layer2/interfaces.ts';
import { LinkWatcher, readLinks } from '../../../speaker/layer2/links.ts';
import { skipUnless } from '../../support/require.ts';

describe.skipIf(skipUnless({ binaries: ['ip'] }))('link scan and rescan hook', () => {
  let watcher: LinkWatcher | undefined;
  afterEach(() => watcher?.stop());

  it('reads the links of this namespace (loopback at least)', async () => {
    const links = await readLinks();
    expect(links.find((l) => l.name === 'lo')).toMatchObject({ loopback: true });
  });

  it('rescans after a change notification (debounced) and stops cleanly', async () => {
    let notify: (() => void) | undefined;
    let closed = false;
    const scans: Link[][] = [];
    watcher = new LinkWatcher({
      onLinks: (l) => scans.push(l),
      debounceMs: 10,
      monitor: (cb) => {
        notify = cb;
        return { close: () => (closed = true) };
      },
    });
    await watcher.start();
    expect(scans).toHaveLength(1);
    notify!();
    notify!(); // a burst collapses into one rescan
    await new Promise((r) => setTimeout(r, 300));
    expect(scans).toHaveLength(2);
    watcher.stop();
    expect(closed).toBe(true);
    notify!();
    await new Promise((r) => setTimeout(r, 100));
    expect(scans).toHaveLength(2);
  });
});
