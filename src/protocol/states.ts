/** Task states, as Celery names them, and which of them are final. */

export const States = {
  PENDING: 'PENDING',
  RECEIVED: 'RECEIVED',
  STARTED: 'STARTED',
  SUCCESS: 'SUCCESS',
  FAILURE: 'FAILURE',
  REVOKED: 'REVOKED',
  REJECTED: 'REJECTED',
  RETRY: 'RETRY',
  IGNORED: 'IGNORED',
} as const;

export type TaskState = (typeof States)[keyof typeof States] | (string & {});

/** States after which a task's result does not change. */
export const READY_STATES: ReadonlySet<string> = new Set([States.SUCCESS, States.FAILURE, States.REVOKED]);

/** States whose result is an exception that `get()` re-raises. */
export const PROPAGATE_STATES: ReadonlySet<string> = new Set([States.FAILURE, States.REVOKED]);

export function isReady(state: string): boolean {
  return READY_STATES.has(state);
}
