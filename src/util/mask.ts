/**
 * Configuration safe to show (`inspect conf`, `celeriac report`): passwords in URLs masked, and the values of
 * secret-sounding keys hidden, as Celery's bug report hides its HIDDEN_SETTINGS (API, TOKEN, KEY, SECRET, PASS...).
 */
import { maskUrl } from './url.js';

const SECRET = /pass|secret|token|key|auth|credential|signature|api/i;
/** Names that sound secret and are not (routing keys, key prefixes). */
const NOT_SECRET = /^(routing_?key|binding_?key|global_?key_?prefix|key_?prefix)$/i;

export const HIDDEN = '********';

/** Whether a setting of this name is hidden from reports. */
export function isSecretKey(key: string): boolean {
  return SECRET.test(key) && !NOT_SECRET.test(key);
}

/** The value with URL passwords masked (each of `;`-separated URLs) and secret-named values replaced by '********'. */
export function maskConfig(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (value.includes('://')) return value.split(';').map(maskUrl).join(';');
    return isSecretKey(key) ? HIDDEN : value;
  }
  if (Array.isArray(value)) return value.map((v) => maskConfig(v, key));
  if (value && typeof value === 'object' && !(value instanceof Date)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskConfig(v, k)]));
  if (isSecretKey(key) && value !== null && value !== undefined && typeof value !== 'boolean') return HIDDEN;
  return value;
}
