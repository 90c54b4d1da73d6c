// `celeriac amqp`, Celery's admin shell, on every broker: one-shot commands on SQLite (each a process of its
// own, the state kept by the broker), and the same piped session on memory, Redis and RabbitMQ.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliWithInput } from '../helpers/cli-input.js';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { runCli, type Run } from '../helpers/processes.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

let dir: TempDir;
let sqlite: string;
let vhost: Vhost;
const prefix = `celeriac-amqp-cli-${randomUUID()}:`;

beforeAll(async () => {
  dir = tempDir('celeriac-amqp-cli-');
  sqlite = `sqlite://${dir.file('broker.db')}`;
  vhost = await createVhost();
}, 120_000);

afterAll(async () => {
  dir.remove();
  await deleteKeys(prefix);
  await vhost.remove();
}, 120_000);

/** The body of the message a basic.get printed. */
const body = (run: Run): unknown => (JSON.parse(run.stdout.slice(0, run.stdout.lastIndexOf('ok.'))) as { body: unknown }).body;

describe('celeriac amqp: one-shot commands (SQLite)', () => {
  const amqp = (...args: string[]): Promise<Run> => runCli(['amqp', '-b', sqlite, ...args], {});

  it('declares, binds, publishes, gets (handed back unless no_ack), deletes an exchange, purges', async () => {
    expect((await amqp('queue.declare', 'q1', 'no', 'yes')).stdout).toBe('queue:q1 messages:0 unacked:0\nok.\n');
    expect((await amqp('exchange.declare', 'ex1', 'direct', 'no', 'yes')).stdout).toBe('ok.\n');
    expect((await amqp('queue.bind', 'q1', 'ex1', 'k1')).code).toBe(0);
    expect((await amqp('basic.publish', '{"n": 1}', 'ex1', 'k1')).code).toBe(0);
    expect((await amqp('basic.publish', 'plain text', '', 'q1')).code).toBe(0);
    expect((await amqp('queue.declare', 'q1', 'yes')).stdout).toMatch(/^queue:q1 messages:2 unacked:0$/m);

    const peek = await amqp('basic.get', 'q1');
    expect(peek.code).toBe(0);
    const shown = JSON.parse(peek.stdout.slice(0, peek.stdout.lastIndexOf('ok.'))) as Record<string, Record<string, unknown>>;
    expect(shown).toMatchObject({ body: '{"n": 1}', properties: { content_type: 'application/json' }, delivery_info: { delivery_tag: 1, exchange: 'ex1', routing_key: 'k1', queue: 'q1' } });
    expect(peek.stderr).toMatch(/goes back to the queue/);
    expect((await amqp('queue.declare', 'q1', 'yes')).stdout).toMatch(/messages:2 /);

    expect(body(await amqp('basic.get', 'q1', 'yes'))).toBe('{"n": 1}');
    expect((await amqp('queue.declare', 'q1', 'yes')).stdout).toMatch(/messages:1 /);

    expect((await amqp('exchange.delete', 'ex1')).stdout).toBe('ok.\n');
    const gone = await amqp('basic.publish', 'x', 'ex1', 'k1');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^ERROR: exchange 'ex1' is not declared/);

    expect((await amqp('queue.delete', 'q1', 'no', 'yes')).code).toBe(2); // if_empty, and it is not
    expect((await amqp('queue.purge', 'q1')).stdout).toBe('1 messages deleted.\nok.\n');
    expect((await amqp('queue.delete', 'q1', 'no', 'yes')).stdout).toBe('0 messages deleted.\nok.\n');
    expect((await amqp('basic.get', 'q1')).stdout).toBe('No messages in queue. basic.publish something.\nok.\n');
  });

  it('bad arguments exit 2 with a message; --help lists the commands with examples', async () => {
    for (const [args, message] of [
      [['frob'], /no command 'frob'/],
      [['queue.bind', 'q1'], /usage: queue.bind QUEUE EXCHANGE/],
      [['exchange.declare', 'e', 'headers'], /direct, topic or fanout/],
      [['queue.declare', 'q', 'maybe'], /passive expects yes or no/],
      [['basic.ack', '3'], /no unacked delivery 3/],
      [['exchange.delete', ''], /cannot be empty/],
    ] as const) {
      const run = await amqp(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(message);
    }
    const both = await runCli(['amqp', '-b', sqlite, '-A', 'x.ts', 'queue.declare', 'q'], {});
    expect(both.code).toBe(2);
    const help = await runCli(['amqp', '--help'], {});
    expect(help.stdout).toMatch(/basic\.get QUEUE \[no_ack\]/);
    expect(help.stdout).toMatch(/Examples:\n\s+\$ celeriac amqp/);
  });
});

const SESSION = (ex: string, q: string): string => `
exchange.declare ${ex} topic
queue.declare ${q}
queue.bind ${q} ${ex} a.*
basic.publish '{"n": 1}' ${ex} a.one
basic.publish "two words" ${ex} a.two
basic.publish dropped ${ex} b.x no
# a comment line
queue.declare ${q} yes
basic.get ${q}
basic.get ${q}
basic.ack 1
basic.ack 7
exchange.delete ${ex}
basic.publish three ${ex} a.three
`;

describe.each([
  ['memory', () => 'memory://'],
  ['redis', () => `${REDIS_URL}?global_keyprefix=${prefix}`],
  ['amqp', () => vhost.url],
])('celeriac amqp: a piped session on %s', (kind, url) => {
  it('runs line after line, tags deliveries 1, 2..., hands back what was not acked, reports the worst error', async () => {
    const [ex, q] = [`ex-${randomUUID()}`, `q-${randomUUID()}`];
    const run = await runCliWithInput(['amqp', '-b', url()], SESSION(ex, q), {});
    expect(run.code).toBe(2); // basic.ack 7 was a usage error; the last publish a broker error (1)
    expect(run.stdout).toMatch(new RegExp(`^queue:${q} messages:2 unacked:0$`, 'm'));
    const dumps = [...run.stdout.matchAll(/^\{\n[\s\S]*?\n\}$/gm)].map((m) => JSON.parse(m[0]) as { body: string; delivery_info: { delivery_tag: number } });
    expect(dumps.map((d) => [d.delivery_info.delivery_tag, d.body])).toEqual([[1, '{"n": 1}'], [2, 'two words']]);
    expect(run.stderr).toMatch(/^ERROR: no unacked delivery 7 in this shell \(unacked: 2\)$/m);
    expect(run.stderr.match(/^ERROR: /gm)).toHaveLength(2);
    expect(run.stderr).toMatch(/1 unacked message goes back to the queue/);
    if (kind === 'memory') return; // a new process has a new memory broker
    const again = await runCli(['amqp', '-b', url(), 'basic.get', q, 'yes'], {});
    expect(body(again)).toBe('two words');
    expect(again.stdout).toMatch(/"redelivered": true/);
    // `list queues`: RabbitMQ counts a queue's consumers (none now); Redis does not record them, so no column.
    const listed = await runCli(['list', 'queues'], { CELERIAC_BROKER_URL: url() });
    expect(listed.code).toBe(0);
    if (kind === 'amqp') {
      expect(listed.stdout).toMatch(/^NAME +READY +UNACKED +CONSUMERS$/m);
      expect(listed.stdout).toMatch(new RegExp(`^${q} +0 +0 +0$`, 'm'));
    } else {
      expect(listed.stdout).not.toMatch(/CONSUMERS/);
    }
    expect((await runCli(['amqp', '-b', url(), 'queue.delete', q], {})).stdout).toBe('0 messages deleted.\nok.\n');
  });
});
