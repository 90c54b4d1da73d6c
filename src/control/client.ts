/**
 * `app.control`: the typed remote-control client (Celery's `app.control`). `inspect()` asks workers,
 * the control methods change them, `command()` registers a user command that workers of this app run
 * and `celeriac inspect/control --help` list.
 */
import { ControlError } from '../errors.js';
import type { Transport } from '../transport/types.js';
import type { IdFactory } from '../util/ids.js';
import { LamportClock } from '../util/lamport.js';
import { registerControlCommands } from './control-commands.js';
import { registerDebugCommands } from './debug-commands.js';
import { registerInspectCommands } from './inspect-commands.js';
import type { PidboxSerializer } from '../protocol/pidbox.js';
import { Mailbox, type BroadcastOptions, type Reply } from './mailbox.js';
import { CommandRegistry, type CommandDefinition, type CommandHandler, type CommandMeta } from './registry.js';
import type { ObjectCountsReply, QueueSnapshot, ScheduledSnapshot, TaskRequestSnapshot } from './types.js';

export type Destination = Pick<BroadcastOptions, 'destination' | 'pattern' | 'matcher' | 'timeout' | 'limit'>;
export type ControlOptions = Destination & { reply?: boolean };
/** `{ 'w1@host': reply }` merged from every reply. */
export type Replies<T> = Record<string, T>;
export type OkReply = { ok: string } | { error: string };

export interface ControlClientOptions {
  namespace?: string;
  ids?: IdFactory;
  /** Called by `revoke()` with the ids, before the broadcast (the app keeps them in the result backend). */
  onRevoke?: (ids: string[]) => Promise<void>;
  /** Signed control messages (message signing on), for this client and the app's workers' mailbox nodes. */
  serializer?: PidboxSerializer;
}

function merge<T>(replies: Reply[]): Replies<T> {
  return Object.assign({}, ...replies) as Replies<T>;
}

/** Inspect commands sent to the workers chosen by `destination` (all by default). */
export class Inspect {
  constructor(
    private readonly control: Control,
    private readonly options: Destination,
  ) {}

  /** Any inspect command by name, e.g. a user command. */
  async call<T = unknown>(command: string, args: Record<string, unknown> = {}): Promise<Replies<T>> {
    return merge<T>(await this.control.broadcast(command, args, { ...this.options, reply: true }));
  }

  ping(): Promise<Replies<{ ok: 'pong' }>> { return this.call('ping'); }
  stats(): Promise<Replies<Record<string, unknown>>> { return this.call('stats'); }
  active(): Promise<Replies<TaskRequestSnapshot[]>> { return this.call('active'); }
  reserved(): Promise<Replies<TaskRequestSnapshot[]>> { return this.call('reserved'); }
  scheduled(): Promise<Replies<ScheduledSnapshot[]>> { return this.call('scheduled'); }
  revoked(): Promise<Replies<string[]>> { return this.call('revoked'); }
  registered(...taskinfoitems: string[]): Promise<Replies<string[]>> { return this.call('registered', taskinfoitems.length ? { taskinfoitems } : {}); }
  activeQueues(): Promise<Replies<QueueSnapshot[]>> { return this.call('active_queues'); }
  conf(withDefaults = false): Promise<Replies<Record<string, unknown>>> { return this.call('conf', { with_defaults: withDefaults }); }
  clock(): Promise<Replies<{ clock: number }>> { return this.call('clock'); }
  queryTask(...ids: string[]): Promise<Replies<Record<string, [string, TaskRequestSnapshot]>>> { return this.call('query_task', { ids }); }
  report(): Promise<Replies<{ ok: string }>> { return this.call('report'); }
  /** A memory sample now (Celery's '51.2MB'); `every` seconds > 0 keeps sampling on a timer `samples` times, 0 stops. */
  memsample(every?: number, samples?: number): Promise<Replies<string>> { return this.call('memsample', { ...(every === undefined ? {} : { every }), ...(samples === undefined ? {} : { samples }) }); }
  /** Celery's memdump text of the samples so far (then cleared). */
  memdump(samples = 10): Promise<Replies<string>> { return this.call('memdump', { samples }); }
  /** Objects by constructor from a heap snapshot of each worker (they pause meanwhile: give a long timeout). */
  objgraph(options: { type?: string; num?: number; keep?: boolean } = {}): Promise<Replies<ObjectCountsReply>> { return this.call('objgraph', { ...options }); }
}

export class Control {
  readonly registry = new CommandRegistry();
  /** The Lamport clock this app's control messages (and its workers) carry. */
  readonly clock = new LamportClock();
  private mailboxInstance: Mailbox | undefined;

  constructor(
    private readonly connection: () => Promise<Transport>,
    private readonly options: ControlClientOptions = {},
  ) {
    registerInspectCommands(this.registry);
    registerControlCommands(this.registry);
    registerDebugCommands(this.registry);
  }

  /** How control messages are encoded: signed when message signing is on (undefined: plain JSON). */
  get serializer(): PidboxSerializer | undefined {
    return this.options.serializer;
  }

  get namespace(): string {
    return this.options.namespace ?? 'celery';
  }

  private get mailbox(): Mailbox {
    this.mailboxInstance ??= new Mailbox(this.connection, { namespace: this.options.namespace, clock: this.clock, ids: this.options.ids, serializer: this.options.serializer });
    return this.mailboxInstance;
  }

  /** Registers a command workers of this app run: `app.control.command('pool_size', { kind: 'inspect' }, (worker) => ...)`. */
  command(name: string, meta: CommandMeta, handler: CommandHandler): CommandDefinition {
    return this.registry.register(name, meta, handler);
  }

  inspect(options: Destination = {}): Inspect {
    return new Inspect(this, options);
  }

  /** Sends any command; with `reply` (default false, as Celery) resolves with `[{ hostname: reply }, ...]`. */
  broadcast(command: string, args: Record<string, unknown> = {}, options: ControlOptions = {}): Promise<Reply[]> {
    if (!command) throw new ControlError('broadcast needs a command name, e.g. "ping"');
    return this.mailbox.broadcast(command, args, { ...options, reply: options.reply ?? false });
  }

  private send<R = OkReply>(command: string, args: Record<string, unknown>, options: ControlOptions): Promise<Replies<R>[]> {
    return this.broadcast(command, args, { ...options, reply: options.reply ?? true }) as Promise<Replies<R>[]>;
  }

  ping(options: Destination = {}): Promise<Replies<{ ok: 'pong' }>[]> {
    return this.broadcast('ping', {}, { ...options, reply: true }) as Promise<Replies<{ ok: 'pong' }>[]>;
  }

  rateLimit(taskName: string, rateLimit: string | number | null, options: ControlOptions = {}): Promise<Replies<OkReply>[]> {
    return this.send('rate_limit', { task_name: taskName, rate_limit: rateLimit }, options);
  }

  timeLimit(taskName: string, limits: { soft?: number; hard?: number }, options: ControlOptions = {}): Promise<Replies<OkReply>[]> {
    return this.send('time_limit', { task_name: taskName, soft: limits.soft ?? null, hard: limits.hard ?? null }, options);
  }

  /** Revokes task ids on every worker (and in the result backend, so workers started later know them). */
  async revoke(taskIds: string | readonly string[], opts: ControlOptions & { terminate?: boolean; signal?: string } = {}): Promise<Replies<OkReply>[]> {
    const ids = typeof taskIds === 'string' ? [taskIds] : [...taskIds];
    if (ids.length === 0 || ids.some((id) => typeof id !== 'string' || !id)) throw new ControlError('revoke needs one or more task ids (strings)');
    const { terminate = false, signal, ...options } = opts;
    await this.options.onRevoke?.(ids);
    return this.broadcast('revoke', { task_id: ids.length === 1 ? ids[0] : ids, terminate, signal: signal ?? null }, options) as Promise<Replies<OkReply>[]>;
  }

  terminate(taskIds: string | readonly string[], signal = 'SIGTERM', options: ControlOptions = {}): Promise<Replies<OkReply>[]> {
    return this.revoke(taskIds, { ...options, terminate: true, signal });
  }

  addConsumer(queue: string, options: ControlOptions & { exchange?: string; exchangeType?: string; routingKey?: string } = {}): Promise<Replies<OkReply>[]> {
    const { exchange, exchangeType, routingKey, ...rest } = options;
    return this.send('add_consumer', { queue, exchange: exchange ?? null, exchange_type: exchangeType ?? null, routing_key: routingKey ?? null }, rest);
  }

  cancelConsumer(queue: string, options: ControlOptions = {}): Promise<Replies<OkReply>[]> {
    return this.send('cancel_consumer', { queue }, options);
  }

  poolGrow(n = 1, options: ControlOptions = {}): Promise<Replies<OkReply>[]> { return this.send('pool_grow', { n }, options); }
  poolShrink(n = 1, options: ControlOptions = {}): Promise<Replies<OkReply>[]> { return this.send('pool_shrink', { n }, options); }
  autoscale(max: number, min: number, options: ControlOptions = {}): Promise<Replies<OkReply>[]> { return this.send('autoscale', { max, min }, options); }
  shutdown(options: ControlOptions = {}): Promise<Replies<OkReply>[]> { return this.send('shutdown', {}, options); }
  /** Workers started with --pool-restarts replace their threads or children (they re-import the app module); the reply comes at once. */
  poolRestart(options: ControlOptions = {}): Promise<Replies<OkReply>[]> { return this.send('pool_restart', {}, options); }
  enableEvents(options: ControlOptions = {}): Promise<Replies<OkReply>[]> { return this.send('enable_events', {}, options); }
  disableEvents(options: ControlOptions = {}): Promise<Replies<OkReply>[]> { return this.send('disable_events', {}, options); }
  /** Celery replies None (null) to a heartbeat request. */
  heartbeat(options: ControlOptions = {}): Promise<Replies<null | { error: string }>[]> { return this.send('heartbeat', {}, options); }
  /**
   * Leader election between the workers (gossip): every worker asked sends a worker-elect event, and the
   * one elected runs the topic's action ('task': sends `action`, a signature dict or a task name). Workers
   * reply null (as Celery's) when they took part; the outcome is decided between them over events.
   */
  election(id: string, topic: string, action: Record<string, unknown> | string | null = null, options: ControlOptions = {}): Promise<Replies<null | { error: string }>[]> {
    return this.send('election', { id, topic, action }, options);
  }

  /** Deletes this client's reply queue; the app calls it on close. */
  async close(): Promise<void> {
    const mailbox = this.mailboxInstance;
    this.mailboxInstance = undefined;
    await mailbox?.close();
  }
}
