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
export { Router, type Route } from './app/routes.js';
export { Worker, type WorkerOptions, type WorkerStatus } from './worker/worker.js';
export type { TaskRequestSnapshot, ScheduledSnapshot } from './worker/worker.js';
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
