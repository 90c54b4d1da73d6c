/** Picks a pool by name: `async` (default), `threads`, `processes`; the two last load the app module in each child. */
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../../errors.js';
import { AsyncPool, type TaskRunner } from './async.js';
import { ProcessPool } from './processes.js';
import { ThreadPool } from './threads.js';
import type { Pool, PoolHooks } from './types.js';

export const POOL_KINDS = ['async', 'threads', 'processes'] as const;
export type PoolKind = (typeof POOL_KINDS)[number];

export interface PoolChoice {
  kind: PoolKind;
  concurrency: number;
  runTask: TaskRunner;
  hooks: PoolHooks;
  /** `path[:export]` of the module that creates the app (threads and processes). */
  appModule?: string;
  maxTasksPerChild?: number;
  maxMemoryPerChild?: number;
}

/** Splits `./tasks.ts:app` into an absolute path and an export name. */
export function parseAppModule(spec: string): { appModule: string; exportName?: string } {
  const m = /^(.*?)(?::([A-Za-z_$][\w$]*))?$/.exec(spec) as RegExpExecArray;
  const path = m[1] as string;
  return { appModule: isAbsolute(path) ? path : resolve(path), ...(m[2] ? { exportName: m[2] } : {}) };
}

export function createPool(choice: PoolChoice): Pool {
  const { kind, concurrency, hooks } = choice;
  if (kind === 'async') return new AsyncPool(concurrency, choice.runTask, hooks);
  if (kind !== 'threads' && kind !== 'processes') throw new ConfigError(`unknown pool '${String(kind)}': use one of ${POOL_KINDS.join(', ')}`);
  if (!choice.appModule) {
    throw new ConfigError(`the ${kind} pool loads your tasks in each ${kind === 'threads' ? 'thread' : 'child process'}: give the module that creates the app, e.g. new Worker(app, { pool: '${kind}', appModule: './tasks.ts' }) (the CLI passes -A)`);
  }
  const options = { concurrency, hooks, ...parseAppModule(choice.appModule), maxTasksPerChild: choice.maxTasksPerChild, maxMemoryPerChild: choice.maxMemoryPerChild };
  return kind === 'threads' ? new ThreadPool(options) : new ProcessPool(options);
}
