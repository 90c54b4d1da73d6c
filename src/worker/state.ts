/**
 * What a worker is doing, as data: requests reserved (waiting for a slot) and active
 * (running); scheduled ones (ETA not reached) are in the worker's EtaHeap, and totals per task. Inspect commands read it; nothing else writes it but the worker.
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
  /** Set by terminate (the signal name): the run ends REVOKED (terminated) whatever it returns. */
  terminated?: string;
  /** The last custom state write (updateState), awaited before the final result is stored. */
  stateWrite?: Promise<void>;
}

export class WorkerState {
  readonly reserved: Request[] = [];
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

}
