// A stop that comes before or during start-up (a signal while the worker boots) ends in a stopped worker,
// with 'stopped' emitted, instead of a worker that starts anyway and never stops.
import { describe, expect, it } from 'vitest';
import { Celeriac, createLogger, Worker } from '../../../src/index.js';

const silent = createLogger({ level: 'silent' });

function worker(): { app: Celeriac; w: Worker; stopped: Promise<void> } {
  const app = new Celeriac('lifecycle', { broker: 'memory://', backend: 'memory://' });
  app.task('noop', () => 1);
  const w = new Worker(app, { logger: silent, concurrency: 1 });
  const stopped = new Promise<void>((resolve) => w.once('stopped', resolve));
  return { app, w, stopped };
}

describe('worker lifecycle', () => {
  it('stopped before start: emits stopped, and a later start starts nothing', async () => {
    const { app, w, stopped } = worker();
    await w.stop();
    await stopped;
    await w.start();
    expect(w.status).toBe('stopped');
    await app.close();
  });

  it('stopped during start-up: the start finishes, then the worker stops', async () => {
    const { app, w, stopped } = worker();
    const starting = w.start();
    expect(w.status).toBe('starting');
    const stopping = w.stop();
    await starting;
    await stopping;
    await stopped;
    expect(w.status).toBe('stopped');
    await app.close();
  });

  it('a second start of a running worker is refused', async () => {
    const { app, w } = worker();
    await w.start();
    await expect(w.start()).rejects.toThrow(/already started/);
    await w.stop();
    await app.close();
  });
});
