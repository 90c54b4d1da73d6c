// sqlite:// message TTL on a broker file made before the expires_at column existed: opened, migrated, nothing lost.
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createTransport } from '../../src/transport/sqlite/index.js';
import type { Delivery } from '../../src/transport/types.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';

describe('sqlite:// message TTL on an older broker file', () => {
  let dir: TempDir;
  afterEach(() => dir.remove());

  it('adds the expires_at column, keeps stored messages deliverable and enforces TTL on new ones', async () => {
    dir = tempDir();
    const path = dir.file('old.db');
    // The schema as it was before message TTL (no expires_at), with one message already queued.
    const old = new Database(path);
    old.exec(`CREATE TABLE celeriac_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0,
      tag TEXT NOT NULL UNIQUE, envelope TEXT NOT NULL, visible_at INTEGER NOT NULL, owner TEXT, redelivered INTEGER NOT NULL DEFAULT 0)`);
    const envelope = JSON.stringify({
      body: Buffer.from('"kept"').toString('base64'), 'content-encoding': 'utf-8', 'content-type': 'application/json', headers: {},
      properties: { body_encoding: 'base64', delivery_info: { exchange: '', routing_key: 'q' }, delivery_mode: 2, delivery_tag: 'old-1', priority: 0 },
    });
    old.prepare('INSERT INTO celeriac_messages (queue, tag, envelope, visible_at) VALUES (?, ?, ?, ?)').run('q', 'old-1', envelope, Date.now());
    old.close();

    const t = createTransport(`sqlite://${path}`, {});
    await t.connect();
    await t.declareQueue({ name: 'q', durable: true });
    await t.publish({ body: Buffer.from('"gone"'), contentType: 'application/json', contentEncoding: 'utf-8', headers: {}, properties: { expiration: '100' } }, { exchange: '', routingKey: 'q' });
    await new Promise((r) => setTimeout(r, 500));
    const got: Delivery[] = [];
    const c = t.createConsumer({ prefetch: 10, onMessage: (d) => { got.push(d); void d.ack(); } });
    await c.consume('q');
    await until(() => got.length >= 1, 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(got.map((d) => d.message.body.toString())).toEqual(['"kept"']);
    await c.close();
    await t.close();
    const after = new Database(path);
    const cols = (after.prepare('PRAGMA table_info(celeriac_messages)').all() as { name: string }[]).map((r) => r.name);
    after.close();
    expect(cols).toContain('expires_at');
  });
});
