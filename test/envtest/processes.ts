import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Child processes of the test control plane, each the leader of its own process group so that
 * killing the group takes any grandchildren with it, and so a terminal Ctrl-C reaches only us:
 * we decide the teardown order.
 *
 * Three layers keep orphans away:
 *  1. stop() kills each group and waits for it to exit;
 *  2. a synchronous process 'exit' hook kills every group still registered and removes temp folders
 *     (covers uncaught errors and process.exit from signal handlers);
 *  3. a detached reaper (reaper.ts) polls our pid and cleans up if we die without running hooks
 *     (SIGKILL, OOM): it reads the live pgids from `<stateDir>/pids`.
 */

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  name: string;
  pid: number;
  logPath: string;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<Exit>;
  /** Latest exit, once it happened. */
  exit: Exit | undefined;
  /** Signal the whole process group and wait for the leader to exit. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

const liveGroups = new Map<number, string>(); // pgid → stateDir
const tempDirs = new Set<string>();
let hookInstalled = false;

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups.keys()) killGroup(pgid, 'SIGKILL');
    liveGroups.clear();
    for (const dir of tempDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort on the way out
      }
    }
    tempDirs.clear();
  });
}

/** Persist the current pgids of one control plane so its reaper can find them. */
function writePids(stateDir: string): void {
  const pgids = [...liveGroups].filter(([, d]) => d === stateDir).map(([p]) => p);
  try {
    writeFileSync(join(stateDir, 'pids'), `${pgids.join('\n')}\n`);
  } catch {
    // stateDir is being removed: nothing left to reap
  }
}

export function registerTempDir(dir: string): void {
  installExitHook();
  tempDirs.add(dir);
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export function spawnGroup(
  name: string,
  command: string,
  args: string[],
  opts: { stateDir: string; logPath: string; env?: NodeJS.ProcessEnv },
): ManagedProcess {
  installExitHook();
  const fd = openSync(opts.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      detached: true, // setsid: own session + process group
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
    });
  } finally {
    closeSync(fd);
  }
  let resolveExit: (e: Exit) => void = () => {};
  const exited = new Promise<Exit>((r) => {
    resolveExit = r;
  });
  const proc: ManagedProcess = {
    name,
    pid: 0,
    logPath: opts.logPath,
    exited,
    exit: undefined,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exit) return proc.exit;
      killGroup(proc.pid, signal);
      return exited;
    },
  };
  child.on('error', (err) => {
    // spawn failure (ENOENT, EACCES): report as an exit so waiters fail with the log + this message
    writeFileSync(opts.logPath, `spawn ${command} failed: ${err.message}\n`, { flag: 'a' });
    finish({ code: 127, signal: null });
  });
  const finish = (e: Exit) => {
    if (proc.exit) return;
    proc.exit = e;
    if (proc.pid) {
      // The leader is gone; take down any stragglers left in its group.
      killGroup(proc.pid, 'SIGKILL');
      liveGroups.delete(proc.pid);
      writePids(opts.stateDir);
    }
    resolveExit(e);
  };
  child.on('exit', (code, signal) => finish({ code, signal }));
  if (child.pid !== undefined) {
    proc.pid = child.pid;
    liveGroups.set(child.pid, opts.stateDir);
    writePids(opts.stateDir);
  }
  return proc;
}

/** Last `lines` lines of a log file, for error messages. */
export function tailLog(path: string, lines = 30): string {
  try {
    const text = readFileSync(path, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const REAPER = join(dirname(fileURLToPath(import.meta.url)), 'reaper.ts');

/** Start the watchdog for one control plane; returns its pid (stop() kills it). */
export function startReaper(stateDir: string): number | undefined {
  const child = spawn(process.execPath, [REAPER, String(process.pid), stateDir], {
    detached: true,
    stdio: 'ignore',
  });
  child.on('error', () => {}); // best effort: layers 1 and 2 still apply
  child.unref();
  return child.pid;
}
