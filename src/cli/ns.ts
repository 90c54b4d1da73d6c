/**
 * `celeriac ns`: a name server wire-compatible with Pyro4's (`python3 -m Pyro4.naming`): 'Pyro.NameServer' on
 * 127.0.0.1:9090 by default, registrations in memory or a SQLite file, UDP discovery only with --broadcast.
 * Runs until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { CeleriacError, openNameStorage, startNameServer, type NameStorage } from '../index.js';
import { parseNumberOption, UsageError } from './usage.js';

interface NsFlags {
  host: string;
  port: string;
  storage: string;
  broadcast?: boolean;
  bchost?: string;
  bcport: string;
  secret?: string;
  writeSecret?: string;
  writePort?: string;
  readOnly?: boolean;
}

function port(flag: string, text: string): number {
  const n = parseNumberOption(flag, text, { min: 0, integer: true });
  if (n > 65535) throw new UsageError(`${flag} expects a port number 0-65535, got ${text}`);
  return n;
}

export function registerNs(program: Command): void {
  program
    .command('ns')
    .description("Run a name server for remote objects, wire-compatible with Pyro4's (python3 -m Pyro4.naming)")
    .option('-n, --host <host>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('-p, --port <port>', 'TCP port (0: any free port)', '9090')
    .option('-s, --storage <spec>', "where registrations live: 'memory', or 'sqlite:PATH' (kept across restarts; Pyro4's sql: layout)", 'memory')
    .option('--broadcast', 'answer UDP discovery requests (Pyro4.locateNS() without a host)')
    .option('--bchost <host>', 'address of the broadcast responder (default: every interface; 127.0.0.1 for a loopback --host)')
    .option('--bcport <port>', 'UDP port of the broadcast responder', '9091')
    .option('--secret <key>', "Pyro4's HMAC key: every client must use it (default: $PYRO_HMAC_KEY)")
    .option('--write-secret <key>', 'refuse writes on --port; serve them on --write-port to clients using this HMAC key (default: $CELERIAC_NS_WRITE_SECRET)')
    .option('--write-port <port>', 'TCP port for writers (with --write-secret; default: any free port)')
    .option('--read-only', 'refuse every remote register, remove and set_metadata')
    .action(async (flags: NsFlags) => {
      const tcpPort = port('--port', flags.port);
      const bcPort = port('--bcport', flags.bcport);
      const writePort = flags.writePort === undefined ? undefined : port('--write-port', flags.writePort);
      const secret = flags.secret ?? process.env['PYRO_HMAC_KEY'];
      const writeSecret = flags.writeSecret ?? process.env['CELERIAC_NS_WRITE_SECRET'];
      if (secret === '') throw new UsageError('--secret must not be empty');
      if (writeSecret === '') throw new UsageError('--write-secret must not be empty');
      if (flags.readOnly && writeSecret !== undefined) throw new UsageError('--read-only takes no --write-secret: a read-only name server has no writers');
      if (writePort !== undefined && writeSecret === undefined) throw new UsageError('--write-port needs --write-secret (the HMAC key of the writers)');
      if ((flags.bchost !== undefined || flags.bcport !== '9091') && !flags.broadcast) throw new UsageError('--bchost and --bcport need --broadcast');
      let storage: NameStorage;
      try {
        storage = openNameStorage(flags.storage);
      } catch (err) {
        throw new UsageError(`--storage ${flags.storage}: ${(err as Error).message}`);
      }
      let stop: () => void = () => undefined;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const ns = await startNameServer({
          host: flags.host,
          port: tcpPort,
          storage,
          ...(secret !== undefined ? { secret } : {}),
          ...(writeSecret !== undefined ? { writeSecret } : {}),
          ...(writePort !== undefined ? { writePort } : {}),
          ...(flags.readOnly ? { readOnly: true } : {}),
          ...(flags.broadcast ? { broadcast: { port: bcPort, ...(flags.bchost !== undefined ? { host: flags.bchost } : {}) } } : {}),
          onError: (err, info) => process.stderr.write(`celeriac ns: ${info.peer}: ${err.message}\n`),
        }).catch((err: unknown) => {
          storage.close();
          const code = (err as { code?: string }).code;
          if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES' || code === 'ENOTFOUND') {
            throw new UsageError(`cannot listen on ${flags.host} (${code}): ${(err as Error).message}; choose another --port, --write-port, --bcport or --host`);
          }
          if (err instanceof CeleriacError) throw new UsageError(err.message);
          throw err;
        });
        const out = (line: string): boolean => process.stdout.write(`${line}\n`);
        if (ns.broadcast) out(`Broadcast server running on ${ns.broadcast.host}:${ns.broadcast.port}`);
        const existing = ns.registry.count() - (flags.readOnly ? 0 : 1);
        if (existing > 0) out(`Persistent store contains ${existing} existing registrations.`);
        out(`NS running on ${ns.uri.slice(ns.uri.indexOf('@') + 1)} (storage ${flags.storage}${flags.readOnly ? ', read-only' : writeSecret !== undefined ? ', write-protected' : ''})`);
        if (secret === undefined) out('Warning: HMAC key not set. Anyone can connect to this server!');
        if (ns.writeUri) out(`write URI = ${ns.writeUri}`);
        out(`URI = ${ns.uri}`);
        await stopped;
        await ns.close();
        out('NS shut down.');
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
