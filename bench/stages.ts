/**
 * Per-stage cost of one task through celeriac's pipeline, measured in isolation (µs per operation):
 * message building, the kombu envelope, parsing, result meta, and the SQLite primitives the broker and
 * result backend run per task. Run after a build:  npx tsx bench/stages.ts
 * Use it to see where a throughput figure of bench/run.ts goes; it is not part of `npm run bench`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac } from 'celeriac';
import { decodeEnvelope, encodeEnvelope } from '../dist/protocol/envelope.js';
import { parseTaskMessage } from '../dist/protocol/task-message.js';
import { buildResultMeta, parseResultMeta } from '../dist/protocol/result-meta.js';
import { CodecRegistry } from '../dist/protocol/codecs.js';
import { SqliteStore } from '../dist/transport/sqlite/store.js';
import { createBackend as createSqliteBackend } from '../dist/backend/sqlite/index.js';
import { createBackend as createMemoryBackend } from '../dist/backend/memory/index.js';
import { uuid } from '../dist/util/ids.js';
import { States } from '../dist/protocol/states.js';

const ITER = Number(process.env['STAGES_ITER'] ?? 20_000);

/** Times `iter` calls of `fn`; each call handles `per` messages (the figure is per message). */
function stage(name: string, fn: (i: number) => unknown, iter = ITER, per = 1, warm = true): void {
  if (warm) for (let i = 0; i < Math.min(2000, iter); i++) fn(i);
  const t0 = performance.now();
  for (let i = 0; i < iter; i++) fn(i);
  const us = ((performance.now() - t0) * 1000) / (iter * per);
  console.log(`${us.toFixed(2).padStart(8)} µs  ${name}`);
}

async function stageAsync(name: string, fn: (i: number) => Promise<unknown>, iter = ITER, per = 1): Promise<void> {
  for (let i = 0; i < Math.min(2000, iter); i++) await fn(-1 - i);
  const t0 = performance.now();
  for (let i = 0; i < iter; i++) await fn(i);
  const us = ((performance.now() - t0) * 1000) / (iter * per);
  console.log(`${us.toFixed(2).padStart(8)} µs  ${name}`);
}

const app = new Celeriac('stages', { broker: 'memory://', backend: 'memory://' });
const codecs = new CodecRegistry();
const prepared = app.producer.prepare('bench.add', [1, 2], {}, {});
const info = { exchange: 'celery', routing_key: 'celery' };
const envelope = encodeEnvelope(prepared.message, info, 'tag');
const decoded = decodeEnvelope(envelope);
const meta = buildResultMeta({ taskId: prepared.id, status: States.SUCCESS, result: 3, now: Date.now() });
const metaText = JSON.stringify(meta);

console.log('--- message and result codecs (CPU only)');
stage('uuid()', () => uuid());
stage('producer.prepare (buildTaskMessage + JSON body)', (i) => app.producer.prepare('bench.add', [i, 1], {}, {}));
stage('encodeEnvelope', () => encodeEnvelope(prepared.message, info, 'tag'));
stage('decodeEnvelope', () => decodeEnvelope(envelope));
stage('parseTaskMessage', () => parseTaskMessage(decoded.message, codecs));
stage('new AbortController().signal (one per task in the worker)', () => new AbortController().signal);
stage('buildResultMeta + JSON.stringify', () => JSON.stringify(buildResultMeta({ taskId: prepared.id, status: States.SUCCESS, result: 3, now: Date.now() })));
stage('parseResultMeta', () => parseResultMeta(metaText, prepared.id));

console.log('--- result backends (storeResult = one task result write, getMeta = one read)');
const mem = createMemoryBackend('memory://', { resultExpires: 86_400 });
await mem.connect();
await stageAsync('memory storeResult', (i) => mem.storeResult({ ...meta, task_id: `m${i}` }));
await stageAsync('memory getMeta', (i) => mem.getMeta(`m${i}`));

const dir = mkdtempSync(join(tmpdir(), 'celeriac-stages-'));
try {
  const url = `sqlite://${join(dir, 's.db')}`;
  const sb = createSqliteBackend(url, { resultExpires: 86_400 });
  await sb.connect();
  await stageAsync('sqlite storeResult, one at a time (one transaction each)', (i) => sb.storeResult({ ...meta, task_id: `s${i}` }));
  await stageAsync('sqlite storeResult, 100 in one tick (per result)', (i) => Promise.all(Array.from({ length: 100 }, (_, j) => sb.storeResult({ ...meta, task_id: `b${i}-${j}` }))), ITER / 100, 100);
  await stageAsync('sqlite getMeta', (i) => sb.getMeta(`s${i}`));

  console.log('--- sqlite broker primitives (one message each unless said)');
  const store = new SqliteStore(join(dir, 's.db'), { busyTimeout: 10_000 });
  store.open();
  const owner = uuid();
  const far = Date.now() + 3_600_000;
  let n = 0;
  const item = (): { queue: string; priority: number; tag: string; envelope: string } => ({ queue: 'q', priority: 0, tag: `t${n++}`, envelope });
  // No warm-up rounds here: each phase consumes what the previous one made.
  stage('put 1 (autocommit INSERT)', () => store.put([item()]), ITER, 1, false);
  stage('claim 1 (read candidates, then a write transaction)', () => store.claim(['q'], 1, owner, far), ITER, 1, false);
  stage('claim on an empty queue', () => store.claim(['q'], 1, owner, far), 2000, 1, false);
  stage('put batch of 100', () => store.put(Array.from({ length: 100 }, item)), ITER / 100, 100, false);
  stage('claim batch of 100', () => store.claim(['q'], 100, owner, far), ITER / 100, 100, false);
  let k = 0;
  stage('ack 1 (autocommit DELETE)', () => store.ack([`t${k++}`], owner), ITER, 1, false);
  stage('ack batch of 100', () => store.ack(Array.from({ length: 100 }, () => `t${k++}`), owner), ITER / 100, 100, false);
  store.close();
  await sb.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
await app.close();
