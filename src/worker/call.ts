/**
 * The task call the worker hands its pool. The request info and the AbortController are made on first read:
 * the async pool rarely reads them. Prototype getters rather than an object literal with getters, which would
 * make two closures per task and an object V8 keeps in slow (dictionary) mode.
 */
import { requestInfo, type TaskRequestInfo } from '../protocol/task-message.js';
import type { TaskCall } from './pools/types.js';
import type { Request } from './state.js';

export class LazyTaskCall implements TaskCall {
  readonly id: string;
  readonly name: string;
  /** Seconds; set only when a limit applies. */
  softTimeLimit: number | null | undefined = undefined;
  timeLimit: number | null | undefined = undefined;
  private info: TaskRequestInfo | undefined = undefined;

  constructor(
    private readonly source: Request,
    private readonly hostname: string,
    /** Positional arguments, kwargs already placed. */
    readonly args: unknown[],
  ) {
    this.id = source.task.id;
    this.name = source.task.name;
  }

  get request(): TaskRequestInfo {
    const { task, delivery } = this.source;
    return (this.info ??= requestInfo(task, this.hostname, { exchange: delivery.exchange, routingKey: delivery.routingKey, queue: delivery.queue }));
  }

  get abort(): AbortController {
    return (this.source.abort ??= new AbortController());
  }
}
