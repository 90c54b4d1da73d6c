/** The types of the dashboard's API handlers: a parsed request in, a status and a JSON body out. */
import type { Celeriac, ClusterState } from '../index.js';
import type { Monitor } from './monitor.js';
import type { WorkerInspector } from './workers.js';

export interface ApiRequest {
  method: string;
  /** The path, decoded segments not yet: `/api/task/info/<id>`. */
  path: string;
  /** Query string and form fields together (as Flower's get_argument reads both). */
  fields: URLSearchParams;
  /** The parsed JSON body, when one was sent. */
  json?: unknown;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

export interface ApiContext {
  app: Celeriac;
  state: ClusterState;
  inspector: WorkerInspector;
  /** ms to wait for workers' replies. */
  timeout: number;
  /** Timelines, series, queues and history (monitor.ts). */
  monitor: Monitor;
}

export type Handler = (ctx: ApiContext, req: ApiRequest, param: string) => Promise<unknown>;
