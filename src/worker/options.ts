/** What a Worker is built with (`new Worker(app, options)`), the states it goes through and the events it emits. */
import type { PoolKind } from './pools/index.js';
import type { Pool } from './pools/types.js';
import type { Logger } from './logger.js';
import type { Request } from './state.js';
import type { WorkerControlOptions } from './control.js';

export interface WorkerOptions {
  /** Queues to consume (default: the app's default queue). */
  queues?: string[];
  /** Tasks run at once (default: the app's `concurrency`). */
  concurrency?: number;
  prefetchMultiplier?: number;
  /** Node name; `%h` is the host name (default `celeriac@<host>`). */
  hostname?: string;
  acksLate?: boolean;
  logger?: Logger;
  /** The pool: 'async' (default), 'threads', 'processes', or a Pool instance. */
  pool?: Pool | PoolKind;
  /** `path[:export]` of the module that creates the app: the threads and processes pools load it in each child. */
  appModule?: string;
  /** Replace a pool child after this many tasks (threads/processes). */
  maxTasksPerChild?: number;
  /** Replace a pool child once a task leaves it above this many KiB of resident memory (threads: its heap). */
  maxMemoryPerChild?: number;
  /** Grow and shrink the pool with the backlog between these bounds (Celery's --autoscale max,min). */
  autoscale?: { max: number; min: number; keepalive?: number };
  /** Hard time limit in seconds for every task (a task's or a message's own limit wins). */
  timeLimit?: number;
  /** Soft time limit in seconds for every task. */
  softTimeLimit?: number;
  /** Let remote control replace the pool's threads or children (`control pool_restart`; default: the app's `poolRestarts`). */
  poolRestarts?: boolean;
  /** Remote control: `{ enabled: false }` (--without-control), `allow` list, `statedb` file. */
  control?: WorkerControlOptions;
  /** Send task events (Celery's -E; default: the app's `workerSendTaskEvents`). `enable_events` turns them on later. */
  taskEvents?: boolean;
  /** Send worker-online, worker-heartbeat and worker-offline events (default true; false = --without-heartbeat). */
  heartbeat?: boolean;
  /** Seconds between worker-heartbeat events (default 2, as Celery). */
  heartbeatInterval?: number;
  /** Gossip: follow the other workers' events and take part in elections (default true; false = --without-gossip). */
  gossip?: boolean;
}

export type WorkerStatus = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface WorkerEvents extends Record<string, unknown[]> {
  ready: [];
  idle: [];
  'task-succeeded': [Request, unknown];
  'task-failed': [Request, unknown];
  stopped: [];
}
