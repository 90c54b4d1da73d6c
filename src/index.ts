/** celeriac's public API. Re-exports only, plus the `Celeriac` app with the built-in plug-ins registered. */
import { Celeriac as CeleriacCore, type CeleriacOptions } from './app/celeriac.js';
import { registerBuiltins } from './builtins.js';

/** The app: `new Celeriac('tasks', { broker, backend })`. Brokers and backends resolve by URL scheme. */
export class Celeriac extends CeleriacCore {
  constructor(main = 'celeriac', options: CeleriacOptions = {}) {
    const { plugins, ...rest } = options;
    super(main, {
      ...rest,
      plugins: (p) => {
        registerBuiltins(p);
        plugins?.(p);
      },
    });
  }
}

export type { CeleriacOptions, Plugins } from './app/celeriac.js';
export { Task, type ApplyOptions, type TaskOptions, type RegisteredTask } from './app/task.js';
export { TaskContext } from './app/context.js';
export type { TaskRequestInfo } from './protocol/task-message.js';
export { AsyncResult, type GetOptions } from './app/result.js';
export {
  chain, group, chord, Signature, Chain, Group, Chord, CanvasSignature, GroupResult,
  type SignatureApplyOptions, type GroupProgress, type GroupGetOptions, type SignatureOptions, type Signable, type ResultOf,
} from './app/canvas/index.js';
export type { PartialArgs } from './app/task.js';
export type { GroupStore, ChordPart, ChordPartReturn } from './backend/groups.js';
export { Router, type Route } from './app/routes.js';
export { Worker, type WorkerOptions, type WorkerStatus } from './worker/worker.js';
export type { PoolKind } from './worker/pools/index.js';
export type { PoolError, PoolHooks } from './worker/pools/types.js';
export type { StateReporter } from './app/context.js';
export { parseRate } from './util/rate.js';
export { WorkerState } from './worker/state.js';
export { createLogger, type Logger, type LoggerOptions } from './worker/logger.js';
export type { Pool, TaskCall, TaskOutcome } from './worker/pools/types.js';
export { OPTIONS, DEFAULT_URL, type Config, type ConfigInput, type RouteSpec } from './config/options.js';
export { loadConfig } from './config/load.js';
export * from './errors.js';
export { States, READY_STATES, type TaskState } from './protocol/states.js';
export type { ResultMeta } from './protocol/result-meta.js';
export type { RawMessage, MessageProperties } from './protocol/message.js';
export type { TaskRequest, SignatureDict, TaskEmbed } from './protocol/task-message.js';
export type {
  Transport, TransportCapabilities, TransportFactory, TransportOptions, Consumer, ConsumerOptions, Delivery,
  DeadLetter, QueueInfo, ExchangeDeclaration, QueueDeclaration, Binding,
} from './transport/types.js';
export type { ResultBackend, BackendFactory, BackendOptions, WaitOptions } from './backend/types.js';
export { maskUrl } from './util/url.js';
export { expandNodeName } from './util/hostname.js';
export { Beat, type BeatOptions, type BeatEvents, type BeatLogger, type SentEvent } from './beat/beat.js';
export { crontab, type CrontabFields, type CrontabField, type CrontabSpec } from './beat/crontab.js';
export { IntervalSchedule, CronSchedule, OnceSchedule, type Schedule, type DueCheck, type CronScheduleOptions } from './beat/schedules.js';
export type { BeatEntry } from './beat/entries.js';
export type { BeatEntrySpec, BeatScheduleSpec } from './config/options.js';
export {
  Control, Inspect, CommandRegistry, Mailbox, MailboxNode, LimitedRevokedSet, addressedTo,
  type ControlOptions, type Destination, type Replies, type OkReply, type BroadcastOptions, type Reply,
  type CommandMeta, type CommandArg, type CommandKind, type CommandHandler, type CommandDefinition, type CommandContext,
  type ControlTarget, type TaskRequestSnapshot, type ScheduledSnapshot, type QueueSnapshot, type RevokedSet,
} from './control/index.js';
export type { WorkerControlOptions } from './worker/control.js';
export { Gossip, electLeader, type ElectionHandler, type ElectionOutcome, type GossipEvents } from './worker/gossip.js';
export { LamportClock } from './util/lamport.js';
export { pidboxNames, type PidboxRequest } from './protocol/pidbox.js';
export {
  EventDispatcher, EventReceiver, EventDumper, State as ClusterState, eventExchange, eventsSupported,
  renderMonitor, handleKey, keyName, recentTasks, countsLine, taskDetail, clockTime, MONITOR_KEYS,
  type MonitorView, type ViewSize, type MonitorFrame, type MonitorAction,
  type EventDispatcherOptions, type EventReceiverOptions, type ReceiverEvents, type Received, type StateOptions, type WorkerInfo, type TaskInfo,
} from './events/index.js';
export { AppEvents } from './app/events.js';
export {
  buildEvent, parseEventMessage, parseEventBody, eventRoutingKey, eventGroup, EVENT_TYPES, EVENT_EXCHANGE, HEARTBEAT_FREQ,
  type AnyEvent, type CeleryEvent, type EventType, type EventFieldMap, type FieldsOf, type StandardFields, type WorkerFields, type TaskSentFields, type TaskReceivedFields, type TaskErrorFields,
} from './protocol/events.js';
export * from './rpc/index.js';
export { AppRpc, type AppRpcClientOptions, type AppRpcServerTarget } from './app/rpc.js';
export { createGateway, createRequestListener, type Gateway, type GatewayAuth, type GatewayOptions } from './rpc/http/index.js';
export * from './rpc/objects/index.js';
export {
  startNameServer, locateNameServer, NameRegistry, NameServerObject, MemoryNameStorage, SqliteNameStorage, openNameStorage,
  startBroadcastResponder, discoverNameServer, BROADCAST_PORT,
  type NameServerOptions, type RunningNameServer, type LocateNameServerOptions, type NameStorage, type NameEntry, type Registration,
  type ListFilter, type RemoveSpec, type RegisterOptions, type BroadcastResponder, type DiscoverOptions,
} from './rpc/naming/index.js';
export * from './rpc/protobuf/index.js';
