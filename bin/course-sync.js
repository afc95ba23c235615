#!/usr/bin/env node
// Entry point of the `course-sync` command: runs the TypeScript sources through tsx,
// so the command works right after `npm install`, with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv);
// Exit once what was printed is written out, even if a connection or timer is still open.
process.exitCode = code;
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
