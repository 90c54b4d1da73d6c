/** How one call is sent (`applyAsync` options): shared by tasks (`task.ts`) and signatures (`canvas/`). */
import type { TaskEmbed } from '../protocol/task-message.js';

export interface ApplyOptions {
  kwargs?: Record<string, unknown>;
  /** Seconds from now before the task may run. */
  countdown?: number;
  /** Earliest time the task may run. */
  eta?: Date | string;
  /** Seconds from now, or a time, after which the task is not run (REVOKED, expired). */
  expires?: number | Date | string;
  priority?: number;
  queue?: string;
  exchange?: string;
  routingKey?: string;
  /** Use this id instead of a new uuid. */
  taskId?: string;
  timeLimit?: number;
  softTimeLimit?: number;
  ignoreResult?: boolean;
  /** Name shown in logs and monitors instead of the task name. */
  shadow?: string;
  /** Extra message headers. */
  headers?: Record<string, unknown>;
  /** Workflow ids, set when a task sends another. */
  parentId?: string;
  rootId?: string;
  groupId?: string;
  groupIndex?: number;
  retries?: number;
  /** Workflow links to carry (callbacks, errbacks, chain, chord): a retry keeps the original's. */
  embed?: Partial<TaskEmbed>;
}
