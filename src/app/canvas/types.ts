/** What the canvas needs of an app, and the option names of signatures (camelCase here, Celery's on the wire). */
import type { ResultBackend } from '../../backend/types.js';
import type { SignatureDict, TaskEmbed } from '../../protocol/task-message.js';
import type { ApplyOptions } from '../apply-options.js';
import type { AsyncResult } from '../result.js';

/** The sending options a signature can carry: a task's ApplyOptions but the retry count. */
export type SendOptions = Omit<ApplyOptions, 'retries'>;

/** Options set on a signature with `.set()`: where and when its task runs. */
export type SignatureOptions = Pick<
  SendOptions,
  'countdown' | 'eta' | 'expires' | 'priority' | 'queue' | 'exchange' | 'routingKey' | 'taskId' | 'timeLimit' | 'softTimeLimit' | 'ignoreResult' | 'shadow' | 'headers'
>;

/** The app as the canvas sees it: sending by name (one or many, pipelined) and the result backend. */
export interface CanvasApp {
  sendTask<R = unknown>(name: string, args?: readonly unknown[], options?: SendOptions): Promise<AsyncResult<R>>;
  sendMany<R = unknown>(calls: readonly { name: string; args?: readonly unknown[]; options?: SendOptions }[]): Promise<AsyncResult<R>[]>;
  resultBackend(): Promise<ResultBackend>;
}

/** Anything that serialises to Celery's signature dict: a task signature, chain, group or chord. */
export interface Signable {
  toDict(): SignatureDict;
}

/** Celery's option names (snake_case, as in a signature dict's `options`) for the camelCase ones. */
export const WIRE_NAMES: Record<keyof SignatureOptions, string> = {
  countdown: 'countdown',
  eta: 'eta',
  expires: 'expires',
  priority: 'priority',
  queue: 'queue',
  exchange: 'exchange',
  routingKey: 'routing_key',
  taskId: 'task_id',
  timeLimit: 'time_limit',
  softTimeLimit: 'soft_time_limit',
  ignoreResult: 'ignore_result',
  shadow: 'shadow',
  headers: 'headers',
};
