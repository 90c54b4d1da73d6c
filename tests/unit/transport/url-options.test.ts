// A broker URL's query string names that broker's options and wins over brokerOptions and the app's settings.
// (The app always passes its visibilityTimeout and maxMessageSize, default or not: before the fix, a URL's
// visibility_timeout or max_message_size was silently ignored, so a dead worker's messages waited an hour.)
import { describe, expect, it } from 'vitest';
import { createTransport as redisTransport } from '../../../src/transport/redis/index.js';
import { createTransport as sqliteTransport } from '../../../src/transport/sqlite/index.js';
import { optionLookup } from '../../../src/transport/amqp/url.js';
import type { VirtualTransport } from '../../../src/transport/virtual/base.js';

/** What Celeriac passes a transport factory with default settings. */
const APP_DEFAULTS = { visibilityTimeout: 3_600_000, maxMessageSize: 16 * 1024 * 1024 };

describe('broker URL options over the app settings', () => {
  it.each([
    ['redis', redisTransport, 'redis://127.0.0.1:6379/0'],
    ['sqlite', sqliteTransport, 'sqlite:///tmp/never-opened.db'],
  ])('%s: visibility_timeout and max_message_size in the query string are used', (_name, factory, base) => {
    const t = factory(`${base}?visibility_timeout=5000&max_message_size=1000`, APP_DEFAULTS) as VirtualTransport;
    expect(t.visibilityTimeout).toBe(5000);
    expect(t.maxMessageSize).toBe(1000);
    // camelCase in the query string too, and over brokerOptions.
    const camel = factory(`${base}?visibilityTimeout=7000`, { ...APP_DEFAULTS, visibilityTimeout: 9000 }) as VirtualTransport;
    expect(camel.visibilityTimeout).toBe(7000);
  });

  it.each([
    ['redis', redisTransport, 'redis://127.0.0.1:6379/0'],
    ['sqlite', sqliteTransport, 'sqlite:///tmp/never-opened.db'],
  ])('%s: without them in the URL, the options passed (brokerOptions, app settings) apply', (_name, factory, base) => {
    const t = factory(base, { ...APP_DEFAULTS, visibilityTimeout: 9000 }) as VirtualTransport;
    expect(t.visibilityTimeout).toBe(9000);
    expect(t.maxMessageSize).toBe(APP_DEFAULTS.maxMessageSize);
  });

  it('amqp: the query string first, then brokerOptions', () => {
    const lookup = optionLookup('amqp://guest:guest@127.0.0.1:5672//?max_message_size=1000', { ...APP_DEFAULTS, heartbeat: 30 });
    expect(lookup('maxMessageSize', 'max_message_size')).toBe('1000');
    expect(lookup('heartbeat', 'heartbeat')).toBe(30);
  });
});
