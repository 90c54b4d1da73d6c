/** Signature options between Celery's wire names (a signature dict's `options`) and the producer's SendOptions. */
import { CanvasError } from '../../errors.js';
import type { SignatureDict } from '../../protocol/task-message.js';
import { WIRE_NAMES, type SendOptions, type SignatureOptions } from './types.js';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `.set({ queue, countdown, ... })` in Celery's names; a Date becomes an ISO string, as Celery serialises it. */
export function toWireOptions(options: SignatureOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options) as [keyof SignatureOptions, unknown][]) {
    const wire = WIRE_NAMES[name];
    if (wire === undefined) throw new CanvasError(`unknown signature option '${String(name)}': use one of ${Object.keys(WIRE_NAMES).join(', ')}`);
    if (value === undefined) continue;
    out[wire] = value instanceof Date ? value.toISOString() : value;
  }
  return out;
}

/** A `link` / `link_error` / `callbacks` value: one signature dict or a list of them. */
export function sigList(value: unknown): SignatureDict[] | null {
  if (value === undefined || value === null) return null;
  const list = Array.isArray(value) ? value : [value];
  return list.filter(isRecord) as SignatureDict[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Celery's sending options (from a signature dict) as the producer's SendOptions. Unknown names are ignored, as Celery does. */
export function toSendOptions(o: Record<string, unknown>, kwargs: Record<string, unknown>): SendOptions {
  const out: SendOptions = {};
  if (Object.keys(kwargs).length > 0) out.kwargs = kwargs;
  const set = <K extends keyof SendOptions>(key: K, value: SendOptions[K] | undefined): void => {
    if (value !== undefined) out[key] = value;
  };
  set('taskId', str(o['task_id']));
  set('queue', typeof o['queue'] === 'string' ? o['queue'] : isRecord(o['queue']) ? str(o['queue']['name']) : undefined);
  set('exchange', typeof o['exchange'] === 'string' ? o['exchange'] : undefined);
  set('routingKey', str(o['routing_key']));
  set('priority', num(o['priority']));
  set('countdown', num(o['countdown']));
  set('eta', str(o['eta']));
  set('expires', num(o['expires']) ?? str(o['expires']));
  set('timeLimit', num(o['time_limit']));
  set('softTimeLimit', num(o['soft_time_limit']));
  set('shadow', str(o['shadow']));
  if (typeof o['ignore_result'] === 'boolean') out.ignoreResult = o['ignore_result'];
  if (isRecord(o['headers'])) out.headers = o['headers'];
  set('groupId', str(o['group_id']));
  set('groupIndex', num(o['group_index']));
  set('rootId', str(o['root_id']));
  set('parentId', str(o['parent_id']));
  const callbacks = sigList(o['link']);
  const errbacks = sigList(o['link_error']);
  const chain = sigList(o['chain']);
  const chord = isRecord(o['chord']) ? (o['chord'] as SignatureDict) : null;
  if (callbacks?.length || errbacks?.length || chain?.length || chord) {
    out.embed = { callbacks: callbacks?.length ? callbacks : null, errbacks: errbacks?.length ? errbacks : null, chain: chain?.length ? chain : null, chord };
  }
  return out;
}
