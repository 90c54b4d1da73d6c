/**
 * The base of the threads and processes pools: N children (threads or processes) that each load the app and
 * run one task at a time. A child that dies is replaced (its task fails with WorkerLostError); a child that
 * reached max tasks or max memory is retired after its task; hard time limits and terminate kill the child.
 */
import { ConfigError, TaskRevokedError, WorkerLostError } from '../../errors.js';
import { BasePool, poolFailure } from './base.js';
import type { ChildBoot, FromChild, ToChild } from './messages.js';
import type { PoolFailure, PoolHooks, TaskCall } from './types.js';

/** One thread or child process, as the pool drives it. */
export interface ChildHandle {
  readonly pid: number;
  send(msg: ToChild): void;
  kill(signal?: string): void;
  onMessage(fn: (msg: FromChild) => void): void;
  /** Called once, when the child has gone (`how`: exit code or signal). */
  onExit(fn: (how: string) => void): void;
}

export interface ChildPoolOptions extends ChildBoot {
  concurrency: number;
  /** Replace a child after it ran this many tasks (Celery's --max-tasks-per-child). */
  maxTasksPerChild?: number;
  /** Replace a child after a task left it above this many KiB resident (Celery's --max-memory-per-child). */
  maxMemoryPerChild?: number;
  hooks?: PoolHooks;
}

interface Slot {
  handle: ChildHandle;
  ready: Promise<void>;
  isReady: boolean;
  busy: { call: TaskCall; resolve(v: unknown): void; reject(e: unknown): void } | undefined;
  tasks: number;
  /** No new tasks: it leaves after the current one. */
  retiring: boolean;
  /** Why the pool killed it, so its task's outcome says so. */
  killedFor: PoolFailure | undefined;
  gone: boolean;
  /** Started by a pool restart, loading the app: it takes no work until every new child is ready. */
  standby: boolean;
  /** Set with `retiring` on a busy child: why it leaves once its task is done. */
  leaveAfter?: string;
}

export abstract class ChildPool extends BasePool {
  private slots: Slot[] = [];
  private readonly waiting: { call: TaskCall; resolve(v: unknown): void; reject(e: unknown): void }[] = [];
  private started = false;
  private restarting: Promise<number[]> | undefined;

  constructor(protected readonly options: ChildPoolOptions) {
    super(options.concurrency, options.hooks ?? {});
    if (!options.appModule) throw new ConfigError('the threads and processes pools load your tasks in each child: give the app module path (WorkerOptions.appModule, or -A on the command line)');
  }

  /** Starts one thread or child process with the boot data. */
  protected abstract spawn(boot: ChildBoot): ChildHandle;

  protected override async onStart(): Promise<void> {
    this.started = true;
    for (let i = 0; i < this.size; i++) this.addSlot();
    try {
      await Promise.all(this.slots.map((s) => s.ready));
    } catch (err) {
      // The app module does not load: no point starting more children.
      this.started = false;
      for (const s of this.slots) s.handle.kill('SIGKILL');
      throw err;
    }
  }

  private addSlot(standby = false): Slot {
    const handle = this.spawn({ appModule: this.options.appModule, ...(this.options.exportName ? { exportName: this.options.exportName } : {}) });
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    const slot: Slot = { handle, ready: new Promise<void>((res, rej) => ((readyResolve = res), (readyReject = rej))), isReady: false, busy: undefined, tasks: 0, retiring: false, killedFor: undefined, gone: false, standby };
    slot.ready.catch(() => undefined);
    handle.onMessage((msg) => {
      if (msg.t === 'ready') {
        slot.isReady = true;
        readyResolve();
        this.next(slot);
      } else if (msg.t === 'load-error') {
        readyReject(new ConfigError(`pool ${this.name}: a child could not load the app: ${msg.message}`));
      } else if (msg.t === 'state') {
        void this.hooks.updateState?.(msg.id, msg.state, msg.meta).catch((e: unknown) => this.hooks.log?.('error', `updateState of ${msg.id} failed: ${String(e)}`));
      } else if (msg.t === 'done') {
        const busy = slot.busy;
        slot.busy = undefined;
        slot.tasks++;
        if (busy && busy.call.id === msg.id) {
          if (msg.ok) busy.resolve(msg.value);
          else busy.reject(Object.assign(new Error(msg.error.message), { name: msg.error.name, stack: msg.error.stack ?? undefined, poolError: msg.error }));
        }
        const { maxTasksPerChild: maxTasks, maxMemoryPerChild: maxMem } = this.options;
        if (slot.leaveAfter) this.retire(slot, slot.leaveAfter);
        else if (maxTasks && slot.tasks >= maxTasks) this.retire(slot, `ran ${slot.tasks} tasks (max tasks per child)`);
        else if (maxMem && msg.memory > maxMem) this.retire(slot, `uses ${msg.memory} KiB (max memory per child ${maxMem} KiB)`);
        else if (this.live().length > this.size) this.retire(slot, 'pool shrunk');
        else this.next(slot);
      }
    });
    handle.onExit((how) => {
      slot.gone = true;
      readyReject(new ConfigError(`pool ${this.name}: a child exited (${how}) before it was ready; run the app module alone to see why`));
      this.slots = this.slots.filter((s) => s !== slot);
      const busy = slot.busy;
      if (busy) {
        slot.busy = undefined;
        const kind = slot.killedFor ?? 'worker-lost';
        const error = kind === 'terminated' ? new TaskRevokedError('terminated') : new WorkerLostError(`Worker exited prematurely: ${how} (pid ${handle.pid}) while running ${busy.call.name}[${busy.call.id}]`);
        busy.reject(poolFailure(kind, error));
        if (kind === 'worker-lost') this.hooks.log?.('error', `pool ${this.name}: child ${handle.pid} died (${how}) running ${busy.call.name}[${busy.call.id}]; starting another`);
      }
      if (slot.isReady) return this.refill();
      // It died while loading the app: try again after a pause rather than in a tight loop.
      if (this.started && !slot.standby) this.hooks.log?.('error', `pool ${this.name}: a child exited (${how}) while loading the app; starting another in 1 s`);
      setTimeout(() => this.refill(), 1000).unref();
    });
    this.slots.push(slot);
    return slot;
  }

  /** Slots that take work. */
  private live(): Slot[] {
    return this.slots.filter((s) => !s.retiring && !s.gone && !s.standby);
  }

  private refill(): void {
    if (!this.started) return;
    while (this.live().length < this.size) this.addSlot();
  }

  private retire(slot: Slot, why: string): void {
    slot.retiring = true;
    this.hooks.log?.('info', `pool ${this.name}: replacing child ${slot.handle.pid}: it ${why}`);
    slot.handle.send({ t: 'exit' });
    // A child that keeps running (a timer left by an abandoned task) is killed after a grace period.
    setTimeout(() => slot.gone || slot.busy || slot.handle.kill('SIGKILL'), 10_000).unref();
    this.refill();
  }

  /** Gives a free, ready slot the next waiting call. */
  private next(slot: Slot): void {
    if (slot.busy || slot.retiring || slot.gone || slot.standby) return;
    const job = this.waiting.shift();
    if (!job) return;
    slot.busy = job;
    slot.handle.send({ t: 'run', id: job.call.id, args: job.call.args, request: job.call.request });
  }

  protected onApply(call: TaskCall): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ call, resolve, reject });
      // A ready, idle slot takes it now; otherwise the next slot to finish (or to become ready) does.
      void Promise.all(this.live().map((s) => s.ready.then(() => this.next(s), () => undefined)));
    });
  }

  private slotOf(taskId: string): Slot | undefined {
    return this.slots.find((s) => s.busy?.call.id === taskId);
  }

  /** The child running a task, if one does. */
  protected childOf(taskId: string): ChildHandle | undefined {
    return this.slotOf(taskId)?.handle;
  }

  protected override onSoftTimeout(call: TaskCall, error: Error): void {
    this.slotOf(call.id)?.handle.send({ t: 'abort', id: call.id, name: error.name, message: error.message });
  }

  protected override onHardTimeout(call: TaskCall): void {
    this.kill(call.id, 'time-limit', 'SIGKILL');
  }

  protected override onTerminate(call: TaskCall, signal: string | undefined): void {
    const slot = this.slotOf(call.id);
    if (slot) return this.kill(call.id, 'terminated', signal ?? 'SIGTERM');
    // Not sent to a child yet: take it off the waiting list.
    const i = this.waiting.findIndex((w) => w.call.id === call.id);
    if (i >= 0) this.waiting.splice(i, 1)[0]?.reject(poolFailure('terminated', new TaskRevokedError('terminated')));
  }

  private kill(taskId: string, why: PoolFailure, signal: string): void {
    const slot = this.slotOf(taskId);
    if (!slot) return;
    slot.killedFor = why;
    slot.retiring = true;
    slot.handle.kill(signal);
    this.refill();
  }

  protected override onResize(): void {
    this.refill();
    let extra = this.live().length - this.size;
    for (const slot of this.live()) {
      if (extra <= 0) break;
      if (!slot.busy) {
        this.retire(slot, 'pool shrunk');
        extra--;
      }
    }
  }

  /**
   * Celery's pool restart: starts a new thread or child for every slot (each imports the app module afresh),
   * and once all are ready, retires the old ones: idle ones at once, busy ones after their task. When the new
   * ones cannot load the app, they are stopped and the old ones keep working (the promise rejects).
   * Resolves with the new pids; a restart asked for while one runs joins it.
   */
  restart(): Promise<number[]> {
    this.restarting ??= this.replaceAll().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  private async replaceAll(): Promise<number[]> {
    if (!this.started) throw new ConfigError(`pool ${this.name}: not running, nothing to restart`);
    const old = this.live();
    const fresh = Array.from({ length: this.size }, () => this.addSlot(true));
    try {
      await Promise.all(fresh.map((s) => s.ready));
    } catch (err) {
      for (const s of fresh) {
        s.retiring = true;
        if (!s.gone) s.handle.kill('SIGKILL');
      }
      throw err;
    }
    for (const s of fresh) s.standby = false;
    for (const s of old) {
      if (s.gone || s.retiring) continue;
      if (s.busy) {
        s.retiring = true;
        s.leaveAfter = 'was started before the pool restart';
      } else this.retire(s, 'was started before the pool restart');
    }
    for (const s of fresh) this.next(s);
    this.onResize();
    return fresh.filter((s) => !s.gone).map((s) => s.handle.pid);
  }

  override pids(): number[] {
    return this.slots.filter((s) => !s.gone).map((s) => s.handle.pid);
  }

  protected override async onStop(): Promise<void> {
    this.started = false;
    const slots = [...this.slots];
    await Promise.all(
      slots.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.gone) return resolve();
            // A child still busy now was abandoned by a cold shutdown (a warm one waits for running tasks first).
            const timer = setTimeout(() => s.handle.kill('SIGKILL'), s.busy ? 0 : 5000);
            s.handle.onExit(() => {
              clearTimeout(timer);
              resolve();
            });
            s.handle.send({ t: 'exit' });
          }),
      ),
    );
    for (const w of this.waiting.splice(0)) w.reject(new WorkerLostError('the pool stopped before the task ran'));
  }
}
