/**
 * `celeriac serve ./module.ts --tcp :4242`: a module's exported functions as an RPC server (zerorpc's
 * `zerorpc --server`), on a direct TCP port, as an HTTP gateway (JSON-RPC 2.0 and XML-RPC), and/or over the
 * app's broker on a topic; runs until SIGINT/SIGTERM, then lets running calls answer.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { RpcServer } from '../index.js';
import { loadApp } from './load-app.js';
import { driverOptions, isLoopback, listenError, listenUrl, loadEndpointModule, securityOptions, type SecurityFlags } from './rpc-common.js';
import { UsageError } from './usage.js';

interface ServeFlags extends SecurityFlags {
  app?: string;
  tcp?: string;
  tls?: string;
  http?: string;
  broker?: string;
  topic?: string;
  server?: string;
  namespace?: string;
  apiVersion?: string;
}

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description("Serve a module's exported functions as RPC methods: over direct TCP (--tcp), HTTP JSON-RPC/XML-RPC (--http) or the broker (--topic)")
    .argument('<module>', 'module whose exported functions become methods, e.g. ./service.ts (TypeScript loads directly)')
    .option('--tcp <[host]:port>', 'listen for direct TCP calls (a bare :port binds 127.0.0.1; 0.0.0.0:port every interface)')
    .option('--tls <[host]:port>', 'listen for direct TCP calls over TLS (needs --tls-cert and --tls-key)')
    .option('--http <[host]:port>', 'listen for JSON-RPC 2.0 and XML-RPC calls over HTTP')
    .option('--topic <topic>', "serve calls to this topic over the app's broker")
    .option('-A, --app <module>', 'module that exports the app (for --topic: its broker); default: CELERIAC_BROKER_URL')
    .option('-b, --broker <url>', 'with --topic: the broker URL (instead of the app\'s)')
    .option('--server <name>', 'with --topic: this server\'s name, for calls addressed to it alone', hostname())
    .option('--namespace <name>', 'the namespace of the methods (callers must ask for it)')
    .option('--api-version <version>', "the methods' version: callers needing the same major and a lower or equal minor are served", '1.0');
  securityOptions(command, 'server')
    .addHelpText('after', `
Examples:
  celeriac serve ./service.ts --tcp :4242
  celeriac serve ./service.ts --http 0.0.0.0:8080 --tcp :4242 --secret s3cret
  celeriac serve ./service.ts --topic compute --broker redis://127.0.0.1:6379/0
  celeriac rpc call tcp://127.0.0.1:4242 add '{"x": 1, "y": 2}'`)
    .action(async (module: string, flags: ServeFlags) => {
      const urls = [
        ...(flags.tcp !== undefined ? [listenUrl('--tcp', flags.tcp, 'tcp')] : []),
        ...(flags.tls !== undefined ? [listenUrl('--tls', flags.tls, 'tls')] : []),
        ...(flags.http !== undefined ? [listenUrl('--http', flags.http, 'http')] : []),
      ];
      if (urls.length === 0 && flags.topic === undefined) throw new UsageError('say where to serve: --tcp :4242, --http :8080 and/or --topic NAME (over the broker)');
      if (flags.topic === '') throw new UsageError('--topic expects a topic name, e.g. --topic compute');
      if (flags.tls !== undefined && (flags.tlsCert === undefined || flags.tlsKey === undefined)) throw new UsageError('--tls needs --tls-cert and --tls-key (PEM files)');
      const options = driverOptions(flags);
      const { endpoint, docs } = await loadEndpointModule(module);
      if (flags.broker !== undefined) process.env['CELERIAC_BROKER_URL'] = flags.broker;
      const app = await loadApp(flags.app);
      const target = { ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}), version: flags.apiVersion ?? '1.0' };
      let stop: () => void = () => undefined;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const servers: RpcServer[] = [];
      const onFailure = (request: { method: string }, outcome: { error: { type: string; message: string } }): void => {
        process.stderr.write(`[rpc] ${request.method} failed: ${outcome.error.type}: ${outcome.error.message}\n`);
      };
      try {
        for (const url of urls) {
          const server = await app.rpc.serve({ ...target, url, driver: options }, [endpoint], { docs, onFailure }).catch((err: unknown) => {
            throw listenError(url, err);
          });
          servers.push(server);
          const where = server.address ?? url;
          process.stdout.write(`-> serving ${Object.keys(endpoint).length} methods of ${module} on ${where}\n`);
          if (!isLoopback(url) && options.secret === undefined && !url.startsWith('tls')) {
            process.stderr.write(`warning: ${where} is reachable beyond this machine and anyone who reaches it may call these methods: add --secret (or TLS with --tls-request-cert)\n`);
          }
        }
        if (flags.topic !== undefined) {
          const server = await app.rpc.serve({ ...target, topic: flags.topic, ...(flags.server !== undefined ? { server: flags.server } : {}) }, [endpoint], { docs, onFailure });
          servers.push(server);
          process.stdout.write(`-> serving ${Object.keys(endpoint).length} methods of ${module} on topic '${flags.topic}' (server '${server.target.server}') of ${app.describe().broker}\n`);
        }
        process.stdout.write('ready; Ctrl-C to stop\n');
        await stopped;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
        await app.close();
      }
    });
}
