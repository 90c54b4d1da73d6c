/**
 * `celeriac stubs` as users run it (the built CLI): stubs of every field kind generated into a temp directory
 * compile under the project's strict compiler options, and their types are real (a wrong field is a compile
 * error); bad input exits 2 with a message that says what to do.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const FIXTURES = `${ROOT}tests/fixtures/proto`;

/** Code that uses the generated stubs the way users do: implementing, calling, building every kind of message. */
const USE = `import { createKitchenClient, createKitchenServer, KitchenBase, type Everything, type Everything_Color, type Empty } from './kitchen-stubs.js';
import { createShopClient, type Promise_, type Nothing } from './shop-stubs.js';
import { createGameServiceClient, type ConnectServerRequest, type Region } from './game-stubs.js';
import { type Tick, ClockBase } from './clock-stubs.js';

class Kitchen extends KitchenBase {
  cook(request: Everything): Everything {
    const color: Everything_Color = request.color === 'RED' ? 'GREEN' : 'RED';
    return { ...request, color, fInt64: String(BigInt(request.fInt64) + 1n), rBytes: [...request.rBytes, new Uint8Array(1)] };
  }
  async nothing(): Promise<Empty> {
    return {};
  }
}
class Clock extends ClockBase {
  now(request: Tick): Tick {
    return { atMs: request.atMs };
  }
}

export async function use(): Promise<void> {
  const server = await createKitchenServer('tcp://127.0.0.1:0', new Kitchen()).start();
  const kitchen = createKitchenClient(server.address ?? '', { timeout: 1000 });
  const full: Everything = await kitchen.cook({
    fDouble: 1, fFloat: 2, fInt32: 3, fInt64: '4', fUint32: 5, fUint64: '6', fSint32: 7, fSint64: '8', fFixed32: 9, fFixed64: '10',
    fSfixed32: 11, fSfixed64: '12', fBool: true, fString: 's', fBytes: new Uint8Array(2), color: 'RED', inner: { name: 'i', children: [] },
    rInt32: [], rInt64: ['1'], rString: [], rBytes: [], rColor: ['GREEN'], rInner: [], mStringInt64: { a: '1' }, mInt32String: { 1: 'one' },
    mInt64Inner: {}, mBoolColor: { true: 'RED' }, cText: 'x', maybe: 1, at: { seconds: '1', nanos: 2 }, child: undefined, shared: { level: 'HIGH' },
  });
  const deep: number | undefined = full.inner?.deep?.level;
  const nothing: Empty = await kitchen.nothing({});
  await kitchen.close();
  await server.stop();
  const shop = createShopClient('tcp://127.0.0.1:1');
  const order: Promise_ = { items: [{ item: { sku: 'a', cents: 5 }, count: 1 }] };
  const none: Nothing = await shop.order(order);
  const game = createGameServiceClient('tls://127.0.0.1:1', { driver: { secret: 's' } });
  const region: Region = 'ASIA';
  const request: ConnectServerRequest = { playerName: 'p', clientVersion: '1', region, serverId: 'x' };
  const reply = await game.connectServer(request, { timeout: 10 });
  const token: string = reply.sessionToken;
  void [deep, nothing, none, token, new Clock()];
}
`;

/** Mistakes the stubs' types must catch: each line one compile error. */
const BAD = `import type { ConnectServerRequest, ListServersReply, GameServiceClient } from './game-stubs.js';
export const a: ConnectServerRequest = { playerName: 5, clientVersion: '1', region: 'EU' };
export const b: ConnectServerRequest = { playerName: 'p', clientVersion: '1', region: 'MARS' };
export const c: ConnectServerRequest = { playerName: 'p', region: 'EU' };
export const d = (r: ListServersReply): number => r.servers[0].players;
export const e = (client: GameServiceClient): Promise<unknown> => client.connect_server({ playerName: 'p', clientVersion: '1', region: 'EU' });
`;

function tsc(dir: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', `${dir}/tsconfig.json`], { cwd: dir }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe('celeriac stubs', () => {
  let dir: TempDir;
  beforeAll(() => {
    dir = tempDir('celeriac-stubs-');
    const base = JSON.parse(readFileSync(`${ROOT}tsconfig.json`, 'utf8')) as { compilerOptions: Record<string, unknown> };
    const { outDir: _o, rootDir: _r, declaration: _d, sourceMap: _s, ...strict } = base.compilerOptions;
    const compilerOptions = { ...strict, noEmit: true, noUnusedLocals: true, exactOptionalPropertyTypes: true, typeRoots: [`${ROOT}node_modules/@types`], paths: { celeriac: [`${ROOT}dist/index.d.ts`] } };
    writeFileSync(dir.file('tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }));
    writeFileSync(dir.file('package.json'), '{"type": "module"}');
  });
  afterAll(() => dir.remove());

  it('generates stubs that compile under strict options and whose types catch mistakes', async () => {
    const runs = await Promise.all([
      runCli(['stubs', `${FIXTURES}/kitchen.proto`, '-o', dir.file('kitchen-stubs.ts')], {}),
      runCli(['stubs', `${FIXTURES}/shop.proto`, '-I', `${FIXTURES}/lib`, '--longs', 'number', '-o', dir.file('shop-stubs.ts')], {}),
      runCli(['stubs', `${FIXTURES}/game.proto`, '--service', 'GameService', '-o', dir.file('game-stubs.ts')], {}),
      runCli(['stubs', `${FIXTURES}/streaming.proto`, '--skip-streaming', '-o', dir.file('clock-stubs.ts')], {}),
    ]);
    expect(runs.map((r) => [r.code, r.stderr])).toEqual(runs.map(() => [0, '']));
    expect(runs.map((r) => r.stdout.replace(dir.path, '<dir>'))).toEqual([
      'wrote <dir>/kitchen-stubs.ts (kitchen.v1.Kitchen)\n',
      'wrote <dir>/shop-stubs.ts (shop.Shop)\n',
      'wrote <dir>/game-stubs.ts (game.GameService)\n',
      'wrote <dir>/clock-stubs.ts (stream.Clock)\n',
    ]);
    expect(readFileSync(dir.file('shop-stubs.ts'), 'utf8')).toContain(`// Run \`celeriac stubs ${FIXTURES}/shop.proto -I ${FIXTURES}/lib --longs number -o ${dir.file('shop-stubs.ts')}\` again`);
    writeFileSync(dir.file('use.ts'), USE);
    writeFileSync(dir.file('bad.ts'), BAD);
    const { code, output } = await tsc(dir.path);
    expect(code).not.toBe(0);
    const errors = output.split('\n').filter((l) => /error TS/.test(l));
    expect(errors.filter((l) => !l.startsWith('bad.ts')), output).toEqual([]);
    expect(errors.map((l) => /^bad\.ts\((\d+),/.exec(l)?.[1])).toEqual(['2', '3', '4', '5', '6']);
  }, 60_000);

  it('prints to standard output without -o; bad input exits 2 and says what to do', async () => {
    const out = await runCli(['stubs', `${FIXTURES}/game.proto`], {});
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^\/\/ Generated by celeriac stubs from .*game.proto: do not edit\./);
    expect(out.stdout).toContain('export function createGameServiceClient(');
    const cases: [string[], RegExp][] = [
      [['stubs', `${FIXTURES}/nope.proto`], /cannot read .*nope.proto: no such .proto file/],
      [['stubs', `${FIXTURES}/streaming.proto`], /stream.Clock.Watch is a server streaming method: .*--skip-streaming/],
      [['stubs', `${FIXTURES}/game.proto`, '--service', 'game.Lobby'], /no service 'game.Lobby' in the schema: it defines game.GameService/],
      [['stubs', `${FIXTURES}/game.proto`, '--longs', 'bigint'], /--longs expects 'string' or 'number'; got "bigint"/],
      [['stubs', `${FIXTURES}/shop.proto`], /common.proto.*give the directories of imported files with -I/],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(args, {})));
    for (const [i, run] of runs.entries()) {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch((cases[i] as [string[], RegExp])[1]);
    }
  });
});
