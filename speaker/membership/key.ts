import { readFileSync } from 'node:fs';

export const MIN_KEY_BYTES = 16;

/**
 * Reads the shared heartbeat key from a file (the mounted Secret). Required: without it any host
 * on the node network could keep a dead node "alive" or fake a leave, so the speaker refuses to
 * start. One trailing newline is ignored (editors and `kubectl create secret --from-file` add
 * one); everything else is key material.
 */
export function loadHeartbeatKey(path: string | undefined): Buffer {
  if (!path) {
    throw new Error(
      'speaker: no heartbeat key file given (--heartbeat-key-file): refusing to start without authentication',
    );
  }
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw new Error(
      `speaker: cannot read the heartbeat key file ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ` +
        'mount the speaker Secret there: refusing to start without authentication',
    );
  }
  let end = raw.length;
  if (end > 0 && raw[end - 1] === 0x0a) end--;
  if (end > 0 && raw[end - 1] === 0x0d) end--;
  const key = raw.subarray(0, end);
  if (key.length < MIN_KEY_BYTES) {
    throw new Error(
      `speaker: the heartbeat key in ${path} is ${key.length} bytes; at least ${MIN_KEY_BYTES} are required`,
    );
  }
  return Buffer.from(key);
}
