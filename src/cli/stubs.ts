/**
 * `celeriac stubs game.proto -o game-stubs.ts`: TypeScript stubs of protobuf services (message interfaces, a
 * typed client factory, a server skeleton) whose calls travel protobuf-encoded over celeriac's direct RPC.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { generateStubs, loadProtoRoot, type LongsAs } from '../index.js';
import { UsageError } from './usage.js';

interface StubsFlags {
  service?: string[];
  out?: string;
  longs: string;
  keepCase?: boolean;
  protoPath?: string[];
  importFrom: string;
  skipStreaming?: boolean;
}

/** The command as a user would type it again (for the generated file's header). */
function commandLine(files: string[], flags: StubsFlags): string {
  const words = ['celeriac stubs', ...files];
  for (const s of flags.service ?? []) words.push('--service', s);
  for (const p of flags.protoPath ?? []) words.push('-I', p);
  if (flags.longs !== 'string') words.push('--longs', flags.longs);
  if (flags.keepCase) words.push('--keep-case');
  if (flags.skipStreaming) words.push('--skip-streaming');
  if (flags.importFrom !== 'celeriac') words.push('--import-from', flags.importFrom);
  if (flags.out !== undefined) words.push('-o', flags.out);
  return words.join(' ');
}

export function registerStubs(program: Command): void {
  program
    .command('stubs')
    .description('Generate TypeScript stubs of protobuf services: message types, a typed client, a server skeleton (calls travel over tcp:// or tls://)')
    .argument('<proto...>', '.proto files')
    .option('-s, --service <name...>', 'the services to emit (game.GameService or GameService); default: every service')
    .option('-o, --out <file>', 'write the stubs to this file (default: standard output)')
    .option('--longs <string|number>', '64-bit integers as decimal strings (exact) or numbers (exact up to 2^53)', 'string')
    .option('--keep-case', 'keep field names as written in the .proto (default: lowerCamelCase, as protobufjs and proto3 JSON)')
    .option('-I, --proto-path <dir...>', 'directories searched for imported .proto files')
    .option('--import-from <module>', 'the module the stubs import celeriac from', 'celeriac')
    .option('--skip-streaming', 'leave streaming methods out (default: refuse them; celeriac calls are unary)')
    .addHelpText('after', `
Examples:
  celeriac stubs game.proto -o src/game-stubs.ts
  celeriac stubs protos/lobby.proto -I protos --service game.GameService --longs number -o lobby.ts

The stubs export the messages as interfaces, and per service: <Service> (to implement), <Service>Base (an abstract
class), <Service>Client, create<Service>Client(url) and create<Service>Server(url, implementation).`)
    .action((files: string[], flags: StubsFlags) => {
      if (flags.longs !== 'string' && flags.longs !== 'number') throw new UsageError(`--longs expects 'string' or 'number'; got ${JSON.stringify(flags.longs)}`);
      const longs: LongsAs = flags.longs;
      const root = loadProtoRoot(files, { keepCase: flags.keepCase ?? false, includeDirs: flags.protoPath ?? [] });
      const source = generateStubs(root, {
        ...(flags.service ? { services: flags.service } : {}),
        importFrom: flags.importFrom,
        longs,
        skipStreaming: flags.skipStreaming ?? false,
        files,
        command: commandLine(files, flags),
      });
      if (flags.out === undefined) {
        process.stdout.write(source);
        return;
      }
      mkdirSync(dirname(flags.out), { recursive: true });
      writeFileSync(flags.out, source);
      const services = [...source.matchAll(/celeriac\.loadProtoService\(protoDescriptor\(\), '([^']+)'/g)].map((m) => m[1]);
      process.stdout.write(`wrote ${flags.out}${services.length > 0 ? ` (${services.join(', ')})` : ' (messages only: no service)'}\n`);
    });
}
