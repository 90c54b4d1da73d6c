#!/usr/bin/env node
/** The `celeriac` command: one sub-command per file; bad arguments exit 2 with a message. */
// First: the worker's V8 heap flags must be set before the other modules load.
import './worker-heap.js';
import { CommanderError } from 'commander';
import { CeleriacError } from '../index.js';
import { buildProgram } from './program.js';
import { UsageError } from './usage.js';

export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version exit 0; every other parse error is a usage error.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`celeriac: ${err.message}\n`);
      return 2;
    }
    if (err instanceof CeleriacError) {
      process.stderr.write(`celeriac: ${err.message}\n`);
      return err.code === 'E_CONFIG' ? 2 : 1;
    }
    process.stderr.write(`celeriac: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  },
);
