/** The `celeriac` program: its sub-commands by name, each file loaded only when its command runs. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export type Register = (program: Command) => void;

/**
 * Every sub-command, loaded on demand (in `--help` order): a worker process loads only `worker.ts` and what
 * it imports, not the dashboard, RPC, shell or migration code of the other sub-commands (memory, start-up).
 */
export const COMMANDS: Record<string, () => Promise<Register>> = {
  worker: async () => (await import('./worker.js')).registerWorker,
  call: async () => (await import('./call.js')).registerCall,
  result: async () => (await import('./result.js')).registerResult,
  purge: async () => (await import('./purge.js')).registerPurge,
  list: async () => (await import('./list.js')).registerList,
  beat: async () => (await import('./beat.js')).registerBeat,
  inspect: async () => (await import('./inspect.js')).registerInspect,
  control: async () => (await import('./control.js')).registerControl,
  status: async () => (await import('./status.js')).registerStatus,
  events: async () => (await import('./events.js')).registerEvents,
  dashboard: async () => (await import('./dashboard.js')).registerDashboard,
  serve: async () => (await import('./serve.js')).registerServe,
  rpc: async () => (await import('./rpc.js')).registerRpc,
  gateway: async () => (await import('./gateway.js')).registerGateway,
  ns: async () => (await import('./ns.js')).registerNs,
  stubs: async () => (await import('./stubs.js')).registerStubs,
  multi: async () => (await import('./multi.js')).registerMulti,
  shell: async () => (await import('./shell.js')).registerShell,
  amqp: async () => (await import('./amqp.js')).registerAmqp,
  migrate: async () => (await import('./migrate.js')).registerMigrate,
  report: async () => (await import('./report.js')).registerReport,
  logtool: async () => (await import('./logtool.js')).registerLogtool,
  upgrade: async () => (await import('./upgrade.js')).registerUpgrade,
  graph: async () => (await import('./graph.js')).registerGraph,
};

/**
 * The program with the sub-command `argv` names, or with all of them (help, a misspelt name, none given).
 * Each file registers exactly the command of its name (checked by tests/unit/cli/commands.test.ts).
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('celeriac')
    .description('Distributed task queue, RPC and remote objects for TypeScript, wire-compatible with Python Celery')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const name = argv.slice(2).find((a) => !a.startsWith('-'));
  const only = name !== undefined && Object.hasOwn(COMMANDS, name) ? [COMMANDS[name] as () => Promise<Register>] : Object.values(COMMANDS);
  for (const register of await Promise.all(only.map((load) => load()))) register(program);
  const override = (cmds: readonly Command[]): void => {
    for (const cmd of cmds) {
      cmd.exitOverride();
      override(cmd.commands);
    }
  };
  override(program.commands);
  return program;
}

