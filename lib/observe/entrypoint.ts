import { pathToFileURL } from 'node:url';

/**
 * Runs `main` when `moduleUrl` (the caller's import.meta.url) is the process entry point, then
 * exits with its code; an exception escaping main prints and exits 1. Importing the module (tests)
 * runs nothing.
 */
export function runIfEntrypoint(moduleUrl: string, main: (argv: string[]) => Promise<number>): void {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
