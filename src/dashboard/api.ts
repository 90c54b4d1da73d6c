/**
 * The dashboard's JSON API, modelled on Flower's: each route a handler from a parsed request to a status
 * and a JSON body, with no HTTP in it (server.ts does the I/O), so the handlers are tested directly.
 * Bad input is a 400 saying what was expected; an unknown task or worker a 404.
 *
 *   GET  /api/workers                   ?refresh=1&workername=   inspect data per worker
 *   GET  /api/tasks                     ?limit=&offset=&state=&taskname=&workername=&search=&sort_by=
 *   GET  /api/task/info/<id>            one task as the events show it
 *   GET  /api/task/result/<id>          ?timeout= (s)  the stored result
 *   POST /api/task/revoke/<id>          ?terminate=true&signal=SIGTERM
 *   POST /api/task/rate-limit/<name>    ratelimit=10/m [workername=]
 *   POST /api/task/async-apply/<name>   JSON {args, kwargs, options}  (also /api/task/send-task/<name>)
 *   POST /api/worker/shutdown/<name>
 *   POST /api/worker/pool/grow/<name>   n=1  (and /shrink/<name>)
 *   GET  /api/overview                  the page's live view: workers with queues, counts by state
 * and the monitoring routes of api-monitor.ts (queues, series, timelines, Flower's abort, queue lengths, types).
 */
import { ConfigError, parseRate, type Replies, type OkReply } from '../index.js';
import { MONITOR_ROUTES } from './api-monitor.js';
import type { ApiContext, ApiRequest, ApiResponse, Handler } from './api-types.js';
import { parseApplyBody } from './apply.js';
import { boolField, HttpError, intField } from './http-error.js';
import { flowerTask, listTasks, parseTaskQuery } from './tasks.js';

const SIGNAL = /^(SIG)?[A-Z0-9]{2,10}$/;

function knownWorker(ctx: ApiContext, name: string): string {
  if (!ctx.state.worker(name) && !ctx.inspector.has(name)) throw new HttpError(404, `Unknown worker '${name}'`);
  return name;
}

/** The one reply of `name` to a control command: 403 when it refused, 504 when it did not answer. */
function replyOf(replies: Replies<OkReply>[], name: string, what: string): string {
  const reply = Object.assign({}, ...replies)[name] as OkReply | undefined;
  if (!reply) throw new HttpError(504, `${what}: worker '${name}' did not reply in time`);
  if ('error' in reply) throw new HttpError(403, `${what}: ${reply.error}`);
  return reply.ok;
}

const resize = (grow: boolean): Handler => async (ctx, req, name) => {
  knownWorker(ctx, name);
  const n = intField('n', req.fields.get('n'), 1);
  const replies = await (grow ? ctx.app.control.poolGrow(n, { destination: [name], reply: true, timeout: ctx.timeout }) : ctx.app.control.poolShrink(n, { destination: [name], reply: true, timeout: ctx.timeout }));
  replyOf(replies, name, grow ? 'pool grow' : 'pool shrink');
  return { message: `${grow ? 'Growing' : 'Shrinking'} pool by ${n}` };
};

const apply: Handler = async (ctx, req, name) => {
  const { args, options } = parseApplyBody(req.json);
  const result = await ctx.app.sendTask(name, args, options);
  return { 'task-id': result.id, state: 'PENDING' };
};

const ROUTES: [method: string, prefix: string, handler: Handler][] = [
  ['GET', '/api/workers', async (ctx, req) => {
    const name = req.fields.get('workername') || undefined;
    const workers = await ctx.inspector.workers(boolField('refresh', req.fields.get('refresh'), false), name);
    if (name && !workers[name]) throw new HttpError(404, `Unknown worker '${name}'`);
    if (boolField('status', req.fields.get('status'), false)) {
      return Object.fromEntries(Object.keys(workers).map((n) => [n, ctx.state.worker(n)?.alive ?? true]));
    }
    return workers;
  }],
  ['GET', '/api/tasks', async (ctx, req) => listTasks(ctx.state, parseTaskQuery(req.fields))],
  ['GET', '/api/task/info/', async (ctx, _req, id) => {
    const task = ctx.monitor.task(id);
    if (!task) throw new HttpError(404, `Unknown task '${id}'`);
    return flowerTask(task);
  }],
  ['GET', '/api/task/result/', async (ctx, req, id) => {
    const timeout = req.fields.get('timeout');
    const seconds = timeout ? Number(timeout) : 0;
    if (!Number.isFinite(seconds) || seconds < 0) throw new HttpError(400, `timeout: expected a number of seconds >= 0, got ${JSON.stringify(timeout)}`);
    const result = ctx.app.AsyncResult(id);
    if (seconds > 0) await result.get({ timeout: seconds * 1000, propagate: false }).catch(() => undefined);
    const meta = await result.meta();
    return { 'task-id': id, state: meta.status, result: meta.result, ...(meta.traceback ? { traceback: meta.traceback } : {}) };
  }],
  ['POST', '/api/task/revoke/', async (ctx, req, id) => {
    const terminate = boolField('terminate', req.fields.get('terminate'), false);
    const signal = req.fields.get('signal') || 'SIGTERM';
    if (!SIGNAL.test(signal)) throw new HttpError(400, `signal: expected a signal name like SIGTERM or SIGKILL, got ${JSON.stringify(signal)}`);
    await ctx.app.control.revoke(id, terminate ? { terminate, signal } : {});
    return { message: `Revoked '${id}'` };
  }],
  ['POST', '/api/task/rate-limit/', async (ctx, req, taskname) => {
    const rate = req.fields.get('ratelimit');
    if (!rate) throw new HttpError(400, "ratelimit: expected a rate like '10/s', '100/m' or '5/h' (0 removes the limit)");
    try {
      parseRate(rate);
    } catch (err) {
      if (err instanceof ConfigError) throw new HttpError(400, `ratelimit: ${err.message}`);
      throw err;
    }
    const name = req.fields.get('workername') || undefined;
    if (!name) {
      await ctx.app.control.rateLimit(taskname, rate);
      return { message: `new rate limit sent to every worker for '${taskname}'` };
    }
    knownWorker(ctx, name);
    const ok = replyOf(await ctx.app.control.rateLimit(taskname, rate, { destination: [name], reply: true, timeout: ctx.timeout }), name, 'rate limit');
    return { message: ok };
  }],
  ['POST', '/api/task/async-apply/', apply],
  ['POST', '/api/task/send-task/', apply],
  ['POST', '/api/worker/shutdown/', async (ctx, _req, name) => {
    await ctx.app.control.shutdown({ destination: [knownWorker(ctx, name)] });
    return { message: 'Shutting down!' };
  }],
  ['POST', '/api/worker/pool/grow/', resize(true)],
  ['POST', '/api/worker/pool/shrink/', resize(false)],
  ['GET', '/api/overview', async (ctx) => {
    const workers = ctx.inspector.overview(ctx.state);
    ctx.inspector.refreshIfStale(30_000, workers.filter((w) => w.alive).map((w) => w.hostname));
    const counts: Record<string, number> = {};
    for (const t of ctx.state.tasks()) counts[t.state] = (counts[t.state] ?? 0) + 1;
    return { broker: ctx.app.describe().broker, workers, counts, tasks: ctx.state.taskCount, events: ctx.state.eventCount, history: ctx.monitor.history !== undefined };
  }],
  ...MONITOR_ROUTES,
];

export type { ApiContext, ApiRequest, ApiResponse } from './api-types.js';

/** Runs the handler of `req`: 404 for an unknown path, 405 for a known path with another method. */
export async function handleApi(ctx: ApiContext, req: ApiRequest): Promise<ApiResponse> {
  try {
    let allowed: string | undefined;
    for (const [method, prefix, handler] of ROUTES) {
      const exact = !prefix.endsWith('/');
      if (exact ? req.path !== prefix : !req.path.startsWith(prefix)) continue;
      let param = '';
      if (!exact) {
        const rest = req.path.slice(prefix.length);
        if (!rest || rest.includes('/')) continue;
        param = decodeURIComponent(rest);
      }
      if (method !== req.method) {
        allowed = method;
        continue;
      }
      return { status: 200, body: await handler(ctx, req, param) };
    }
    if (allowed) return { status: 405, body: { error: `${req.method} ${req.path}: use ${allowed}` } };
    return { status: 404, body: { error: `no such endpoint: ${req.method} ${req.path} (see the API table in the README)` } };
  } catch (err) {
    if (err instanceof HttpError) return { status: err.status, body: { error: err.message } };
    if (err instanceof URIError) return { status: 400, body: { error: `bad percent-encoding in ${req.path}` } };
    throw err;
  }
}
