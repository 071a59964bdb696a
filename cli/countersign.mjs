#!/usr/bin/env node
// The `countersign` command: loads the TypeScript CLI through tsx (a dependency), so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
const { processIo } = await import('./io.ts');
// The process's own stdin, stdout, stderr and environment; the command's exit code becomes the process's.
process.exitCode = await main(process.argv.slice(2), processIo());
