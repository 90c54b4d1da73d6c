/**
 * `celeriac gateway --http :8080`: JSON-RPC 2.0 and XML-RPC over HTTP in front of RPC servers: the servers of
 * a topic on the broker (`--topic`), a direct server (`--to tcp://...`), or a module's functions served here.
 * Python's xmlrpc.client, jsonrpclib, curl and any JSON-RPC client (dubbo's cross-language protocol) can call them.
 */
import type { Command } from 'commander';
import { Dispatcher, type RpcHandler } from '../index.js';
import { loadApp } from './load-app.js';
import { driverOptions, isLoopback, listenError, listenUrl, loadEndpointModule, securityOptions, type SecurityFlags } from './rpc-common.js';
import { parseNumberOption, UsageError } from './usage.js';

interface GatewayFlags extends SecurityFlags {
  http: string;
  app?: string;
  broker?: string;
  topic?: string;
  server?: string;
  to?: string;
  toSecret?: string;
  timeout: string;
  basicAuth?: string;
}

export function registerGateway(program: Command): void {
  const command = program
    .command('gateway')
    .description('Serve RPC over HTTP as JSON-RPC 2.0 and XML-RPC: in front of a topic on the broker (--topic), a direct server (--to), or a module')
    .argument('[module]', "serve this module's exported functions here instead of forwarding")
    .option('--http <[host]:port>', 'where to listen (a bare :port binds 127.0.0.1)', ':8080')
    .option('--topic <topic>', "forward every call to the servers of this topic over the app's broker")
    .option('-A, --app <module>', 'module that exports the app (for --topic: its broker)')
    .option('-b, --broker <url>', 'with --topic: the broker URL')
    .option('--server <name>', 'with --topic: forward to this one server of the topic')
    .option('--to <url>', 'forward every call to this server (tcp://host:port, http://...)')
    .option('--to-secret <text>', "the shared secret of the --to server")
    .option('-t, --timeout <ms>', 'how long a forwarded call may take (heartbeats of long calls extend it)', '60000')
    .option('--basic-auth <user:password>', 'require HTTP basic auth with these credentials');
  securityOptions(command, 'server')
    .addHelpText('after', `
Examples:
  celeriac gateway --http :8080 --topic compute --broker amqp://guest:guest@127.0.0.1:5672//
  celeriac gateway --http 0.0.0.0:8080 --to tcp://127.0.0.1:4242 --basic-auth ada:s3cret
  celeriac gateway ./service.ts --http :8080
  python3 -c "import xmlrpc.client as x; print(x.ServerProxy('http://127.0.0.1:8080/RPC2').add({'x': 1, 'y': 2}))"
  curl -s localhost:8080 -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"add","params":{"x":1,"y":2}}'`)
    .action(async (module: string | undefined, flags: GatewayFlags) => {
      const sources = [module !== undefined, flags.topic !== undefined, flags.to !== undefined].filter(Boolean).length;
      if (sources !== 1) throw new UsageError('say what the gateway serves: a module (celeriac gateway ./service.ts), --topic NAME (over the broker) or --to URL; exactly one');
      if (flags.basicAuth !== undefined && !/^[^:]+:.+$/.test(flags.basicAuth)) throw new UsageError("--basic-auth expects 'user:password'");
      const timeout = parseNumberOption('--timeout', flags.timeout, { min: 1 });
      let url = listenUrl('--http', flags.http, 'http');
      if (flags.basicAuth !== undefined) {
        const [user, ...password] = flags.basicAuth.split(':');
        const u = new URL(url);
        u.username = encodeURIComponent(user ?? '');
        u.password = encodeURIComponent(password.join(':'));
        url = u.href;
      }
      const listenOptions = driverOptions({ ...flags, secret: undefined, secretFile: undefined });
      if (flags.broker !== undefined) process.env['CELERIAC_BROKER_URL'] = flags.broker;
      const app = await loadApp(flags.app);
      let handler: RpcHandler;
      let what: string;
      if (module !== undefined) {
        const { endpoint, docs } = await loadEndpointModule(module);
        handler = new Dispatcher([endpoint], { docs }).handle;
        what = `${Object.keys(endpoint).length} methods of ${module}`;
      } else if (flags.topic !== undefined) {
        if (flags.topic === '') throw new UsageError('--topic expects a topic name, e.g. --topic compute');
        handler = app.rpc.forward({ topic: flags.topic, timeout, ...(flags.server !== undefined ? { server: flags.server } : {}) });
        what = `topic '${flags.topic}' on ${app.describe().broker}`;
      } else {
        const to = flags.to as string;
        if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(to)) throw new UsageError(`--to expects a server URL such as tcp://127.0.0.1:4242; got ${JSON.stringify(to)}`);
        handler = app.rpc.forward({ url: to, timeout, driver: flags.toSecret !== undefined ? { secret: flags.toSecret } : {} });
        what = to;
      }
      let stop: () => void = () => undefined;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const listener = await app.rpc.listen(url, handler, listenOptions).catch((err: unknown) => {
            throw listenError(flags.http, err);
          });
        const where = (listener.address ?? url).replace(/\/\/[^@/]*@/, '//');
        process.stdout.write(`-> gateway on ${where} (JSON-RPC 2.0 and XML-RPC, also at /RPC2) for ${what}\nready; Ctrl-C to stop\n`);
        if (!isLoopback(url) && flags.basicAuth === undefined) {
          process.stderr.write(`warning: ${where} is reachable beyond this machine without --basic-auth: anyone who reaches it may call these methods\n`);
        }
        await stopped;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await app.close();
      }
    });
}
