/**
 * Plug-ins by URL scheme. A registry belongs to an app instance (no module globals); `builtins.ts`
 * fills it with lazy loaders, and users may register their own schemes.
 */
import { ConfigError } from '../errors.js';
import { urlScheme } from './url.js';

export type Loader<F> = () => Promise<F>;

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

export class PluginRegistry<F> {
  private readonly loaders = new Map<string, Loader<F>>();

  /**
   * @param kind what the plug-ins are, for messages ('broker transport', 'result backend')
   * @param makeError builds the error thrown for an unknown scheme
   */
  constructor(
    private readonly kind: string,
    private readonly makeError: (message: string) => Error = (m) => new ConfigError(m),
  ) {}

  register(scheme: string, loader: Loader<F>): this {
    this.loaders.set(scheme.toLowerCase(), loader);
    return this;
  }

  schemes(): string[] {
    return [...this.loaders.keys()];
  }

  /** The plug-in for the URL's scheme; throws with a "did you mean" hint when there is none. */
  async resolve(url: string): Promise<F> {
    const scheme = urlScheme(url);
    const loader = this.loaders.get(scheme);
    if (!loader) {
      const known = this.schemes();
      const near = known.filter((k) => distance(k, scheme) <= 2);
      const hint = near.length ? ` Did you mean ${near.map((n) => `'${n}://'`).join(' or ')}?` : '';
      throw this.makeError(`no ${this.kind} for '${scheme}://'.${hint} Known schemes: ${known.join(', ')}.`);
    }
    return loader();
  }
}
