// Segment.reapStale: a run killed before destroy() must not leave namespaces or a root veth that
// break the next run (seen: a killed L2 e2e left 198.51.100.1/24 on a root veth).
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../../support/require.ts';
import { Segment } from './netns.ts';

const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
const links = () => execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });

describe.skipIf(skipUnless({ root: true, binaries: ['ip'] }))('Segment.reapStale', () => {
  it("removes a dead process's namespaces and root veth, keeps a live one's", () => {
    // A segment "owned" by a process that has exited: its pid file names a dead pid.
    const dead = new Segment('reap');
    dead.create();
    dead.addHost('h1', '02:00:00:00:0e:01', ['203.0.113.9/24']);
    execFileSync('ip', ['link', 'add', `ptr${dead.id}`, 'type', 'veth', 'peer', 'name', `ptq${dead.id}`]);
    const exited = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
    writeFileSync(join(Segment.RUN_DIR, dead.id), `${exited}\n`);

    const live = new Segment('reap');
    live.create(); // reaps on create: the dead one goes, this one (our pid) stays
    try {
      expect(namespaces()).not.toContain(`-${dead.id}-`);
      expect(links()).not.toContain(`ptr${dead.id}`);
      expect(namespaces()).toContain(live.switchNs);
      Segment.reapStale();
      expect(namespaces()).toContain(live.switchNs);
    } finally {
      live.destroy();
      dead.destroy();
    }
    expect(namespaces()).not.toContain(live.switchNs);
  });
});
