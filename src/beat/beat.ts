/**
 * The beat scheduler: sends each `beatSchedule` entry when due, while holding the leader lease, so any
 * number of beats may run on any number of machines and exactly one sends. The loop is the only thing here
 * that sleeps; `tick()` does one pass at the injected clock's time and says how long to sleep.
 *
 * No due time is sent twice: a run is recorded (atomically with checking the lease) before it is sent, and
 * a new leader re-reads the records after taking the lease. The price is at-most-once: a leader that dies
 * between recording and sending (a few ms) loses that one run. A send the broker refuses is un-recorded
 * and retried on the next pass. Catch-up after downtime: a missed entry fires once, not once per missed time.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Celeriac } from '../app/celeriac.js';
import { systemClock, type Clock } from '../util/clock.js';
import { TypedEmitter } from '../util/emitter.js';
import { sleep } from '../util/sleep.js';
import { buildEntries, type BeatEntry } from './entries.js';
import { BackendScheduleStore, FileScheduleStore, Lease, type ScheduleStore } from './store.js';

export interface BeatLogger {
  debug(msg: string, ...args: unknown[]): void;
  info(msg: string, ...args: unknown[]): void;
  warn(msg: string, ...args: unknown[]): void;
  error(msg: string, ...args: unknown[]): void;
}

export interface BeatOptions {
  /** Entries to run (default: the app's `beatSchedule`). */
  schedule?: Celeriac['conf']['beatSchedule'];
  /** Keep last runs in this JSON file instead of the result backend (Celery's --schedule). */
  scheduleFile?: string;
  /** Most seconds between passes (default: the app's `beatMaxLoopInterval`). */
  maxInterval?: number;
  /** Seconds the lease lasts unrenewed (default: the app's `beatLeaseTime`). */
  leaseTime?: number;
  /** The lease shared by the beats that stand in for each other (default `beat:<app main name>`). */
  leaseName?: string;
  /** This beat's id in the lease (default host:pid:random). */
  holder?: string;
  /** Default: the app's clock. */
  clock?: Clock;
  logger?: BeatLogger;
}

export interface SentEvent {
  entry: string;
  task: string;
  taskId: string;
  /** The recorded run time, ms since the epoch. */
  runAt: number;
}

export interface BeatEvents extends Record<string, unknown[]> {
  leader: [];
  follower: [];
  sent: [SentEvent];
  stopped: [];
}

const quietLogger: BeatLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (msg, ...args) => console.warn(`beat: ${msg}`, ...args),
  error: (msg, ...args) => console.error(`beat: ${msg}`, ...args),
};

export class Beat extends TypedEmitter<BeatEvents> {
  /** The checked entries; the constructor throws ConfigError naming a bad one. */
  readonly entries: BeatEntry[];
  readonly holder: string;
  readonly leaseName: string;
  readonly leaseMs: number;
  readonly maxIntervalMs: number;
  private readonly clock: Clock;
  private readonly logger: BeatLogger;
  private lease: Lease | undefined;
  private store: ScheduleStore | undefined;
  private lastRuns = new Map<string, number>();
  private leader = false;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    readonly app: Celeriac,
    private readonly options: BeatOptions = {},
  ) {
    super();
    this.entries = buildEntries(app, options.schedule);
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.leaseName = options.leaseName ?? `beat:${app.main}`;
    this.leaseMs = (options.leaseTime ?? app.conf.beatLeaseTime) * 1000;
    this.maxIntervalMs = (options.maxInterval ?? app.conf.beatMaxLoopInterval) * 1000;
    this.clock = options.clock ?? app.clock;
    this.logger = options.logger ?? quietLogger;
  }

  /** True while this beat holds the lease and sends. */
  get isLeader(): boolean {
    return this.leader;
  }

  /** Where the last runs are kept (for banners). */
  get storeDescription(): string {
    return this.store?.description ?? (this.options.scheduleFile ? `file ${this.options.scheduleFile}` : 'result backend');
  }

  /** How often a follower tries the lease: a dead leader is replaced within the lease time plus this. */
  get followerPollMs(): number {
    return Math.max(50, Math.min(this.leaseMs / 4, 1000));
  }

  /** Connects to the result backend (lease and store); `start()` calls it. */
  async open(): Promise<void> {
    if (this.lease) return;
    const lease = new Lease(await this.app.resultBackend(), this.leaseName, this.holder, this.leaseMs);
    this.store = this.options.scheduleFile ? new FileScheduleStore(this.options.scheduleFile, lease) : new BackendScheduleStore(lease);
    this.lease = lease;
  }

  /** Starts the loop in the background; resolves once connected. */
  async start(): Promise<this> {
    if (this.running) throw new Error('this beat was already started');
    await this.open();
    this.running = this.loop();
    return this;
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let wait: number;
      try {
        wait = await this.tick();
      } catch (err) {
        this.logger.error('pass failed (retrying in %d ms): %s', this.followerPollMs, (err as Error).message);
        wait = this.followerPollMs;
      }
      await sleep(wait, signal);
    }
  }

  /** Leaves leadership. */
  private stepDown(why: string): void {
    if (!this.leader) return;
    this.leader = false;
    this.logger.warn('no longer the leader (%s): another beat sends now', why);
    this.emit('follower');
  }

  /** One pass at the clock's time: keeps or takes the lease, sends what is due; returns ms to sleep. */
  async tick(): Promise<number> {
    await this.open();
    const lease = this.lease as Lease;
    const store = this.store as ScheduleStore;
    const outcome = await lease.acquire();
    if (outcome === false) {
      this.stepDown('the lease is held by another beat');
      return this.followerPollMs;
    }
    if (outcome === 'acquired' || !this.leader) {
      // Another beat may have run in between: its records are the truth.
      this.lastRuns = await store.load();
      const now = this.clock.now();
      const fresh: Record<string, number> = {};
      for (const e of this.entries) {
        const first = this.lastRuns.has(e.name) ? undefined : e.schedule.initialLastRun(now);
        if (first !== undefined) fresh[e.name] = first;
      }
      if (Object.keys(fresh).length && !(await store.record(fresh))) return this.followerPollMs;
      for (const [k, v] of Object.entries(fresh)) this.lastRuns.set(k, v);
      if (!this.leader) {
        this.leader = true;
        this.logger.info('leader now (lease %s, %d ms): %d entries, last runs in %s', this.leaseName, this.leaseMs, this.entries.length, store.description);
        this.emit('leader');
      }
    }
    let next = Math.min(this.maxIntervalMs, this.leaseMs / 3);
    for (const entry of this.entries) {
      const check = entry.schedule.isDue(this.lastRuns.get(entry.name), this.clock.now());
      if (check.due && check.runAt !== undefined) {
        if (!(await this.send(entry, check.runAt, store))) {
          this.stepDown('the lease lapsed before a run was recorded');
          return this.followerPollMs;
        }
      }
      next = Math.min(next, check.nextInMs);
    }
    return Math.max(0, next);
  }

  /** Records the run, then sends it; false when the lease was lost (nothing sent). */
  private async send(entry: BeatEntry, runAt: number, store: ScheduleStore): Promise<boolean> {
    const previous = this.lastRuns.get(entry.name);
    if (!(await store.record({ [entry.name]: runAt }))) return false;
    this.lastRuns.set(entry.name, runAt);
    try {
      const result = await this.app.sendTask(entry.task, entry.args, { ...entry.options, kwargs: entry.kwargs });
      this.logger.info('Scheduler: Sending due task %s (%s) id %s due %s', entry.name, entry.task, result.id, new Date(runAt).toISOString());
      this.emit('sent', { entry: entry.name, task: entry.task, taskId: result.id, runAt });
    } catch (err) {
      this.logger.error('cannot send %s (%s): %s; retrying on the next pass', entry.name, entry.task, (err as Error).message);
      // Un-record it (0 = never ran, for a one-off) so the next pass tries again.
      const before = previous ?? 0;
      if (await store.record({ [entry.name]: before })) this.lastRuns.set(entry.name, before);
    }
    return true;
  }

  private stopping: Promise<void> | undefined;

  /** Stops the loop and releases the lease, so another beat takes over at once. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.halt();
    return this.stopping;
  }

  private async halt(): Promise<void> {
    this.abort.abort();
    await this.running;
    this.running = undefined;
    if (this.lease) {
      try {
        await this.lease.release();
      } catch (err) {
        this.logger.warn('could not release the lease (another beat takes over when it expires): %s', (err as Error).message);
      }
    }
    if (this.leader) {
      this.leader = false;
      this.logger.info('stopped; lease %s released', this.leaseName);
    }
    this.emit('stopped');
  }
}
