// Builds the AF_PACKET addon: `node speaker/native/build.ts` (what `npm run build:native` and the
// package's `install` script run). The node-gyp wrapper and its header policy: lib/native/build-addon.ts.
import { buildAddon } from '../../lib/native/build-addon.ts';

buildAddon({ callerUrl: import.meta.url, failure: 'speaker: building the AF_PACKET addon failed' });
