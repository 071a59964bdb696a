#!/usr/bin/env node
// The `countersign` command: loads the TypeScript CLI through tsx (a dependency), so no build step is needed.
import { register } from 'tsx/esm/api';

// A reader that went away (`countersign audit export | head -1`) is not an error to report: stop writing and exit
// quietly, 0, instead of printing an EPIPE stack trace. Any other stream error is still one.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

register();
const { main } = await import('./main.ts');
const { processIo } = await import('./io.ts');
// The process's own stdin, stdout, stderr and environment; the command's exit code becomes the process's.
process.exitCode = await main(process.argv.slice(2), processIo());
