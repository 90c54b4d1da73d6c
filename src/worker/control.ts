/**
 * Remote control in the worker: the revoked set (loaded from `--statedb` and from the result backend, so
 * ids revoked while this worker was down still count), and the mailbox node, started with the worker
 * unless control is off. Returns a handle; the worker stops it on shutdown.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LimitedRevokedSet } from '../control/revoked.js';
import { MailboxNode, type ControlLogger } from '../control/node.js';
import type { ResultBackend } from '../backend/types.js';
import type { Transport } from '../transport/types.js';
import { WorkerControlTarget, type ControlledWorker } from './control-target.js';

export interface WorkerControlOptions {
  /** Run the mailbox node (default true; `--without-control` turns it off). */
  enabled?: boolean;
  /** Only these commands run; the others get an error reply. */
  allow?: readonly string[];
  /** File keeping the revoked ids across restarts (Celery's --statedb). */
  statedb?: string;
}

export interface ControlHandle {
  readonly target: WorkerControlTarget;
  readonly revoked: LimitedRevokedSet;
  readonly node: MailboxNode | undefined;
  stop(): Promise<void>;
}

interface StateFile {
  revoked: [string, number][];
  clock: number;
}

function loadStateDb(path: string, logger: ControlLogger): StateFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const data = JSON.parse(text) as Partial<StateFile>;
    return { revoked: Array.isArray(data.revoked) ? data.revoked.filter((e) => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number') : [], clock: typeof data.clock === 'number' ? data.clock : 0 };
  } catch (err) {
    logger.error('--statedb %s is not a celeriac state file (%s): starting with an empty revoked set', path, err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

function saveStateDb(path: string, state: StateFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, path);
}

export async function startControl(
  worker: ControlledWorker,
  deps: { transport: Transport; backend: ResultBackend; logger: ControlLogger },
  options: WorkerControlOptions = {},
): Promise<ControlHandle> {
  const { transport, backend, logger } = deps;
  const control = worker.app.control;
  const statedb = options.statedb;
  let saving: NodeJS.Immediate | undefined;
  // With --statedb every change is written soon after (coalesced), so a crash loses at most the last moment.
  const revoked = new LimitedRevokedSet({
    onChange: () => {
      if (statedb) saving ??= setImmediate(() => {
        saving = undefined;
        save();
      });
    },
  });
  const save = (): void => {
    if (!statedb) return;
    try {
      saveStateDb(statedb, { revoked: revoked.entries(), clock: control.clock.value });
    } catch (err) {
      logger.error('could not write --statedb %s: %s', statedb, err instanceof Error ? err.message : String(err));
    }
  };
  if (statedb) {
    const state = loadStateDb(statedb, logger);
    for (const [id, at] of state?.revoked ?? []) revoked.add([id], at);
    control.clock.adjust(state?.clock ?? 0);
  }
  if (backend.revokedIds) {
    try {
      const ids = await backend.revokedIds();
      if (ids.length) {
        revoked.add(ids);
        logger.info('%d revoked task id(s) loaded from the result backend', ids.length);
      }
    } catch (err) {
      logger.warn('could not load revoked task ids from the result backend: %s', err instanceof Error ? err.message : String(err));
    }
  }
  const target = new WorkerControlTarget(worker, revoked, () => control.clock.value);
  // The engine keeps its own revoked set: tell it about the ids known at start.
  const known = revoked.ids();
  if (known.length) target.revoke?.(known);
  const allow = options.allow ?? worker.app.conf.controlAllow ?? undefined;
  let node: MailboxNode | undefined;
  if (options.enabled === false) logger.info('remote control is off (--without-control)');
  else if (!transport.capabilities.fanout) logger.warn('remote control is off: the %s broker has no fanout exchanges', transport.capabilities.name);
  else {
    node = new MailboxNode({ target, registry: control.registry, clock: control.clock, logger, namespace: control.namespace, maxMessageSize: worker.app.conf.maxMessageSize, ...(control.serializer ? { serializer: control.serializer } : {}), ...(allow ? { allow } : {}) });
    await node.start(transport);
  }
  return {
    target,
    revoked,
    node,
    async stop() {
      await node?.stop();
      if (saving) clearImmediate(saving);
      save();
    },
  };
}
