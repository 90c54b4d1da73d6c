/**
 * The shared conformance cases of beat's leader lease (`acquireLease`, `releaseLease`, `readLeaseData`,
 * `writeLeaseData`), run on every result store that offers it, next to `backendConformance`. Each case uses
 * a fresh lease name and closes every backend it made; with `shared`, holders are separate instances.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { BackendConformanceFactory, ConformanceCase } from './conformance.js';
import type { ResultBackend } from './types.js';

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type LeaseBackend = Required<Pick<ResultBackend, 'acquireLease' | 'releaseLease' | 'readLeaseData' | 'writeLeaseData'>> & ResultBackend;

function asLease(b: ResultBackend): LeaseBackend {
  assert.ok(b.acquireLease && b.releaseLease && b.readLeaseData && b.writeLeaseData, `${b.url} does not implement the lease methods`);
  return b as LeaseBackend;
}

export function leaseConformance(factory: BackendConformanceFactory, options: { shared?: boolean } = {}): ConformanceCase[] {
  const storeId = (): string => randomUUID();
  const cases: ConformanceCase[] = [];
  /** `holders(n)` gives n backends on one store: separate instances when shared, else the same one. */
  const add = (name: string, fn: (holders: (n: number) => Promise<LeaseBackend[]>, lease: string) => Promise<void>): void => {
    cases.push({
      name: `lease: ${name}`,
      run: async () => {
        const id = storeId();
        const made: ResultBackend[] = [];
        const holders = async (n: number): Promise<LeaseBackend[]> => {
          const count = options.shared ? n : 1;
          for (let i = 0; i < count; i++) {
            const b = await factory({}, id);
            await b.connect();
            made.push(b);
          }
          return Array.from({ length: n }, (_, i) => asLease(made[options.shared ? i : 0] as ResultBackend));
        };
        try {
          await fn(holders, `lease-${randomUUID()}`);
        } finally {
          for (const b of made) await b.close().catch(() => undefined);
        }
      },
    });
  };

  add('one holder at a time; the holder renews', async (holders, lease) => {
    const [a, b] = await holders(2);
    assert.equal(await a!.acquireLease(lease, 'a', 10_000), 'acquired');
    assert.equal(await b!.acquireLease(lease, 'b', 10_000), false);
    assert.equal(await a!.acquireLease(lease, 'a', 10_000), 'renewed');
  });

  add('release hands the lease over at once; releasing what another holds does nothing', async (holders, lease) => {
    const [a, b] = await holders(2);
    await a!.acquireLease(lease, 'a', 10_000);
    await b!.releaseLease(lease, 'b');
    assert.equal(await b!.acquireLease(lease, 'b', 10_000), false);
    await a!.releaseLease(lease, 'a');
    assert.equal(await b!.acquireLease(lease, 'b', 10_000), 'acquired');
  });

  add('an unrenewed lease expires: another takes it, the old holder can neither write nor renew', async (holders, lease) => {
    const [a, b] = await holders(2);
    assert.equal(await a!.acquireLease(lease, 'a', 150), 'acquired');
    await delay(400);
    assert.equal(await b!.acquireLease(lease, 'b', 10_000), 'acquired');
    assert.equal(await a!.writeLeaseData(lease, 'a', { x: '1' }), false);
    assert.equal(await a!.acquireLease(lease, 'a', 10_000), false);
  });

  add('a holder whose lease lapsed unclaimed gets it back as newly acquired (so it re-reads the data)', async (holders, lease) => {
    const [a] = await holders(1);
    await a!.acquireLease(lease, 'a', 150);
    await delay(400);
    assert.equal(await a!.acquireLease(lease, 'a', 10_000), 'acquired');
  });

  add('data is written only by the holder, read by anyone, and outlives the holder', async (holders, lease) => {
    const [a, b] = await holders(2);
    assert.deepEqual(await b!.readLeaseData(lease), {});
    await a!.acquireLease(lease, 'a', 10_000);
    assert.equal(await a!.writeLeaseData(lease, 'a', { e1: '100', e2: '200' }), true);
    assert.equal(await b!.writeLeaseData(lease, 'b', { e1: '999' }), false);
    assert.equal(await a!.writeLeaseData(lease, 'a', { e2: '300' }), true);
    await a!.releaseLease(lease, 'a');
    assert.deepEqual(await b!.readLeaseData(lease), { e1: '100', e2: '300' });
    assert.equal(await b!.writeLeaseData(lease, 'b', { e1: '1' }), false); // released: nobody holds it
  });

  add('racing holders: exactly one wins', async (holders, lease) => {
    const all = await holders(6);
    const outcomes = await Promise.all(all.map((b, i) => b.acquireLease(lease, `h${i}`, 10_000)));
    assert.equal(outcomes.filter((o) => o === 'acquired').length, 1, `outcomes: ${outcomes.join(', ')}`);
  });

  return cases;
}
