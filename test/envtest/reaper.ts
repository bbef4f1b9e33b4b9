/**
 * Watchdog for one test control plane: `node reaper.ts <parentPid> <stateDir>`.
 *
 * Runs detached from the harness. If the harness process dies without cleaning up (SIGKILL, OOM,
 * a runner that hard-kills its workers), the reaper kills the process groups listed in
 * `<stateDir>/pids` and removes `<stateDir>`. It exits on its own as soon as the state folder is
 * gone (a normal stop removed it). No imports beyond node: it must start fast and never fail.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const parent = Number(process.argv[2]);
const stateDir = process.argv[3];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function reap(dir: string): void {
  let pids: number[] = [];
  try {
    pids = readFileSync(join(dir, 'pids'), 'utf8')
      .split('\n')
      .map((l) => Number.parseInt(l, 10))
      .filter((n) => Number.isInteger(n) && n > 1);
  } catch {
    // no pids file: nothing was started yet
  }
  for (const pgid of pids) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

if (!Number.isInteger(parent) || parent <= 1 || !stateDir) {
  process.exit(2);
}
// Ignore the signals a terminal or a test runner sends to the whole foreground group: the harness
// owns the teardown; we only act when it is gone.
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});

const timer = setInterval(() => {
  if (!existsSync(stateDir)) {
    clearInterval(timer);
    return;
  }
  if (!alive(parent)) {
    clearInterval(timer);
    reap(stateDir);
  }
}, 500);
