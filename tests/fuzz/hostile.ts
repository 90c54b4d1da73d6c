// Hostile task messages, generated with fast-check: each case is good (a well-formed call of `fuzz.ok`, which
// must run) or bad (malformed or hostile in one way, which must be dead-lettered with a reason, never run).
// Sampled from a seed, so a failing run is reproduced by its seed (printed by the harness).
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { buildTaskMessage, type TaskMessageInput } from '../../src/protocol/task-message.js';
import { jsonCodec, msgpackCodec } from '../../src/protocol/codecs.js';
import type { RawMessage } from '../../src/protocol/message.js';

export const GOOD_TASK = 'fuzz.ok';
export const UNKNOWN_TASK = 'fuzz.nobody-registers-this';
/** The receiving app's maxMessageSize in these tests (small, so huge cases stay cheap to publish). */
export const FUZZ_MAX_SIZE = 32 * 1024;

export interface Case {
  good: boolean;
  label: string;
  /** The message, published through a transport with no size limit. */
  message?: RawMessage;
  /** Or a raw stored envelope (Redis, SQLite only), written under the transport's feet. */
  envelope?: string;
  /** Good cases: the number the task returns. */
  n?: number;
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const EMBED = { callbacks: null, errbacks: null, chain: null, chord: null };

function message(body: Buffer, headers: Record<string, unknown>, contentType = 'application/json', properties: RawMessage['properties'] = {}): RawMessage {
  return { body, contentType, contentEncoding: 'utf-8', headers, properties: { delivery_mode: 2, ...properties } };
}

function v2Headers(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { lang: 'py', task: GOOD_TASK, id, root_id: id, parent_id: null, group: null, retries: 0, eta: null, expires: null, timelimit: [null, null], argsrepr: '(1,)', kwargsrepr: '{}', origin: 'fuzz', ...extra };
}

/** `depth` lists inside one another (or objects, when `objects`). */
function nested(depth: number, objects: boolean): string {
  return objects ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth);
}

let bombs: Buffer[] | undefined;
/** Small compressed bodies that inflate past the limit (to 64 MiB for the largest): made once. */
function zipBombs(): Buffer[] {
  bombs ??= [FUZZ_MAX_SIZE + 1, 1 << 20, 64 << 20].map((size) => deflateSync(Buffer.alloc(size, 0x20), { level: 9 }));
  return bombs;
}

const smallJson = fc.jsonValue({ maxDepth: 3 });
const odd = fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }));

/** A good call: what varies is everything a sender may legitimately vary (and odd optional headers, tolerated). */
function goodCase(n: number, id: string): fc.Arbitrary<Case> {
  return fc
    .record({
      codec: fc.constantFrom(jsonCodec, msgpackCodec),
      extraArgs: fc.array(smallJson, { maxLength: 3 }),
      kwargs: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== 'n'), smallJson, { maxKeys: 3 }),
      oddHeaders: fc.record({ retries: odd, group_index: odd, timelimit: fc.oneof(odd, fc.tuple(fc.integer({ min: -5, max: 0 }), fc.constant(null))), shadow: odd, root_id: odd, parent_id: odd }, { requiredKeys: [] }),
      userHeaders: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).map((k) => `x-${k}`), smallJson, { maxKeys: 3 }),
      proto: fc.boolean(),
      compress: fc.boolean(),
      priority: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }),
      pastEta: fc.boolean(),
    })
    .map(({ codec, extraArgs, kwargs, oddHeaders, userHeaders, proto, compress, priority, pastEta }) => {
      const input: TaskMessageInput = { id, name: GOOD_TASK, args: [n, ...extraArgs], kwargs, now: Date.now(), origin: 'fuzz', headers: { ...userHeaders, ...oddHeaders } };
      if (pastEta) input.eta = new Date(Date.now() - 60_000);
      if (priority !== undefined) input.priority = priority;
      const msg = buildTaskMessage(input, codec);
      if (proto && codec === jsonCodec) {
        // A kwargs key named __proto__ (JSON.parse makes it an own key): must not pollute any prototype.
        const [a, k, e] = JSON.parse(msg.body.toString()) as [unknown, Record<string, unknown>, unknown];
        const rest = JSON.stringify(k).slice(1);
        msg.body = Buffer.from(`[${JSON.stringify(a)},{"__proto__":{"polluted":true}${rest === '}' ? '' : ','}${rest},${JSON.stringify(e)}]`);
      }
      if (compress) {
        msg.body = deflateSync(msg.body);
        msg.headers['compression'] = 'application/x-gzip';
      }
      return { good: true, label: 'good', message: msg, n };
    });
}

/** One bad case, labelled with the kind of hostility. */
function badCase(id: string): fc.Arbitrary<Case> {
  const h = v2Headers(id);
  const bad = (label: string, msg: RawMessage): Case => ({ good: false, label, message: msg });
  return fc.oneof(
    // Bad JSON: random bytes after a start no JSON has ({' ), or a valid body cut short.
    fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => bad('bad-json', message(Buffer.concat([Buffer.from("[{'"), Buffer.from(b)]), h))),
    fc.integer({ min: 1, max: 30 }).map((cut) => bad('truncated-json', message(json([[1], {}, EMBED]).subarray(0, cut), h))),
    // Wrong types.
    odd.filter((v) => !Array.isArray(v)).map((v) => bad('body-not-list', message(json(v), h))),
    fc.tuple(odd.filter((v) => !Array.isArray(v)), odd).map(([a, k]) => bad('args-not-list', message(json([a, k, EMBED]), h))),
    fc.oneof(fc.integer(), fc.string(), fc.array(fc.integer())).map((k) => bad('kwargs-not-mapping', message(json([[1], k, EMBED]), h))),
    fc.oneof(fc.constant(undefined), fc.integer(), fc.constant(''), fc.array(fc.string())).map((v) => {
      const { id: _id, ...rest } = h;
      return bad('bad-id', message(json([[1], {}, EMBED]), v === undefined ? rest : { ...rest, id: v }));
    }),
    fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string())).map((v) => bad('task-not-string', message(json([[1], {}, EMBED]), { ...h, task: v }))),
    fc.constantFrom<unknown>(12, 'soon', 'not-a-date', '2026-02-30T25:61:00', {}, [2026]).map((v) => bad('bad-eta', message(json([[1], {}, EMBED]), { ...h, eta: v }))),
    fc.constantFrom('tomorrow', '2026-13-45T99:00:00', 17).map((v) => bad('bad-expires', message(json([[1], {}, EMBED]), { ...h, expires: v }))),
    // Huge payloads (over the receiver's limit).
    fc.integer({ min: FUZZ_MAX_SIZE + 1, max: FUZZ_MAX_SIZE * 2 }).map((size) => bad('huge', message(json([['x'.repeat(size)], {}, EMBED]), h))),
    // Deep nesting, in args or kwargs, as lists or objects.
    fc.tuple(fc.integer({ min: 101, max: 5_000 }), fc.boolean()).map(([d, o]) => bad('deep', message(Buffer.from(`[[${nested(d, o)}],{},null]`), h))),
    fc.integer({ min: 101, max: 2_000 }).map((d) => bad('deep-headers', message(json([[1], {}, EMBED]), { ...h, 'x-deep': JSON.parse(nested(d, true)) as unknown }))),
    fc.integer({ min: 101, max: 3_000 }).map((d) => bad('deep-msgpack', message(Buffer.concat([Buffer.from([0x93, 0x91]), Buffer.alloc(d, 0x91), Buffer.from([0x90, 0x80, 0xc0])]), h, 'application/x-msgpack'))),
    // Unknown content types, pickle and yaml.
    fc.constantFrom('application/x-foo', '', 'text/plain', 'application/json5', 'APPLICATION/X-PYTHON-SERIALIZE', 'application/data').map((t) => bad('content-type', message(json([[1], {}, EMBED]), h, t))),
    fc.constant(bad('pickle', message(Buffer.from("cos\nsystem\n(S'touch /tmp/celeriac-pwned'\ntR."), h, 'application/x-python-serialize'))),
    fc.constant(bad('yaml', message(Buffer.from('!!python/object/apply:os.system ["touch /tmp/celeriac-pwned"]'), h, 'application/x-yaml'))),
    // Headers that lie about sizes: a zlib bomb, a 'compressed' body that is not, msgpack length prefixes past the end.
    fc.constantFrom(...zipBombs()).map((bomb) => bad('zip-bomb', message(bomb, { ...h, compression: 'application/x-gzip' }))),
    fc.constantFrom('application/x-gzip', 'application/x-brotli', 'application/x-bz2', 'application/zstd', 'lzma').map((c) => bad('fake-compression', message(json([[1], {}, EMBED]), { ...h, compression: c }))),
    fc.constantFrom(
      Buffer.from([0x93, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]), // str32 claiming 4 GiB
      Buffer.from([0x93, 0xdd, 0x7f, 0xff, 0xff, 0xff]), // array32 claiming 2^31 items
      Buffer.from([0x93, 0xc6, 0xff, 0xff, 0xff, 0x00, 0x01]), // bin32 past the end
      Buffer.from([0xc1]), // never-used byte
    ).map((b) => bad('msgpack-lies', message(b, h, 'application/x-msgpack'))),
    // A workflow (links, chain, chord) whose signatures are not signatures.
    fc.tuple(fc.constantFrom('callbacks', 'errbacks', 'chain', 'chord'), fc.constantFrom<unknown>(12, 'x', [12], [{ task: 5 }], [{ task: 'fuzz.ok', args: 'no' }], { task: [] }, [{ task: 'fuzz.ok', kwargs: [1] }])).map(([field, v]) =>
      bad('bad-embed', message(json([[1], {}, { ...EMBED, [field]: field === 'chord' && Array.isArray(v) ? v[0] : v }]), h))),
    // Not a task this worker knows.
    fc.constant(bad('unknown-task', message(json([[1], {}, EMBED]), { ...h, task: UNKNOWN_TASK }))),
  );
}

/** Raw envelopes that are not kombu envelopes (Redis and SQLite store text). */
export function badEnvelope(): fc.Arbitrary<Case> {
  const bad = (label: string, envelope: string): Case => ({ good: false, label, envelope });
  return fc.oneof(
    fc.string({ maxLength: 100 }).filter((s) => { try { JSON.parse(s); return false; } catch { return true; } }).map((s) => bad('envelope-not-json', s)),
    fc.oneof(fc.integer(), fc.constant('[]'), fc.constant('"x"'), fc.constant('null')).map((v) => bad('envelope-not-object', String(v))),
    fc.constant(bad('envelope-no-properties', JSON.stringify({ body: 'W1sxXSx7fSxudWxsXQ==', headers: {} }))),
    fc.constant(bad('envelope-body-not-string', JSON.stringify({ body: 12, headers: {}, properties: {} }))),
    fc.constant(bad('envelope-bad-encoding', JSON.stringify({ body: 'x', headers: {}, properties: { body_encoding: 'rot13' } }))),
    fc.constant(bad('envelope-deep', `{"body":"","properties":{},"headers":${nested(5_000, true)}}`)),
  );
}

/**
 * `bad` bad cases and `good` good ones, shuffled; good ones return 0..good-1; each case has its own task id.
 * `envelopes`: about a tenth of the bad ones are raw stored envelopes (brokers that store text).
 */
export function sampleCases(bad: number, good: number, seed: number, options: { envelopes?: boolean } = {}): Case[] {
  const kinds = fc.sample(fc.shuffledSubarray([...Array<boolean>(bad).fill(false), ...Array<boolean>(good).fill(true)], { minLength: bad + good }), { numRuns: 1, seed })[0] as boolean[];
  const out: Case[] = [];
  let n = 0;
  kinds.forEach((isGood, i) => {
    const id = `fuzz-${seed}-${i}`;
    const arb = isGood ? goodCase(n++, id) : options.envelopes && i % 10 === 0 ? badEnvelope() : badCase(id);
    out.push(fc.sample(arb, { numRuns: 1, seed: seed + i })[0] as Case);
  });
  return out;
}

/** What the dead-letter reason of each kind of bad case must say. */
export const EXPECTED_REASON: Record<string, RegExp> = {
  'bad-json': /not valid json|too large/i,
  'truncated-json': /not valid json/i,
  'body-not-list': /body must be|not a task message/,
  'args-not-list': /args must be a list|body must be/,
  'kwargs-not-mapping': /kwargs must be a mapping/,
  'bad-id': /no 'id' header/,
  'task-not-string': /not a task message/,
  'bad-eta': /'eta'/,
  'bad-expires': /'expires'/,
  huge: /too large|maxMessageSize/,
  deep: /levels deep|too large/,
  'deep-headers': /levels deep|undecodable envelope/,
  'deep-msgpack': /levels deep|not valid msgpack/,
  'content-type': /content type/,
  pickle: /pickle/,
  yaml: /yaml/,
  'zip-bomb': /inflates past maxMessageSize|too large/,
  'fake-compression': /decompress/,
  'msgpack-lies': /not valid msgpack|body must be/,
  'unknown-task': /unregistered task/,
  'bad-embed': /not a signature|must be a list|must be a mapping/,
};
