/** Broker and backend URLs: parse the scheme, mask the password for logs and banners. */
import { ConfigError } from '../errors.js';

/** The scheme of a URL, lower-cased, without '://': 'sqlite', 'redis', 'amqp'. */
export function urlScheme(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (!m?.[1]) {
    throw new ConfigError(`'${url}' is not a broker URL: expected scheme://..., e.g. sqlite://./celeriac.db or redis://localhost:6379/0`);
  }
  return m[1].toLowerCase();
}

/** The URL with any password replaced by '**', safe to log. */
export function maskUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)([^@/]*)@/i, '$1**@');
}

/** For file-based URLs (`sqlite://PATH`, `sqlite:///abs/path`): the path part. */
export function urlPath(url: string): string {
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const q = rest.indexOf('?');
  return q === -1 ? rest : rest.slice(0, q);
}

/** Query-string options (`?visibility_timeout=60`), values as strings. */
export function urlQuery(url: string): Record<string, string> {
  const q = url.indexOf('?');
  if (q === -1) return {};
  return Object.fromEntries(new URLSearchParams(url.slice(q + 1)));
}
