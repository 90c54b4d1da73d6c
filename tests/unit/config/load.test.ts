/** loadConfig: defaults, environment, and errors that name the bad key. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { loadConfig } from '../../../src/config/load.js';

describe('loadConfig', () => {
  it('fills defaults', () => {
    const conf = loadConfig({}, {});
    expect(conf.broker).toBe('sqlite://./celeriac.db');
    expect(conf.defaultQueue).toBe('celery');
    expect(conf.taskSerializer).toBe('json');
  });

  it('environment variables override options', () => {
    const conf = loadConfig({ broker: 'memory://' }, { CELERIAC_BROKER_URL: 'sqlite:///tmp/x.db', CELERIAC_ACKS_LATE: 'true' });
    expect(conf.broker).toBe('sqlite:///tmp/x.db');
    expect(conf.acksLate).toBe(true);
  });

  it('an unknown option is named, with a suggestion', () => {
    expect(() => loadConfig({ brokr: 'x' } as never, {})).toThrow(ConfigError);
    expect(() => loadConfig({ brokr: 'x' } as never, {})).toThrow(/unknown option 'brokr'/);
  });

  it('a bad value names the option (or the environment variable) and what it accepts', () => {
    expect(() => loadConfig({ taskSerializer: 'pickle' as never }, {})).toThrow(/option 'taskSerializer'.*"json", "msgpack"/);
    expect(() => loadConfig({ concurrency: 0 }, {})).toThrow(/option 'concurrency'/);
    expect(() => loadConfig({}, { CELERIAC_CONCURRENCY: 'lots' })).toThrow(/CELERIAC_CONCURRENCY/);
  });
});
