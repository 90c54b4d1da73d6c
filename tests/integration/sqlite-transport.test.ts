/**
 * sqlite:// across processes: several processes claiming from one file, a consumer killed with SIGKILL,
 * a consumer frozen past its visibility timeout, a graceful hand-back, and waking on another process's
 * publish. The peers are `helpers/sqlite-peer.ts`, run with `node --import tsx`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createTransport } from '../../src/transport/sqlite/index.js';
import type { Delivery, Transport, TransportOptions } from '../../src/transport/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const peerScript = join(here, 'helpers/sqlite-peer.ts');

interface PeerEvent {
  event: string;
  body?: string;
  redelivered?: boolean;
  at?: number;
  message?: string;
}

/** A child process speaking JSON lines. */
class Peer {
  readonly events: PeerEvent[] = [];
  readonly exited: Promise<number | null>;
  private stderr = '';
  private readonly proc: ChildProcess;
  private notify: (() => void) | undefined;

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', peerScript, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    this.proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) this.events.push(JSON.parse(line) as PeerEvent);
      }
      this.notify?.();
    });
    this.proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((done) => this.proc.on('exit', (code) => done(code)));
  }

  get pid(): number {
    return this.proc.pid as number;
  }

  messages(): PeerEvent[] {
    return this.events.filter((e) => e.event === 'msg');
  }

  /** Waits until `count` events named `name` arrived. */
  async waitFor(name: string, count = 1, timeout = 15_000): Promise<PeerEvent[]> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const got = this.events.filter((e) => e.event === name);
      if (got.length >= count) return got;
      const errors = this.events.filter((e) => e.event === 'error');
      if (errors.length) throw new Error(`peer reported: ${errors.map((e) => e.message).join('; ')}`);
      if (Date.now() > deadline) throw new Error(`peer sent ${got.length}/${count} '${name}' events in ${timeout} ms; stderr: ${this.stderr}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.notify = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
  }
}

/** A consumer in this process that records deliveries and their arrival times. */
function collect(transport: Transport, queue: string, prefetch: number, ack: boolean) {
  const got: { d: Delivery; at: number }[] = [];
  const consumer = transport.createConsumer({
    prefetch,
    onMessage: (d) => {
      got.push({ d, at: Date.now() });
      if (ack) void d.ack();
    },
  });
  const waitFor = async (count: number, timeout = 10_000): Promise<void> => {
    const deadline = Date.now() + timeout;
    while (got.length < count) {
      if (Date.now() > deadline) throw new Error(`got ${got.length}/${count} deliveries in ${timeout} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { got, consumer, waitFor, start: () => consumer.consume(queue) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('sqlite:// across processes', () => {
  const peers: Peer[] = [];
  const transports: Transport[] = [];
  const files: string[] = [];

  function setup(options: TransportOptions = {}): { db: string; queue: string; transport: Transport } {
    const db = join(tmpdir(), `celeriac-xproc-${randomUUID()}.db`);
    files.push(db);
    const transport = createTransport(`sqlite://${db}`, options);
    transports.push(transport);
    return { db, queue: `xq-${randomUUID().slice(0, 8)}`, transport };
  }

  function peer(...args: string[]): Peer {
    const p = new Peer(args);
    peers.push(p);
    return p;
  }

  const body = (s: string) => ({ body: Buffer.from(s), contentType: 'text/plain', contentEncoding: 'utf-8', headers: {}, properties: {} });

  afterEach(async () => {
    for (const p of peers.splice(0)) {
      p.kill('SIGKILL');
      await p.exited;
    }
    for (const t of transports.splice(0)) await t.close();
    for (const f of files.splice(0)) for (const s of ['', '-wal', '-shm']) rmSync(f + s, { force: true });
  });

  it('two processes claiming from one file never get the same message', async () => {
    const { db, queue, transport } = setup();
    await transport.declareQueue({ name: queue, durable: true });
    const a = peer('consume', db, queue, '10', 'ack');
    const b = peer('consume', db, queue, '10', 'ack');
    await Promise.all([a.waitFor('ready'), b.waitFor('ready')]);
    const total = 400;
    for (let i = 0; i < total; i += 20) {
      await transport.publishMany(Array.from({ length: 20 }, (_, j) => ({ exchange: '', routingKey: queue, message: body(String(i + j)) })));
      await sleep(5);
    }
    const deadline = Date.now() + 20_000;
    while (a.messages().length + b.messages().length < total && Date.now() < deadline) await sleep(25);
    await sleep(300);
    const seen = [...a.messages(), ...b.messages()].map((e) => e.body);
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    expect(await transport.queueInfo(queue)).toEqual({ name: queue, messages: 0, unacked: 0 });
  });

  it('messages held by a SIGKILLed consumer are redelivered promptly (dead pid reaped)', async () => {
    const { db, queue, transport } = setup({ pollInterval: 200 });
    const child = peer('consume', db, queue, '5', 'hold');
    await child.waitFor('ready');
    for (let i = 0; i < 5; i++) await transport.publish(body(`k${i}`), { exchange: '', routingKey: queue });
    await child.waitFor('msg', 5);
    const local = collect(transport, queue, 10, true);
    await local.start();
    await sleep(300);
    expect(local.got).toHaveLength(0); // held by a live process: invisible here
    child.kill('SIGKILL');
    await child.exited;
    const killedAt = Date.now();
    await local.waitFor(5);
    const took = Date.now() - killedAt;
    expect(local.got.map((g) => g.d.message.body.toString()).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    expect(local.got.every((g) => g.d.redelivered)).toBe(true);
    // The reaper runs at most once a second on a claim; the default visibility timeout is an hour.
    expect(took).toBeLessThan(5000);
  });

  it('messages of a frozen consumer come back after its visibility timeout', async () => {
    const { db, queue, transport } = setup({ pollInterval: 100 });
    const child = peer('consume', db, queue, '3', 'hold', '1000');
    await child.waitFor('ready');
    for (let i = 0; i < 3; i++) await transport.publish(body(`v${i}`), { exchange: '', routingKey: queue });
    await child.waitFor('msg', 3);
    const local = collect(transport, queue, 10, true);
    await local.start();
    await sleep(1500); // past one visibility timeout: the live child's keep-alive holds them
    expect(local.got).toHaveLength(0);
    child.kill('SIGSTOP'); // alive (so not reaped) but silent: only the timeout can free its messages
    await local.waitFor(3, 10_000);
    expect(local.got.map((g) => g.d.message.body.toString()).sort()).toEqual(['v0', 'v1', 'v2']);
    expect(local.got.every((g) => g.d.redelivered)).toBe(true);
  });

  it('a graceful close in another process hands its messages back at once', async () => {
    const { db, queue, transport } = setup({ pollInterval: 60_000 });
    const child = peer('consume', db, queue, '3', 'hold');
    await child.waitFor('ready');
    for (let i = 0; i < 3; i++) await transport.publish(body(`g${i}`), { exchange: '', routingKey: queue });
    await child.waitFor('msg', 3);
    const local = collect(transport, queue, 10, true);
    await local.start();
    child.kill('SIGTERM');
    const [closed] = (await child.waitFor('closed')) as [PeerEvent];
    const closedAt = Date.now();
    await local.waitFor(3, 5000);
    expect(local.got.every((g) => g.d.redelivered)).toBe(true);
    // No poll for a minute: only the file watch can have woken this consumer.
    expect(Math.max(...local.got.map((g) => g.at)) - closedAt).toBeLessThan(1000);
    expect(closed.event).toBe('closed');
  });

  it("an idle consumer wakes within milliseconds of another process's publish", async () => {
    const { db, queue, transport } = setup({ pollInterval: 60_000 });
    await transport.declareQueue({ name: queue, durable: true });
    const local = collect(transport, queue, 10, true);
    await local.start();
    const publisher = peer('publish', db, queue, '5', '100');
    await local.waitFor(5, 15_000);
    await publisher.waitFor('done');
    const latencies = local.got.map((g) => g.at - (JSON.parse(g.d.message.body.toString()) as { sentAt: number }).sentAt);
    expect(Math.max(...latencies), `latencies ${latencies.join(', ')} ms`).toBeLessThan(500);
  });
});
