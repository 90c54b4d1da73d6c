/**
 * What remote-control commands may see of a worker: the narrow `ControlTarget` (the worker satisfies it
 * through `worker/control.ts`), and the shapes of Celery's inspect replies.
 */

/** Celery's request dict, as `inspect active / reserved / scheduled` reply it. */
export interface TaskRequestSnapshot {
  id: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  type: string;
  hostname: string;
  /** UNIX seconds when it started, or null when not running. */
  time_start: number | null;
  acknowledged: boolean;
  delivery_info: { exchange: string; routing_key: string; priority: number | null; redelivered: boolean };
  worker_pid: number | null;
}

export interface ScheduledSnapshot {
  eta: string;
  priority: number;
  request: TaskRequestSnapshot;
}

export interface RegisteredTaskInfo {
  name: string;
  /** Attributes `inspect registered rate_limit ...` may ask for. */
  attributes: Record<string, unknown>;
}

/** A queue as `inspect active_queues` reports it (kombu's Queue.as_dict). */
export type QueueSnapshot = Record<string, unknown> & { name: string };

/**
 * The worker as commands see it. The first block is always present; the engine methods (Celery's
 * worker state and pool) are optional: a command whose method the worker lacks replies
 * "not supported by this worker" instead of failing.
 */
export interface ControlTarget {
  readonly hostname: string;
  /** The revoked ids this worker keeps (the mailbox side of revocation). */
  readonly revokedIds: RevokedSet;
  registeredTasks(): RegisteredTaskInfo[];
  activeQueues(): QueueSnapshot[];
  /** The effective configuration, secrets masked. */
  configuration(withDefaults: boolean): Record<string, unknown>;
  /** Software and platform summary (`inspect report`). */
  report(): string;
  /** Turns task events on or off; returns false when they already were. */
  setEvents?(enabled: boolean): boolean;
  /** Sends a worker-heartbeat event now. */
  sendHeartbeat?(): void;
  /** Takes part in leader election `id` on `topic` through gossip; false when gossip is off. */
  election?(id: string, topic: string, action: unknown): boolean;

  activeRequests?(): TaskRequestSnapshot[];
  reservedRequests?(): TaskRequestSnapshot[];
  scheduledRequests?(): ScheduledSnapshot[];
  setRateLimit?(taskName: string, rate: string | null): void;
  setTimeLimit?(taskName: string, soft?: number, hard?: number): void;
  poolGrow?(n: number): void;
  poolShrink?(n: number): void;
  autoscale?(max: number, min: number): void;
  terminateTask?(taskId: string, signal?: string): boolean;
  revoke?(ids: string[], opts?: { terminate?: boolean; signal?: string }): void;
  addConsumer?(queue: string): Promise<void>;
  cancelConsumer?(queue: string): Promise<void>;
  shutdown?(): void;
  stats?(): Record<string, unknown>;
  /** Takes a memory sample (RSS and heap) now; `every` seconds > 0 keeps sampling `samples` times, 0 stops. Returns Celery's humanised RSS ('51.2MB'). */
  memSample?(every?: number, samples?: number): string;
  /** Celery's memdump text of up to `samples` of the samples so far (then cleared) and the memory now. */
  memDump?(samples?: number): string;
  /** The heap's objects counted by constructor, from a heap snapshot (the worker pauses while it is taken). */
  objectCounts?(options: { type?: string; num?: number; keep?: boolean }): Promise<ObjectCountsReply>;
  /** Starts replacing the pool's threads or children (new ones re-import the app); refused unless enabled. */
  poolRestart?(): { ok: string } | { error: string };
}

/** `inspect objgraph`'s reply. */
export interface ObjectCountsReply {
  objects: number;
  types: number;
  pause_ms: number;
  counts: Record<string, number>;
  filename?: string;
}

/** The revoked ids a worker remembers (Celery's LimitedSet): bounded, each id kept until it expires. */
export interface RevokedSet {
  add(ids: readonly string[]): void;
  has(id: string): boolean;
  ids(): string[];
  /** `[id, added-at ms since the epoch]`, oldest first. */
  entries(): [string, number][];
}
