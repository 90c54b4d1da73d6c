/** The broker RPC driver's options (documented in index.ts's header), their defaults, and small helpers both ends share. */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { TopologyOptions } from './topology.js';

/** The logging the driver needs (pino's methods fit). */
export interface BrokerDriverLogger {
  debug(msg: string): void;
  warn(msg: string): void;
}

export interface BrokerDriverOptions {
  /** oslo's control_exchange: the topic exchange requests go through (default 'openstack'). */
  exchange?: string;
  /** oslo's amqp_durable_queues: durable control exchange and topic/server queues (default false). */
  durable?: boolean;
  /** oslo's amqp_auto_delete: auto-delete control exchange and topic/server queues (default false). */
  autoDelete?: boolean;
  /** oslo's rabbit_transient_queues_ttl, in ms: x-expires of reply and fanout queues (default 1 800 000; 0 = none). */
  transientQueueTtl?: number;
  /** Name of this caller's reply queue (default `reply_<uuid hex>`, as oslo). Must be unique per driver. */
  replyQueue?: string;
  /** Server name of a listener whose address names none (default: the host name, as oslo's `host` option). */
  server?: string;
  /** Requests a listener runs at once, and its prefetch window (default 64, oslo's executor_thread_pool_size). */
  concurrency?: number;
  /** Send `_timeout` (the call's timeout, seconds) so servers heartbeat long calls (default true). */
  callMonitor?: boolean;
  /** Where dropped messages and failed replies are reported (default: warnings to the console). */
  logger?: BrokerDriverLogger;
}

export interface ResolvedOptions extends TopologyOptions {
  replyQueue: string | undefined;
  server: string;
  concurrency: number;
  callMonitor: boolean;
  logger: BrokerDriverLogger;
}

const consoleLogger: BrokerDriverLogger = {
  debug: () => undefined,
  warn: (msg) => console.warn(`celeriac rpc (broker): ${msg}`),
};

export function resolveOptions(o: BrokerDriverOptions = {}): ResolvedOptions {
  return {
    exchange: o.exchange ?? 'openstack',
    durable: o.durable ?? false,
    autoDelete: o.autoDelete ?? false,
    transientTtl: o.transientQueueTtl ?? 1_800_000,
    replyQueue: o.replyQueue,
    server: o.server ?? hostname(),
    concurrency: o.concurrency ?? 64,
    callMonitor: o.callMonitor ?? true,
    logger: o.logger ?? consoleLogger,
  };
}

/** A uuid4 in hex without dashes, as oslo's `uuid.uuid4().hex` (message ids, queue suffixes). */
export function hexId(): string {
  const b = randomBytes(16);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  return b.toString('hex');
}

/** The last `size` ids seen, to drop a message the broker delivered twice (oslo's _MsgIdCache). */
export class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly size: number) {}

  /** True when `id` was seen already; otherwise remembers it. */
  seen(id: string): boolean {
    if (this.ids.has(id)) return true;
    this.ids.add(id);
    if (this.ids.size > this.size) this.ids.delete(this.ids.values().next().value as string);
    return false;
  }
}
