// Configured queues (Celery's task_queues, task_queue_max_priority): what is declared and where tasks go.
import { describe, expect, it } from 'vitest';
import { Celeriac, ConfigError } from '../../src/index.js';
import { exchangeType, publishTarget, queueTopology } from '../../src/app/queues.js';

const conf = {
  queueMaxPriority: 0,
  queues: [
    { name: 'for_add', exchange: { name: 'arith', type: 'topic' as const }, routingKey: 'arith.add' },
    { name: 'for_subtract', exchange: 'sub', maxPriority: 5 },
    { name: 'broadcast', exchange: { name: 'all', type: 'fanout' as const } },
  ],
};

describe('queues from config', () => {
  it('an unlisted queue gets a direct exchange named after it, no arguments (as kombu declares celery)', () => {
    expect(queueTopology(conf, 'celery')).toEqual({ queue: { name: 'celery', durable: true }, exchange: { name: 'celery', type: 'direct', durable: true }, routingKey: 'celery' });
  });

  it('a listed queue gets its exchange, type, binding key and x-max-priority', () => {
    expect(queueTopology(conf, 'for_add')).toEqual({ queue: { name: 'for_add', durable: true }, exchange: { name: 'arith', type: 'topic', durable: true }, routingKey: 'arith.add' });
    expect(queueTopology(conf, 'for_subtract').queue).toEqual({ name: 'for_subtract', durable: true, maxPriority: 5 });
    expect(queueTopology({ ...conf, queueMaxPriority: 10 }, 'celery').queue).toEqual({ name: 'celery', durable: true, maxPriority: 10 });
    expect(exchangeType(conf, 'all')).toBe('fanout');
    expect(exchangeType(conf, 'sub')).toBe('direct');
  });

  it('tasks for topic and fanout queues are published to that exchange; direct ones to the default exchange', () => {
    expect(publishTarget(conf, 'for_add')).toEqual({ exchange: 'arith', routingKey: 'arith.add' });
    expect(publishTarget(conf, 'broadcast')).toEqual({ exchange: 'all', routingKey: 'broadcast' });
    expect(publishTarget(conf, 'for_subtract')).toBeUndefined();
    const app = new Celeriac('q', { broker: 'memory://', backend: 'memory://', queues: conf.queues, taskRoutes: { 'tasks.add': 'for_add' } });
    expect(app.producer.prepare('tasks.add', [1, 2], {}, {}).route).toEqual({ queue: 'for_add', exchange: 'arith', routingKey: 'arith.add' });
    expect(app.producer.prepare('tasks.sub', [1, 2], { queue: 'for_subtract' }, {}).route).toEqual({ queue: 'for_subtract', exchange: '', routingKey: 'for_subtract' });
    expect(app.producer.prepare('tasks.x', [], { queue: 'for_add', exchange: 'other', routingKey: 'k' }, {}).route).toEqual({ queue: 'for_add', exchange: 'other', routingKey: 'k' });
  });

  it('a bad queue entry is a ConfigError naming the field', () => {
    expect(() => new Celeriac('bad', { queues: [{ name: 'q', exchange: { name: 'x', type: 'headers' as 'direct' } }] })).toThrow(ConfigError);
    expect(() => new Celeriac('bad', { queues: [{ name: 'q', exchange: { name: 'x', type: 'headers' as 'direct' } }] })).toThrow(/option 'queues' at 0\.exchange/);
  });

  it('every message carries reply_to = the app oid, as Celery sets it', () => {
    const app = new Celeriac('r', { broker: 'memory://', backend: 'memory://' });
    expect(app.producer.prepare('tasks.add', [], {}, {}).message.properties.reply_to).toBe(app.oid);
  });
});
