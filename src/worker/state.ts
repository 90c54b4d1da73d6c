/**
 * What a worker is doing, as data: requests reserved (waiting for a slot), scheduled (ETA not reached),
 * active (running), and totals per task. Inspect commands read it; nothing else writes it but the worker.
 */
import type { TaskRequest } from '../protocol/task-message.js';
import type { Delivery } from '../transport/types.js';

export interface Request {
  task: TaskRequest;
  delivery: Delivery;
  /** ms since epoch when the worker received it. */
  receivedAt: number;
  /** ms since epoch when it started running. */
  startedAt?: number;
  /** Settled (acked or rejected) already. */
  acked: boolean;
  /** Made on first use (an AbortController costs microseconds and most tasks never read their signal). */
  abort?: AbortController;
}

export class WorkerState {
  readonly reserved: Request[] = [];
  readonly scheduled = new Map<string, { request: Request; timer: NodeJS.Timeout }>();
  readonly active = new Map<string, Request>();
  /** Tasks finished (any outcome) per task name. */
  readonly totals = new Map<string, number>();
  processed = 0;
  failed = 0;
  readonly startedAt = Date.now();

  count(name: string): void {
    this.totals.set(name, (this.totals.get(name) ?? 0) + 1);
    this.processed++;
  }

  /** Held messages in every stage: what the prefetch window covers. */
  get held(): number {
    return this.reserved.length + this.scheduled.size + this.active.size;
  }
}
