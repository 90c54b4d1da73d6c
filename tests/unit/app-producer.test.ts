// The producer's message: routing as Celery does it, and workflow links carried (what retries rely on).
import { describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/index.js';
import { CodecRegistry, parseTaskMessage, type SignatureDict } from '../../src/protocol/index.js';

const sig = (task: string): SignatureDict => ({ task, args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false });

describe('producer', () => {
  const app = new Celeriac('p', { broker: 'memory://', backend: 'memory://', taskRoutes: { 'tasks.add': 'for_add' } });

  it("routes to the default exchange '' with the queue as routing key, as Celery 5.2.6 does", () => {
    const { route } = app.producer.prepare('tasks.add', [1, 2], {}, {});
    expect(route).toEqual({ queue: 'for_add', exchange: '', routingKey: 'for_add' });
  });

  it('carries callbacks, errbacks, chain and chord given as embed', () => {
    const embed = { callbacks: [sig('tasks.cb')], errbacks: [sig('tasks.eb')], chain: [sig('tasks.next')], chord: sig('tasks.body') };
    const { message } = app.producer.prepare('tasks.add', [1, 2], { embed, retries: 2, taskId: 'same-id' }, {});
    const parsed = parseTaskMessage(message, new CodecRegistry());
    expect(parsed.embed).toEqual(embed);
    expect(parsed.retries).toBe(2);
    expect(parsed.id).toBe('same-id');
  });
});
