#!/usr/bin/env node
/** The `celeriac` command: one sub-command per file; bad arguments exit 2 with a message. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CeleriacError } from '../index.js';
import { registerAmqp } from './amqp.js';
import { registerBeat } from './beat.js';
import { registerCall } from './call.js';
import { registerControl } from './control.js';
import { registerDashboard } from './dashboard.js';
import { registerEvents } from './events.js';
import { registerGateway } from './gateway.js';
import { registerInspect } from './inspect.js';
import { registerStatus } from './status.js';
import { registerList } from './list.js';
import { registerMigrate } from './migrate.js';
import { registerMulti } from './multi.js';
import { registerNs } from './ns.js';
import { registerPurge } from './purge.js';
import { registerResult } from './result.js';
import { registerRpc } from './rpc.js';
import { registerServe } from './serve.js';
import { registerStubs } from './stubs.js';
import { registerShell } from './shell.js';
import { UsageError } from './usage.js';
import { registerWorker } from './worker.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('celeriac')
    .description('Distributed task queue, RPC and remote objects for TypeScript, wire-compatible with Python Celery')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerWorker(program);
  registerCall(program);
  registerResult(program);
  registerPurge(program);
  registerList(program);
  registerBeat(program);
  registerInspect(program);
  registerControl(program);
  registerStatus(program);
  registerEvents(program);
  registerDashboard(program);
  registerServe(program);
  registerRpc(program);
  registerGateway(program);
  registerNs(program);
  registerStubs(program);
  registerMulti(program);
  registerShell(program);
  registerAmqp(program);
  registerMigrate(program);
  const override = (cmds: readonly Command[]): void => {
    for (const cmd of cmds) {
      cmd.exitOverride();
      override(cmd.commands);
    }
  };
  override(program.commands);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
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
