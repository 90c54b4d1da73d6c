/**
 * Routing: which queue (exchange, routing key) a task goes to. Explicit options win, then `taskRoutes`
 * (exact names before globs, in the order given), then the default queue. As Celery does, a message goes
 * to the default exchange '' with the queue name as routing key, unless a route names an exchange.
 */
import type { RouteSpec } from '../config/options.js';
import { globToRegExp, isGlob } from '../util/glob.js';

export interface Route {
  queue: string;
  exchange: string;
  routingKey: string;
  priority?: number;
}

export interface RouteRequest {
  queue?: string;
  exchange?: string;
  routingKey?: string;
}

export class Router {
  private readonly exact = new Map<string, RouteSpec>();
  private readonly globs: [RegExp, RouteSpec][] = [];

  constructor(
    routes: Record<string, RouteSpec>,
    private readonly defaultQueue: string,
    /** Where tasks for a queue go when no route names an exchange (configured topic and fanout queues). */
    private readonly targetOf?: (queue: string) => { exchange: string; routingKey: string } | undefined,
  ) {
    for (const [pattern, spec] of Object.entries(routes)) {
      if (isGlob(pattern)) this.globs.push([globToRegExp(pattern), spec]);
      else this.exact.set(pattern, spec);
    }
  }

  private lookup(taskName: string): RouteSpec | undefined {
    const hit = this.exact.get(taskName);
    if (hit !== undefined) return hit;
    for (const [re, spec] of this.globs) if (re.test(taskName)) return spec;
    return undefined;
  }

  route(taskName: string, request: RouteRequest = {}): Route {
    const spec = request.queue || request.exchange !== undefined ? undefined : this.lookup(taskName);
    const fromSpec = typeof spec === 'string' ? { queue: spec } : (spec ?? {});
    const queue = request.queue ?? fromSpec.queue ?? this.defaultQueue;
    const implied = request.exchange === undefined && fromSpec.exchange === undefined ? this.targetOf?.(queue) : undefined;
    const route: Route = {
      queue,
      exchange: request.exchange ?? fromSpec.exchange ?? implied?.exchange ?? '',
      routingKey: request.routingKey ?? fromSpec.routingKey ?? implied?.routingKey ?? queue,
    };
    if (typeof spec === 'object' && spec.priority !== undefined) route.priority = spec.priority;
    return route;
  }
}
