// Message signing (taskSerializer 'auth', Celery's auth serializer) between celeriac apps on memory://: signed
// tasks and control messages go through; unsigned, tampered, untrusted and forged ones are dead-lettered with
// the reason and never run; the HMAC mode; clear errors for missing settings.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Celeriac, ConfigError, createLogger, SecurityError, Worker, type Transport } from '../../src/index.js';
import { jsonCodec } from '../../src/protocol/codecs.js';
import { buildTaskMessage } from '../../src/protocol/task-message.js';
import { buildPidboxRequest } from '../../src/protocol/pidbox.js';
import { packSigned, rsaSigner, unpackSigned } from '../../src/protocol/signing.js';
import { makeSigningPki } from '../helpers/signing-certs.js';
import { tempDir, until } from '../helpers/temp.js';

const dir = tempDir('celeriac-signing-');
const pki = makeSigningPki(dir.path);
const silent = createLogger({ level: 'silent' });
afterAll(() => dir.remove());

const rsa = { taskSerializer: 'auth' as const, securityKey: pki.files.key, securityCertificate: pki.files.cert, securityCertStore: pki.store };

describe('message signing', () => {
  let app: Celeriac | undefined;
  let worker: Worker | undefined;
  afterEach(async () => {
    await worker?.stop();
    await app?.close();
    worker = undefined;
    app = undefined;
  });

  async function signedWorker(options: Record<string, unknown> = rsa): Promise<{ app: Celeriac; worker: Worker; transport: Transport; ran: number[] }> {
    const ran: number[] = [];
    app = new Celeriac('signed', { broker: 'memory://', backend: 'memory://', logLevel: 'silent', ...options });
    app.task('tasks.record', (n: number) => {
      ran.push(n);
      return n * 2;
    });
    worker = await new Worker(app, { queues: ['celery'], hostname: 'signed@test', logger: silent, heartbeat: false, gossip: false }).start();
    return { app, worker, transport: await app.connection(), ran };
  }

  const plain = (n: number): ReturnType<typeof buildTaskMessage> => buildTaskMessage({ id: `plain-${n}`, name: 'tasks.record', args: [n], now: Date.now(), origin: 'test' }, jsonCodec);

  it('runs signed tasks; refuses unsigned, tampered, untrusted and forged ones with the reason', async () => {
    const { app, transport, ran } = await signedWorker();
    const r = await app.sendTask<number>('tasks.record', [21]);
    expect(await r.get({ timeout: 10_000 })).toBe(42);

    // Unsigned (plain JSON).
    await transport.publish(plain(1), { exchange: '', routingKey: 'celery' });
    // Tampered: a signed message whose payload was changed after signing.
    const signed = app.producer.prepare('tasks.record', [2], {}, {}).message;
    expect(signed.contentType).toBe('application/data');
    const fields = unpackSigned(signed.body, () => 256);
    const tampered = { ...signed, body: packSigned({ ...fields, payload: Buffer.from(fields.payload.toString().replace('[2]', '[666]')) }) };
    await transport.publish(tampered, { exchange: '', routingKey: 'celery' });
    // Untrusted: signed with a key whose certificate is not in the store.
    const rogue = rsaSigner(pki.rogueKey, pki.rogueCert);
    const payload = jsonCodec.encode([[3], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
    const untrusted = { ...plain(3), contentType: 'application/data', body: packSigned({ signer: rogue.id, signature: rogue.sign(payload), contentType: 'application/json', contentEncoding: 'utf-8', payload }) };
    await transport.publish(untrusted, { exchange: '', routingKey: 'celery' });
    // Forged: claims the trusted signer's id, signed with the rogue key.
    const trustedId = rsaSigner(pki.key, pki.cert).id;
    const forged = { ...plain(4), contentType: 'application/data', body: packSigned({ signer: trustedId, signature: rogue.sign(payload), contentType: 'application/json', contentEncoding: 'utf-8', payload }) };
    await transport.publish(forged, { exchange: '', routingKey: 'celery' });

    await until(async () => (await transport.deadLetters()).length === 4, 10_000);
    const reasons = (await transport.deadLetters()).map((d) => d.reason).reverse();
    expect(reasons[0]).toMatch(/unsigned message .*refused/);
    expect(reasons[1]).toMatch(/bad signature/);
    expect(reasons[2]).toMatch(/untrusted certificate/);
    expect(reasons[3]).toMatch(/bad signature/);
    expect(ran).toEqual([21]);
  });

  it('signs control messages: a signed ping is answered, an unsigned one dead-lettered unanswered', async () => {
    const { app, transport } = await signedWorker();
    expect(await app.control.ping({ destination: ['signed@test'], timeout: 5_000 })).toEqual([{ 'signed@test': { ok: 'pong' } }]);
    const unsigned = buildPidboxRequest({ method: 'shutdown', arguments: {}, destination: null, pattern: null, matcher: null }, { clock: 1, expires: 0 });
    await transport.publish(unsigned, { exchange: 'celery.pidbox', routingKey: '' });
    await until(async () => (await transport.deadLetters()).length === 1, 10_000);
    expect((await transport.deadLetters())[0]?.reason).toMatch(/malformed control message: unsigned message/);
    expect(worker?.status).toBe('running');
  });

  it('HMAC mode: apps sharing the secret talk; another secret is refused', async () => {
    const { app, transport, ran } = await signedWorker({ taskSerializer: 'auth', securityHmacKey: 'a long shared secret' });
    expect(await (await app.sendTask<number>('tasks.record', [5])).get({ timeout: 10_000 })).toBe(10);
    const other = new Celeriac('other', { broker: 'memory://', backend: 'memory://', taskSerializer: 'auth', securityHmacKey: 'another secret' });
    const wrong = other.producer.prepare('tasks.record', [6], {}, {}).message;
    await other.close();
    await transport.publish(wrong, { exchange: '', routingKey: 'celery' });
    await until(async () => (await transport.deadLetters()).length === 1, 10_000);
    expect((await transport.deadLetters())[0]?.reason).toMatch(/bad HMAC signature/);
    expect(ran).toEqual([5]);
  });

  it('says what to set when settings are missing or wrong', () => {
    expect(() => new Celeriac('x', { broker: 'memory://', taskSerializer: 'auth' })).toThrow(/securityKey, securityCertificate and securityCertStore/);
    expect(() => new Celeriac('x', { broker: 'memory://', ...rsa, securityKey: pki.files.peerKey })).toThrow(SecurityError);
    expect(() => new Celeriac('x', { broker: 'memory://', ...rsa, securityCertStore: dir.file('nothing-here') })).toThrow(ConfigError);
  });
});
