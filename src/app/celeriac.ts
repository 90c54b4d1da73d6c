/**
 * The `Celeriac` app: configuration, the task registry, the producer and lazily connected broker and
 * result backend. Thin: it composes the pieces; plug-ins come from its registries (no globals).
 */
import { loadConfig } from '../config/load.js';
import type { Config, ConfigInput } from '../config/options.js';
import type { BackendFactory, ResultBackend } from '../backend/types.js';
import { ConfigError, NotRegisteredError, TaskError, UnknownTransportError } from '../errors.js';
import { CodecRegistry } from '../protocol/codecs.js';
import { codecSerializer } from '../protocol/pidbox.js';
import { setupSecurity } from './security.js';
import type { Transport, TransportFactory } from '../transport/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { uuid, type IdFactory } from '../util/ids.js';
import { PluginRegistry } from '../util/plugins.js';
import { maskUrl } from '../util/url.js';
import { hostname } from 'node:os';
import { Producer, type PreparedTask } from './producer.js';
import { publishTarget } from './queues.js';
import { AsyncResult, type ResultSource } from './result.js';
import { Router } from './routes.js';
import { Task, type ApplyOptions, type RegisteredTask, type TaskOptions, type TaskSender } from './task.js';
import { ContextStore, TaskContext, type StateReporter, type TaskRequestInfo } from './context.js';
import { registerCanvasTasks } from './canvas/builtins.js';
import { GroupResult } from './canvas/group-result.js';
import { Signature } from './canvas/signature.js';
import { Control } from '../control/client.js';
import { REVOKE_EXPIRES_MS } from '../control/revoked.js';
import { SentEvents } from './sent-events.js';
import { AppEvents } from './events.js';
import { AppRpc } from './rpc.js';
import type { RpcDriverFactory } from '../rpc/types.js';

export interface Plugins {
  transports: PluginRegistry<TransportFactory>;
  backends: PluginRegistry<BackendFactory>;
  /** RPC drivers of direct connections by URL scheme (`tcp`, `http`, ...). */
  rpc: PluginRegistry<RpcDriverFactory>;
}

export interface CeleriacOptions extends ConfigInput {
  /** Registers broker and backend plug-ins (the public `Celeriac` registers the built-in ones). */
  plugins?: (plugins: Plugins) => void;
  /** Clock and id source, injectable for tests. */
  clock?: Clock;
  ids?: IdFactory;
}

export class Celeriac implements TaskSender, ResultSource {
  readonly conf: Config;
  readonly plugins: Plugins;
  readonly codecs = new CodecRegistry();
  readonly router: Router;
  readonly producer: Producer;
  readonly clock: Clock;
  /** Remote control: `app.control.inspect().active()`, `app.control.rateLimit(...)`, `app.control.command(...)`. */
  readonly control: Control;
  private readonly registry = new Map<string, RegisteredTask>();
  /** Made when the first bound task runs: on Node 20 an AsyncLocalStorage that has run slows every promise. */
  private contexts: ContextStore | undefined;
  private transport: Promise<Transport> | undefined;
  private backend: Promise<ResultBackend> | undefined;
  private connectedBackend: ResultBackend | undefined;
  private replies: Promise<void> | undefined;
  /** Monitoring events: `app.events.receiver()`, `app.events.state()`, `app.events.dispatcher()`. */
  readonly events: AppEvents;
  /** RPC between services: `app.rpc.client<Api>({ topic })`, `app.rpc.server({ topic, server }, [endpoint])`. */
  readonly rpc: AppRpc;
  /** task-sent events, with `taskSendSentEvent`. */
  private readonly sentEvents: SentEvents | undefined;
  /** This app's reply queue (Celery's app.oid): reply_to of every task it sends; rpc:// results come back there. */
  readonly oid: string;

  constructor(
    readonly main: string = 'celeriac',
    options: CeleriacOptions = {},
  ) {
    const { plugins, clock, ids, ...config } = options;
    this.conf = loadConfig(config);
    this.plugins = {
      transports: new PluginRegistry<TransportFactory>('broker transport', (m) => new UnknownTransportError(m)),
      backends: new PluginRegistry<BackendFactory>('result backend', (m) => new ConfigError(m)),
      rpc: new PluginRegistry<RpcDriverFactory>('RPC driver', (m) => new ConfigError(m)),
    };
    plugins?.(this.plugins);
    this.clock = clock ?? systemClock;
    this.oid = uuid();
    // Message signing (taskSerializer 'auth'): the auth codec for tasks, and signed control messages.
    const signing = setupSecurity(this.conf, this.codecs);
    const control = new Control(() => this.connection(), {
      namespace: this.conf.controlExchange,
      ...(signing ? { serializer: codecSerializer(signing, this.codecs) } : {}),
      ...(ids ? { ids } : {}),
      onRevoke: async (revoked) => (await this.resultBackend()).addRevoked?.(revoked, REVOKE_EXPIRES_MS),
    });
    this.control = control;
    const origin = `gen${process.pid}@${hostname()}`;
    this.events = new AppEvents(() => this.connection(), control.clock, origin, this.conf.maxMessageSize, this.conf.eventOutboxLimit);
    this.rpc = new AppRpc({
      drivers: this.plugins.rpc,
      brokerDriver: async () => (await import('../rpc/broker/index.js')).createBrokerDriver(() => this.connection(), { exchange: this.conf.rpcExchange }),
    });
    const sent = (this.sentEvents = this.conf.taskSendSentEvent ? new SentEvents(() => this.connection(), origin, control.clock, undefined, this.conf.eventOutboxLimit) : undefined);
    this.router = new Router(this.conf.taskRoutes, this.conf.defaultQueue, (queue) => publishTarget(this.conf, queue));
    this.producer = new Producer({
      conf: this.conf,
      router: this.router,
      codec: this.codecs.byNameOrThrow(this.conf.taskSerializer),
      clock: this.clock,
      ids: ids ?? uuid,
      replyTo: this.oid,
      connection: () => this.connection(),
      ...(sent ? { onSent: (p: PreparedTask) => sent.send(p) } : {}),
    });
    registerCanvasTasks(this);
  }

  /** A signature by task name, without importing its function (Celery's `app.signature`). */
  signature<R = unknown>(name: string, args: readonly unknown[] = [], options: { kwargs?: Record<string, unknown>; immutable?: boolean } = {}): Signature<R> {
    return new Signature<R>(this, { task: name, args: [...args], kwargs: options.kwargs ?? {}, options: {}, subtask_type: null, immutable: options.immutable ?? false });
  }

  /** A group saved with `GroupResult.save()` (here or by Python), or null. */
  restoreGroup<T extends unknown[] = unknown[]>(groupId: string): Promise<GroupResult<T> | null> {
    return GroupResult.restore<T>(this, groupId);
  }

  /**
   * Registers a task; its argument and result types flow to `delay()` and `get()`. Generic over the
   * whole function (not its parts), so parameters with defaults keep the types of their initialisers.
   */
  task<F extends (...args: never[]) => unknown>(name: string, fn: F, options: TaskOptions = {}): Task<Parameters<F>, Awaited<ReturnType<F>>> {
    if (!name) throw new ConfigError('a task needs a name, e.g. app.task("tasks.add", fn)');
    if (this.registry.has(name)) throw new ConfigError(`task '${name}' is already registered: task names must be unique in an app`);
    type A = Parameters<F>;
    type R = Awaited<ReturnType<F>>;
    const task = new Task<A, R>(this, name, fn as unknown as (...args: A) => R | Promise<R>, options);
    this.registry.set(name, task);
    return task;
  }

  /** The registered tasks by name (what a worker of this app can run). */
  get tasks(): ReadonlyMap<string, RegisteredTask> {
    return this.registry;
  }

  /** Sends a task by name, without importing its function. */
  sendTask<R = unknown>(name: string, args: readonly unknown[] = [], options: ApplyOptions = {}): Promise<AsyncResult<R>> {
    return this.sendTaskMessage<R>(name, args, options, this.registry.get(name)?.options ?? {});
  }

  async sendTaskMessage<R>(name: string, args: readonly unknown[], options: ApplyOptions, defaults: TaskOptions): Promise<AsyncResult<R>> {
    const prepared = this.producer.prepare(name, args, options, defaults);
    await this.prepareReplies();
    await this.producer.send(prepared);
    return new AsyncResult<R>(prepared.id, this);
  }

  /** Sends many tasks in one batch (pipelined where the broker allows). */
  async sendMany<R = unknown>(calls: readonly { name: string; args?: readonly unknown[]; options?: ApplyOptions }[]): Promise<AsyncResult<R>[]> {
    const prepared = calls.map((c) => this.producer.prepare(c.name, c.args ?? [], c.options ?? {}, this.registry.get(c.name)?.options ?? {}));
    await this.prepareReplies();
    await this.producer.sendMany(prepared);
    return prepared.map((p) => new AsyncResult<R>(p.id, this));
  }

  /**
   * Before the first send: lets the result backend get ready for replies (rpc:// declares the reply queue, so
   * a fast worker's result is not lost). A backend that cannot connect yet fails later, in get().
   */
  private prepareReplies(): Promise<void> {
    this.replies ??= this.resultBackend()
      .then((b) => b.prepareReplies?.())
      .catch(() => {
        this.replies = undefined;
      });
    return this.replies;
  }

  /** The context of the task running in the current async call chain, if any. */
  currentContext(): TaskContext | undefined {
    return this.contexts?.current();
  }

  /**
   * The running task's context (Celery's current_task): `app.currentTask.request.retries`,
   * `app.currentTask.retry({ countdown: 5 })`. Throws outside a task run.
   */
  get currentTask(): TaskContext {
    const ctx = this.contexts?.current();
    if (!ctx) throw new TaskError('app.currentTask is only available while a worker runs a task registered with { bind: true }');
    return ctx;
  }

  /**
   * Runs a registered task (what a worker's pool calls); a bound task runs with its request as context.
   * The request and signal come as thunks: building them costs microseconds, and only bound tasks read them.
   */
  runTask(name: string, args: unknown[], context?: () => { request: TaskRequestInfo; signal?: AbortSignal }, report?: StateReporter): unknown {
    const task = this.registry.get(name);
    if (!task) throw new NotRegisteredError(name);
    if (!task.options.bind) return task.invoke(args);
    if (!context) throw new TaskError(`task ${name} is bound ({ bind: true }) and needs its request to run`);
    const { request, signal } = context();
    this.contexts ??= new ContextStore();
    return this.contexts.run(new TaskContext(request, signal, report), () => task.invoke(args));
  }

  /** A handle on any task's result by id. */
  AsyncResult<R = unknown>(id: string): AsyncResult<R> {
    return new AsyncResult<R>(id, this);
  }

  /** The broker, connected on first use and shared by everything in this app. */
  connection(): Promise<Transport> {
    if (this.transport) return this.transport;
    const opening: Promise<Transport> = (async () => {
      const factory = await this.plugins.transports.resolve(this.conf.broker);
      const transport = factory(this.conf.broker, { visibilityTimeout: this.conf.visibilityTimeout, maxMessageSize: this.conf.maxMessageSize, ...this.conf.brokerOptions });
      await transport.connect();
      return transport;
    })();
    opening.catch(() => {
      if (this.transport === opening) this.transport = undefined;
    });
    this.transport = opening;
    return opening;
  }

  /** The result backend, connected on first use. */
  resultBackend(): Promise<ResultBackend> {
    if (this.backend) return this.backend;
    const opening: Promise<ResultBackend> = (async () => {
      const factory = await this.plugins.backends.resolve(this.conf.backend);
      const backend = factory(this.conf.backend, { resultExpires: this.conf.resultExpires, replyTo: this.oid, broker: () => this.connection(), ...this.conf.backendOptions });
      await backend.connect();
      return backend;
    })().then((backend) => {
      if (this.backend === opening) this.connectedBackend = backend;
      return backend;
    });
    opening.catch(() => {
      if (this.backend === opening) this.backend = undefined;
    });
    this.backend = opening;
    return opening;
  }

  /** The result backend if it is already connected (lets `AsyncResult.get()` skip a promise hop). */
  readyResultBackend(): ResultBackend | undefined {
    return this.connectedBackend;
  }

  /** Broker and backend URLs with passwords masked, for banners and logs. */
  describe(): { broker: string; backend: string } {
    return { broker: maskUrl(this.conf.broker), backend: maskUrl(this.conf.backend) };
  }

  /** Closes the broker and backend connections. */
  async close(): Promise<void> {
    await this.rpc.close().catch(() => undefined);
    await this.control.close().catch(() => undefined);
    await this.sentEvents?.close().catch(() => undefined);
    const [t, b] = [this.transport, this.backend];
    this.transport = undefined;
    this.backend = undefined;
    this.connectedBackend = undefined;
    this.replies = undefined;
    await Promise.all([t?.then((x) => x.close()).catch(() => undefined), b?.then((x) => x.close()).catch(() => undefined)]);
  }
}
