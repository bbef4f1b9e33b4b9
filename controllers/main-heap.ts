// Imported first by controllers/main.ts, so its code runs before any other module of the process
// is evaluated: the young generation is capped at the size it has now (1-2 MB semi-spaces), before
// the informers' first lists grow it (lib/observe/young-generation.ts says why and how). Only when
// main.ts is the entry point, like runIfEntrypoint: a test importing main.ts changes nothing.
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { capYoungGeneration } from '../lib/observe/young-generation.ts';

const main = new URL(`./main${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;

/** The V8 flag this process set for itself at start, or null (not the entry point, or user-sized). */
export const inProcessV8Flag: string | null =
  main === pathToFileURL(process.argv[1] ?? '').href ? capYoungGeneration() : null;
