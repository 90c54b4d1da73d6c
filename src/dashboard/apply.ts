/**
 * The body of POST /api/task/async-apply/<taskname> (Flower's): `{ "args": [...], "kwargs": {...}, "options":
 * {...} }`, every part optional; options in Celery's snake_case (countdown, eta, expires, priority, queue,
 * exchange, routing_key, task_id, time_limit, soft_time_limit, ignore_result, headers, retries) or camelCase.
 */
import { z } from 'zod';
import type { ApplyOptions } from '../index.js';
import { HttpError } from './http-error.js';

const options = z
  .object({
    countdown: z.number().nonnegative(),
    eta: z.string().datetime({ offset: true }),
    expires: z.union([z.number().nonnegative(), z.string().datetime({ offset: true })]),
    priority: z.number().int().min(0).max(255),
    queue: z.string().min(1),
    exchange: z.string(),
    routingKey: z.string(),
    taskId: z.string().min(1),
    timeLimit: z.number().positive(),
    softTimeLimit: z.number().positive(),
    ignoreResult: z.boolean(),
    headers: z.record(z.unknown()),
    retries: z.number().int().nonnegative(),
  })
  .partial()
  .strict();

const body = z.object({ args: z.array(z.unknown()).default([]), kwargs: z.record(z.unknown()).default({}), options: z.record(z.unknown()).default({}) }).strict();

const camel = (k: string): string => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function issues(error: z.ZodError, where: string): string {
  return error.issues.map((i) => `${where}${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`).join('; ');
}

/** Validates the body (400 saying what was expected) and returns what `app.sendTask` takes. */
export function parseApplyBody(json: unknown): { args: unknown[]; options: ApplyOptions } {
  const parsed = body.safeParse(json ?? {});
  if (!parsed.success) throw new HttpError(400, `expected a JSON object {"args": [...], "kwargs": {...}, "options": {...}}: ${issues(parsed.error, 'body')}`);
  const renamed = Object.fromEntries(Object.entries(parsed.data.options).map(([k, v]) => [camel(k), v]));
  const opts = options.safeParse(renamed);
  if (!opts.success) throw new HttpError(400, `options: ${issues(opts.error, 'options')} (known: countdown, eta, expires, priority, queue, exchange, routing_key, task_id, time_limit, soft_time_limit, ignore_result, headers, retries)`);
  return { args: parsed.data.args, options: { ...opts.data, kwargs: parsed.data.kwargs } };
}
