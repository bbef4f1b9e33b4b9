// Builds the batched UDP addon: `node dns/native/build.ts` (for `npm run build:native` / the
// package's `install` script, next to speaker/native/build.ts); wrapper in lib/native/build-addon.ts.
// Linux only; elsewhere there is nothing to build and the server uses node:dgram (--udp-io auto).
import { buildAddon } from '../../lib/native/build-addon.ts';

buildAddon({
  callerUrl: import.meta.url,
  failure: 'dns: building the batched UDP addon failed',
  linuxOnlySkip: 'dns: batched UDP addon is Linux-only; skipping (node:dgram will serve UDP)',
});
