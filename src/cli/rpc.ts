/**
 * `celeriac rpc call URL METHOD [ARGS]` and `celeriac rpc list URL`: call any RPC server from the shell and
 * print the JSON result (zerorpc's client command), over a direct connection (`tcp://`, `tls://`,
 * `http://`, `xmlrpc+http://`) or, with --topic, over a broker. Bad JSON or an unknown method exits 2.
 */
import type { Command } from 'commander';
import { NoSuchMethodError, RemoteError, UnsupportedVersionError, type Celeriac, type MethodInfo, type RpcClient } from '../index.js';
import { loadApp } from './load-app.js';
import { driverOptions, parseArgs, securityOptions, type SecurityFlags } from './rpc-common.js';
import { formatTable, parseNumberOption, UsageError } from './usage.js';

interface RpcFlags extends SecurityFlags {
  app?: string;
  broker?: string;
  topic?: string;
  server?: string;
  namespace?: string;
  apiVersion?: string;
  timeout: string;
  cast?: boolean;
  fanout?: boolean;
  json?: boolean;
}

/** The app and a client for the flags: a URL first (direct), or --topic over the broker; `words` after the URL: METHOD [ARGS] for call, none for list. */
async function connect(words: string[], flags: RpcFlags, command: 'call' | 'list'): Promise<{ app: Celeriac; client: RpcClient; rest: string[] }> {
  const timeout = parseNumberOption('--timeout', flags.timeout, { min: 1 });
  const common = {
    timeout,
    ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
    ...(flags.apiVersion !== undefined ? { version: flags.apiVersion } : {}),
  };
  const usage = command === 'call' ? 'METHOD [ARGS]' : 'nothing';
  const fits = (rest: string[]): boolean => (command === 'call' ? rest.length >= 1 && rest.length <= 2 : rest.length === 0);
  if (flags.topic !== undefined) {
    if (flags.topic === '') throw new UsageError('--topic expects a topic name, e.g. --topic compute');
    if (!fits(words)) throw new UsageError(`with --topic, rpc ${command} expects ${usage} (no URL); got: ${words.join(' ') || 'nothing'}`);
    if (flags.broker !== undefined) process.env['CELERIAC_BROKER_URL'] = flags.broker;
    const app = await loadApp(flags.app);
    const client = app.rpc.client({ ...common, topic: flags.topic, ...(flags.server !== undefined ? { server: flags.server } : {}), ...(flags.fanout ? { fanout: true } : {}) });
    return { app, client, rest: words };
  }
  const [url, ...rest] = words;
  if (url === undefined || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new UsageError(`expected a server URL first (tcp://127.0.0.1:4242, http://127.0.0.1:8080/), or --topic NAME to call over the broker; got ${JSON.stringify(url ?? '')}`);
  }
  if (!fits(rest)) throw new UsageError(`after the URL, rpc ${command} expects ${usage}; got: ${rest.join(' ') || 'nothing'}`);
  const app = await loadApp(flags.app);
  const client = app.rpc.client({ ...common, url, driver: driverOptions(flags) });
  return { app, client, rest };
}

function options(command: Command): Command {
  command
    .option('-A, --app <module>', 'module that exports the app (for --topic: its broker and RPC drivers)')
    .option('-b, --broker <url>', 'with --topic: the broker URL')
    .option('--topic <topic>', 'call the servers of this topic over the broker instead of a URL')
    .option('--server <name>', 'with --topic: one server of the topic')
    .option('--namespace <name>', 'the namespace of the method')
    .option('--api-version <version>', "the version the call needs (e.g. 1.2: the server's major must equal, its minor be >= 2)")
    .option('-t, --timeout <ms>', 'how long to wait for the answer', '30000');
  return securityOptions(command, 'client');
}

/** Runs the call: exit 2 for what the caller got wrong (unknown method, version), 1 with the remote error for a failure. */
async function reporting(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (err instanceof NoSuchMethodError || err instanceof UnsupportedVersionError) throw new UsageError(err.message);
    if (!(err instanceof RemoteError)) throw err;
    process.stderr.write(`celeriac: the remote method failed: ${String(err)}\n`);
    process.exitCode = 1;
  }
}

export function registerRpc(program: Command): void {
  const rpc = program.command('rpc').description('Call RPC servers from the shell: rpc call, rpc list');
  options(
    rpc
      .command('call')
      .description('Call a method and print its JSON result (exit 2 for bad JSON or an unknown method, 1 if the method failed)')
      .argument('<words...>', 'URL METHOD [ARGS] (or METHOD [ARGS] with --topic); ARGS: JSON object (by name) or list (by position)')
      .option('--cast', 'send without waiting for an answer (one-way)')
      .option('--fanout', 'with --topic and --cast: every server of the topic')
      .option('--json', 'print the result as one line of JSON (default: indented)'),
  )
    .addHelpText('after', `
Examples:
  celeriac rpc call tcp://127.0.0.1:4242 add '{"x": 1, "y": 2}'
  celeriac rpc call http://127.0.0.1:8080/ sum '[1, 2, 3]'
  celeriac rpc call --broker redis://127.0.0.1:6379/0 --topic compute add '{"x": 1, "y": 2}'
  celeriac rpc call --topic compute --cast --fanout reload`)
    .action(async (words: string[], flags: RpcFlags) => {
      if (flags.fanout && !flags.cast) throw new UsageError('--fanout reaches every server and has no single answer: add --cast');
      if (flags.fanout && flags.topic === undefined) throw new UsageError('--fanout needs --topic (a fanout goes to every server of a topic on a broker)');
      const { app, client, rest } = await connect(words, flags, 'call');
      try {
        const [method, text] = rest as [string, string | undefined];
        const args = parseArgs(text);
        await reporting(async () => {
          if (flags.cast) {
            await client.cast(method, args);
            process.stdout.write('sent\n');
            return;
          }
          const result = await client.call(method, args);
          process.stdout.write(`${JSON.stringify(result, null, flags.json ? undefined : 2) ?? 'null'}\n`);
        });
      } finally {
        await app.close();
      }
    });
  options(
    rpc
      .command('list')
      .description("List a server's methods with their doc lines")
      .argument('[url]', 'the server (omit with --topic)')
      .option('--json', 'print the list as JSON'),
  )
    .addHelpText('after', `
Examples:
  celeriac rpc list tcp://127.0.0.1:4242
  celeriac rpc list --broker amqp://guest:guest@127.0.0.1// --topic compute`)
    .action(async (url: string | undefined, flags: RpcFlags) => {
      const { app, client } = await connect(url === undefined ? [] : [url], flags, 'list');
      try {
        await reporting(async () => {
          const methods: MethodInfo[] = await client.describe();
          if (flags.json) process.stdout.write(`${JSON.stringify(methods)}\n`);
          else process.stdout.write(formatTable(['method', 'version', 'doc'], methods.map((m) => [m.namespace ? `${m.namespace}.${m.name}` : m.name, m.version ?? '', m.doc ?? ''])));
        });
      } finally {
        await app.close();
      }
    });
}
