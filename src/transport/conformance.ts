/**
 * The shared Transport contract suite: every broker plug-in runs these same cases by swapping only a
 * factory (`tests/conformance/<broker>.test.ts`). Framework-agnostic: a case is `{ name, run }` using
 * node:assert, so any runner (vitest, node:test, mocha) can loop them. Each case makes a fresh transport,
 * uses uniquely named queues and exchanges, and deletes its queues and closes the transport afterwards.
 * Cases a broker cannot honour (per its `capabilities`) carry `skip` with the reason. The cases live in
 * `conformance-routing.ts`, `conformance-delivery.ts`, `conformance-expiry.ts` and `conformance-ttl.ts`.
 */
import type { Transport, TransportCapabilities } from './types.js';
import { deliveryCases } from './conformance-delivery.js';
import { expiryCases } from './conformance-expiry.js';
import { Fixture, lacks, type AddCase } from './conformance-harness.js';
import { routingCases } from './conformance-routing.js';
import { ttlCases } from './conformance-ttl.js';

export interface ConformanceCase {
  name: string;
  run: () => Promise<void>;
  /** Set when the case does not apply to this transport: the reason. */
  skip?: string;
}

export interface TransportConformanceOptions {
  /**
   * Stores a raw envelope text in a queue, bypassing publish; enables the "undecodable message" case.
   * Only a test harness that can reach the broker's storage provides it.
   */
  injectEnvelope?: (transport: Transport, queue: string, envelope: string) => Promise<void> | void;
  /** Longest wait for an expected delivery, ms (default 5000). */
  timeout?: number;
  /** How long "nothing more arrives" is watched, ms (default 150). */
  quietPeriod?: number;
}

export function transportConformance(factory: () => Promise<Transport> | Transport, options: TransportConformanceOptions = {}): ConformanceCase[] {
  const limits = { timeout: options.timeout ?? 5000, quiet: options.quietPeriod ?? 150 };
  const cases: ConformanceCase[] = [];
  // A synchronous factory lets cases be marked `skip` up front from the capabilities (the probe is
  // never connected). With an async factory an inapplicable case returns early when it runs.
  let known: TransportCapabilities | undefined;
  let probed: Transport | undefined;
  const probe = factory();
  if (!(probe instanceof Promise)) {
    known = probe.capabilities;
    probed = probe;
    void probe.close().catch(() => undefined);
  } else {
    void probe.then((t) => t.close()).catch(() => undefined);
  }

  const add: AddCase = (name, fn, opts = {}) => {
    const skip = opts.skip ?? (known && opts.needs ? opts.needs(known) : undefined) ?? (probed ? lacks(probed, opts.optional) : undefined);
    cases.push({
      name,
      ...(skip ? { skip } : {}),
      run: async () => {
        const t = await factory();
        if (opts.skip || opts.needs?.(t.capabilities) || lacks(t, opts.optional)) return t.close();
        await t.connect();
        const f = new Fixture(t, limits);
        try {
          await fn(f);
        } finally {
          await f.cleanup();
        }
      },
    });
  };

  routingCases(add);
  deliveryCases(add, options.injectEnvelope);
  expiryCases(add);
  ttlCases(add);
  return cases;
}
