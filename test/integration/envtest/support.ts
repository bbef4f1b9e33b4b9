import { readdirSync, readFileSync } from 'node:fs';

/**
 * Process-table checks for the harness' teardown tests: any process whose command line mentions a
 * control plane's temp folder (etcd's --data-dir, kube-apiserver's --cert-dir, the reaper's
 * argument) belongs to that control plane.
 */
export function processesMentioning(needle: string): Array<{ pid: number; cmdline: string }> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch {
      continue; // exited while we looked
    }
    if (cmdline.includes(needle)) out.push({ pid, cmdline });
  }
  return out;
}

/** Members of a process group (pgid = the group leader's pid) still alive, zombies excluded. */
export function processGroupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …; comm may contain spaces, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[2]) === pgid) out.push(Number(entry));
  }
  return out;
}

/** Running (a zombie waiting for its parent's wait() counts as gone). */
export function alive(pid: number): boolean {
  const state = readState(pid);
  return state !== undefined && state !== 'Z';
}

function readState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export async function eventually(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}
