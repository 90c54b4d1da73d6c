/**
 * The remote object 'Pyro.NameServer': Pyro4's NameServer methods, argument names and return shapes over a
 * NameRegistry, so `Pyro4.locateNS()`, `python3 -m Pyro4.nsc` and celeriac proxies use it alike. Errors leave as
 * Pyro4 raises them: NamingError as Pyro4.errors.NamingError, bad argument types as TypeError, two filters as
 * ValueError. A name server can refuse remote writes (register, remove, set_metadata): see server.ts.
 */
import { NamingError } from '../../errors.js';
import { expose, params, PythonException, PyroURI } from '../objects/index.js';
import { NAMESERVER_NAME, type NameRegistry } from './registry.js';

/** Pyro4's metadata of the name server's own registration. */
export const NAMESERVER_METADATA = 'class:Pyro4.naming.NameServer';

/** Why remote writes are refused on this object, or undefined when they are allowed. */
export type WriteRefusal = string | undefined;

@expose
export class NameServerObject {
  readonly #registry: NameRegistry;
  readonly #refusal: WriteRefusal;

  constructor(registry: NameRegistry, refusal?: WriteRefusal) {
    this.#registry = registry;
    this.#refusal = refusal;
  }

  @params('name', 'return_metadata')
  lookup(name: string, return_metadata: boolean = false): PyroURI | [PyroURI, string[]] {
    return pyro(() => {
      const found = this.#registry.lookup(name);
      const uri = new PyroURI(found.uri);
      return return_metadata ? [uri, found.metadata] : uri;
    });
  }

  @params('name', 'uri', 'safe', 'metadata')
  register(name: string, uri: string | PyroURI, safe: boolean = false, metadata: string[] | null = null): null {
    return pyro(() => {
      this.#checkWrite('register');
      this.#registry.register(name, uri instanceof PyroURI ? uri.toString() : uri, { safe: !!safe, metadata });
      return null;
    });
  }

  @params('name', 'metadata')
  set_metadata(name: string, metadata: string[] | null): null {
    return pyro(() => {
      this.#checkWrite('set_metadata');
      this.#registry.setMetadata(name, metadata);
      return null;
    });
  }

  @params('name', 'prefix', 'regex')
  remove(name: string | null = null, prefix: string | null = null, regex: string | null = null): number {
    return pyro(() => {
      this.#checkWrite('remove');
      return this.#registry.remove({ name, prefix, regex });
    });
  }

  /** name -> URI string, or name -> [URI string, metadata] with return_metadata (Pyro4's shapes). */
  @params('prefix', 'regex', 'metadata_all', 'metadata_any', 'return_metadata')
  list(
    prefix: string | null = null,
    regex: string | null = null,
    metadata_all: string[] | null = null,
    metadata_any: string[] | null = null,
    return_metadata: boolean = false,
  ): Record<string, string | [string, string[]]> {
    return pyro(() => {
      const found = this.#registry.list({ prefix, regex, metadataAll: metadata_all, metadataAny: metadata_any });
      const out: Record<string, string | [string, string[]]> = {};
      for (const [n, r] of Object.entries(found)) out[n] = return_metadata ? [r.uri, r.metadata] : r.uri;
      return out;
    });
  }

  count(): number {
    return this.#registry.count();
  }

  ping(): null {
    return null;
  }

  #checkWrite(method: string): void {
    if (this.#refusal !== undefined) throw new NamingError(`${method} refused: ${this.#refusal}`);
  }
}

/** Runs a registry call; its NamingError leaves as Pyro4.errors.NamingError (TypeError and ValueError as they are). */
function pyro<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof NamingError) throw new PythonException('Pyro4.errors.NamingError', err.message);
    throw err;
  }
}

/** Registers the name server's own entry (as Pyro4's NameServerDaemon does). */
export function registerSelf(registry: NameRegistry, uri: string): void {
  registry.register(NAMESERVER_NAME, uri, { metadata: [NAMESERVER_METADATA] });
}
