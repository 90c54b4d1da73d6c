/**
 * The worker's events (Celery's Events and Heart steps): worker-online at start, worker-heartbeat every
 * `heartbeatInterval` s (2 by default), worker-offline at stop, whenever the broker can carry events; task
 * events (received, started, succeeded, failed, retried, revoked, rejected) only while task events are on
 * (`-E`, `workerSendTaskEvents`, `enable_events`), batched under task.multi. The worker checks the one
 * boolean `task` before calling any task method, so task events cost nothing when off.
 */
import { readFileSync } from 'node:fs';
import { constants as osConstants, loadavg, type as osType } from 'node:os';
import { EventDispatcher } from '../events/dispatcher.js';
import { eventsSupported } from '../events/exchange.js';
import { ConfigError, toWireException } from '../errors.js';
import { HEARTBEAT_FREQ, type WorkerFields } from '../protocol/events.js';
import { argsRepr, kwargsRepr, pyRepr } from '../protocol/pyrepr.js';
import { isoTime } from '../protocol/task-message.js';
import type { Transport } from '../transport/types.js';
import type { LamportClock } from '../util/lamport.js';
import type { Celeriac } from '../app/celeriac.js';
import { Gossip, taskElection } from './gossip.js';
import type { Logger } from './logger.js';
import type { Request, WorkerState } from './state.js';

export interface WorkerEventOptions {
  /** Send task events (Celery's -E / worker_send_task_events). */
  taskEvents: boolean;
  /** Send worker-online / worker-heartbeat / worker-offline (false = Celery's --without-heartbeat). */
  heartbeat: boolean;
  /** Seconds between heartbeats (Celery's --heartbeat-interval, default 2). */
  heartbeatInterval?: number;
  /** Listen to the other workers and take part in elections (false = Celery's --without-gossip). */
  gossip?: boolean;
}

/** The worker as its events see it. */
export interface EventingWorker {
  readonly hostname: string;
  readonly state: WorkerState;
  readonly logger: Logger;
  readonly app: Celeriac;
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Python's repr of an exception as Celery's events show it: `ValueError('boom')`. */
export function exceptionRepr(error: unknown): string {
  const wire = toWireException(error);
  const args = Array.isArray(wire.exc_message) ? wire.exc_message : [wire.exc_message];
  return `${wire.exc_type}(${args.map((a) => pyRepr(a)).join(', ')})`;
}

function stackOf(error: unknown, stack: string | null | undefined): string {
  return stack ?? (error instanceof Error ? (error.stack ?? '') : '');
}

export class WorkerEventer {
  /** Task events on: the one check the worker makes per task. */
  task: boolean;
  /** Task events asked for at start (-E); `task` follows enable_events / disable_events at run time. */
  readonly wanted: boolean;
  readonly heartbeatInterval: number;
  private dispatcher: EventDispatcher | undefined;
  /** Gossip with the other workers (worker/gossip.ts), while running and unless turned off. */
  gossip: Gossip | undefined;
  private timer: NodeJS.Timeout | undefined;
  private software: Pick<WorkerFields, 'sw_ident' | 'sw_ver' | 'sw_sys'> | undefined;

  constructor(
    private readonly worker: EventingWorker,
    private readonly options: WorkerEventOptions,
  ) {
    this.task = false;
    this.wanted = options.taskEvents;
    this.heartbeatInterval = options.heartbeatInterval ?? HEARTBEAT_FREQ;
    if (!(this.heartbeatInterval > 0) || !Number.isFinite(this.heartbeatInterval)) throw new ConfigError(`heartbeatInterval must be a number of seconds > 0 (default 2); got ${String(options.heartbeatInterval)}`);
  }

  /** What start() will run: task events, heartbeats, gossip (for `graph bootsteps`). */
  get plan(): { taskEvents: boolean; heartbeat: boolean; heartbeatInterval: number; gossip: boolean } {
    return { taskEvents: this.wanted, heartbeat: this.options.heartbeat, heartbeatInterval: this.heartbeatInterval, gossip: this.options.gossip ?? true };
  }

  /** Opens the dispatcher (when the broker can carry events), starts gossip, and sends worker-online. */
  async start(transport: Transport, clock: LamportClock): Promise<void> {
    const { worker } = this;
    if (!eventsSupported(transport.capabilities)) {
      worker.logger.warn('events are off: the %s broker has neither topic nor fanout exchanges', transport.capabilities.name);
      return;
    }
    this.software = { sw_ident: 'celeriac', sw_ver: version(), sw_sys: osType() };
    this.dispatcher = new EventDispatcher(() => Promise.resolve(transport), {
      hostname: worker.hostname,
      clock,
      groups: this.options.taskEvents ? ['worker', 'task'] : ['worker'],
      bufferGroups: ['task'],
      onError: (e) => worker.logger.warn('event publish failed: %s', e.message),
      outboxLimit: worker.app.conf.eventOutboxLimit,
      onDropped: (n) => worker.logger.warn('%d events dropped: the broker was unreachable and the outbox was full (eventOutboxLimit %d keeps the newest)', n, worker.app.conf.eventOutboxLimit),
    });
    this.task = this.options.taskEvents;
    if (this.task) worker.logger.info('task events on');
    if (this.options.gossip ?? true) {
      const gossip = new Gossip({ hostname: worker.hostname, dispatcher: this.dispatcher, clock, logger: worker.logger, handlers: { task: taskElection(worker.app) } });
      await gossip.start(() => Promise.resolve(transport));
      this.gossip = gossip;
    }
    if (!this.options.heartbeat) return;
    this.sendWorker('worker-online');
    this.timer = setInterval(() => this.sendWorker('worker-heartbeat'), this.heartbeatInterval * 1000);
    this.timer.unref();
  }

  private sendWorker(type: 'worker-online' | 'worker-heartbeat' | 'worker-offline'): void {
    const { state } = this.worker;
    const loadavgs = loadavg().map((l) => Math.ceil(l * 100) / 100);
    this.dispatcher?.send(type, { freq: this.heartbeatInterval, active: state.active.size, processed: state.processed, loadavg: loadavgs, ...(this.software as Pick<WorkerFields, 'sw_ident' | 'sw_ver' | 'sw_sys'>) });
  }

  /** Sends a worker-heartbeat now (the `heartbeat` control command). */
  heartbeat(): void {
    this.sendWorker('worker-heartbeat');
  }

  /** Turns task events on or off; false when they already were (Celery's enable_events / disable_events). */
  setTaskEvents(on: boolean): boolean {
    const d = this.dispatcher;
    if (!d || d.groups.has('task') === on) return false;
    if (on) d.groups.add('task');
    else d.groups.delete('task');
    this.task = on;
    this.worker.logger.info('task events %s by remote', on ? 'enabled' : 'disabled');
    return true;
  }

  received(r: Request): void {
    const t = r.task;
    const eta = t.headers['eta'];
    const expires = t.headers['expires'];
    this.dispatcher?.send('task-received', {
      uuid: t.id, name: t.name, args: t.argsrepr || argsRepr(t.args), kwargs: t.kwargsrepr || kwargsRepr(t.kwargs),
      root_id: t.rootId, parent_id: t.parentId, retries: t.retries,
      eta: typeof eta === 'string' ? eta : t.eta ? isoTime(t.eta.getTime()) : null,
      expires: typeof expires === 'string' ? expires : t.expires ? isoTime(t.expires.getTime()) : null,
    });
  }

  started(r: Request): void {
    this.dispatcher?.send('task-started', { uuid: r.task.id });
  }

  succeeded(r: Request, value: unknown, runtime: number): void {
    this.dispatcher?.send('task-succeeded', { uuid: r.task.id, result: pyRepr(value), runtime });
  }

  failed(r: Request, error: unknown, stack: string | null | undefined): void {
    this.dispatcher?.send('task-failed', { uuid: r.task.id, exception: exceptionRepr(error), traceback: stackOf(error, stack) });
  }

  retried(r: Request, cause: unknown, stack: string | null | undefined): void {
    this.dispatcher?.send('task-retried', { uuid: r.task.id, exception: cause === undefined || cause === null ? 'None' : exceptionRepr(cause), traceback: stackOf(cause, stack) });
  }

  /** `signum` as Celery sends it: the signal's number (15 for SIGTERM). */
  revoked(r: Request, how: { terminated: boolean; signum: string | null; expired: boolean }): void {
    const signum = how.signum === null ? null : ((osConstants.signals as Record<string, number>)[how.signum] ?? how.signum);
    this.dispatcher?.send('task-revoked', { uuid: r.task.id, terminated: how.terminated, signum, expired: how.expired });
  }

  rejected(r: Request, requeue: boolean): void {
    this.dispatcher?.send('task-rejected', { uuid: r.task.id, requeue });
  }

  /** Publishes the buffered task events, sends worker-offline, and closes the dispatcher. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const d = this.dispatcher;
    if (!d) return;
    const gossip = this.gossip;
    this.gossip = undefined;
    await gossip?.stop();
    await d.flush();
    if (this.options.heartbeat) this.sendWorker('worker-offline');
    this.task = false;
    this.dispatcher = undefined;
    await d.close();
  }
}
