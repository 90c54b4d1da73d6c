/**
 * Running one Pyro call on a registered object, as Pyro4's Daemon.handleRequest does: only exposed, public
 * members; `__getattr__` / `__setattr__` for exposed properties; batches stop at the first error; instance modes
 * (single / session / percall); and the daemon's own object `Pyro.Daemon` (metadata, streams, ping).
 */
import { ExceptionWrapper, PythonException } from './exceptions.js';
import { behaviorOf, bindArguments, isPrivate, membersOf, type Members } from './members.js';
import type { PyroCall } from './serializers.js';
import { isStream, type StreamTable } from './streams.js';
import { DAEMON_NAME } from './uri.js';

/** The per-connection state a call needs: its session instances. */
export interface Session {
  instances: Map<object, object>;
}

export type Outcome = { kind: 'value'; value: unknown; batch?: boolean } | { kind: 'stream'; streamId: string };

const DAEMON_META = { methods: ['close_stream', 'get_metadata', 'get_next_stream_item', 'info', 'ping', 'registered'], oneway: [] as string[], attrs: [] as string[] };

function attributeError(message: string): PythonException {
  return new PythonException('builtins.AttributeError', message);
}

export class Dispatcher {
  private readonly members = new WeakMap<object, Members>();
  private readonly singles = new Map<object, object>();

  constructor(
    private readonly objects: Map<string, object>,
    private readonly streams: StreamTable,
    private readonly info: () => string,
  ) {}

  membersOf(target: object): Members {
    let m = this.members.get(target);
    if (!m) this.members.set(target, (m = membersOf(target)));
    return m;
  }

  /** get_metadata: what a proxy may call. DaemonError for an unknown object. */
  metadata(objectId: unknown): Members['meta'] {
    if (objectId === DAEMON_NAME) return DAEMON_META;
    const target = typeof objectId === 'string' ? this.objects.get(objectId) : undefined;
    if (!target) throw new PythonException('Pyro4.errors.DaemonError', 'unknown object');
    return this.membersOf(target).meta;
  }

  /** The registered target's methods, for a call flagged oneway or @callback (known before running it). */
  methodInfo(call: PyroCall): { callback: boolean } | undefined {
    const target = this.objects.get(call.objectId);
    return target ? this.membersOf(target).methods.get(call.method) : undefined;
  }

  private instance(target: object, session: Session): object {
    if (typeof target !== 'function') return target;
    const b = behaviorOf(target);
    const cls = target as new () => object;
    const make = (): object => (b.instanceCreator ? b.instanceCreator(cls) : new cls());
    if (b.instanceMode === 'percall') return make();
    const table = b.instanceMode === 'single' ? this.singles : session.instances;
    let obj = table.get(target);
    if (!obj) table.set(target, (obj = make()));
    return obj;
  }

  /** Runs a call (or a batch of calls) for a connection; `oneway` calls never start a stream. */
  async run(call: PyroCall, session: Session, owner: object, flags: { batch: boolean; oneway: boolean }): Promise<Outcome> {
    if (call.objectId === DAEMON_NAME) return { kind: 'value', value: await this.daemonCall(call, owner) };
    const target = this.objects.get(call.objectId);
    if (!target) throw new PythonException('Pyro4.errors.DaemonError', 'unknown object');
    const obj = this.instance(target, session);
    const members = this.membersOf(target);
    if (flags.batch) {
      const results: unknown[] = [];
      for (const item of call.params) {
        const [method, args, kwargs] = Array.isArray(item) ? item : [];
        try {
          results.push(await invoke(obj, members, String(method), Array.isArray(args) ? args : [], isDict(kwargs) ? kwargs : {}));
        } catch (err) {
          results.push(new ExceptionWrapper(err instanceof Error ? err : new Error(String(err))));
          break;
        }
      }
      return { kind: 'value', value: results, batch: true };
    }
    const value = await invoke(obj, members, call.method, call.params, call.kwargs);
    if (!flags.oneway && isStream(value)) return { kind: 'stream', streamId: this.streams.add(owner, value) };
    return { kind: 'value', value };
  }

  private async daemonCall(call: PyroCall, owner: object): Promise<unknown> {
    const [first] = call.params;
    switch (call.method) {
      case 'registered':
        return [DAEMON_NAME, ...this.objects.keys()];
      case 'ping':
        return null;
      case 'info':
        return this.info();
      case 'get_metadata':
        return this.metadata(first ?? call.kwargs['objectId']);
      case 'get_next_stream_item':
        return this.streams.next(String(first ?? call.kwargs['streamId']), owner);
      case 'close_stream':
        this.streams.close(String(first ?? call.kwargs['streamId']));
        return null;
      default:
        throw attributeError(isPrivate(call.method) ? `attempt to access private attribute '${call.method}'` : `attempt to access unexposed attribute '${call.method}'`);
    }
  }
}

function isDict(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

async function invoke(obj: object, members: Members, method: string, params: unknown[], kwargs: Record<string, unknown>): Promise<unknown> {
  if (method === '__getattr__' || method === '__setattr__') {
    const name = String(params[0]);
    const attr = members.attrs.get(name);
    if (method === '__getattr__') {
      if (!attr?.get) throw attributeError(`attempt to access unexposed or unknown remote attribute '${name}'`);
      return attr.get.call(obj);
    }
    if (!attr?.set) throw attributeError(`attempt to access unexposed or unknown remote attribute '${name}'`);
    attr.set.call(obj, params[1]);
    return null;
  }
  const info = members.methods.get(method);
  if (!info) {
    if (isPrivate(method)) throw attributeError(`attempt to access private attribute '${method}'`);
    throw attributeError(`attempt to access unexposed attribute '${method}'`);
  }
  return await info.fn.apply(obj, bindArguments(method, info, params, kwargs));
}
