// The command registry, node addressing, the revoked set and the Lamport clock: pure code.
import { describe, expect, it } from 'vitest';
import { addressedTo, CommandRegistry, ControlError, LamportClock, LimitedRevokedSet } from '../../../src/index.js';
import { Control } from '../../../src/control/client.js';

const noTransport = (): Promise<never> => Promise.reject(new Error('no broker in unit tests'));

describe('CommandRegistry', () => {
  it('holds every built-in command of Celery with its kind', () => {
    const { registry } = new Control(noTransport);
    expect(registry.list('inspect').map((c) => c.name)).toEqual(
      ['active', 'active_queues', 'clock', 'conf', 'memdump', 'memsample', 'objgraph', 'ping', 'query_task', 'registered', 'report', 'reserved', 'revoked', 'scheduled', 'stats'],
    );
    expect(registry.list('control').map((c) => c.name)).toEqual(
      ['add_consumer', 'autoscale', 'cancel_consumer', 'disable_events', 'election', 'enable_events', 'heartbeat', 'pool_grow', 'pool_restart', 'pool_shrink', 'rate_limit', 'revoke', 'shutdown', 'terminate', 'time_limit'],
    );
    expect(registry.get('dump_active')?.name).toBe('active');
    expect(registry.get('hello')?.hidden).toBe(true);
    // Celery's default_timeout: the CLI waits longer for a heap snapshot.
    expect(registry.get('objgraph')?.timeout).toBe(60);
  });

  it('registers user commands the same way, and checks them', () => {
    const r = new CommandRegistry();
    const def = r.register('pool_size', { kind: 'inspect', args: [{ name: 'n', type: 'number' }] }, () => 1);
    expect(r.list()).toEqual([def]);
    expect(CommandRegistry.signature(def)).toBe('pool_size [n]');
    expect(() => r.register('bad name', { kind: 'inspect' }, () => 1)).toThrow(ControlError);
    expect(() => r.register('x', { kind: 'other' as 'inspect' }, () => 1)).toThrow(/kind must be/);
    expect(() => r.register('y', { kind: 'control', args: [{ name: 'a', type: 'string', variadic: true }, { name: 'b', type: 'string' }] }, () => 1)).toThrow(/last argument/);
  });

  it('turns command-line words into typed arguments', () => {
    const { registry } = new Control(noTransport);
    const rl = registry.get('rate_limit');
    const revoke = registry.get('revoke');
    const grow = registry.get('pool_grow');
    if (!rl || !revoke || !grow) throw new Error('missing built-ins');
    expect(CommandRegistry.parseWords(rl, ['tasks.add', '10/m'])).toEqual({ task_name: 'tasks.add', rate_limit: '10/m' });
    expect(CommandRegistry.parseWords(revoke, ['a', 'b'])).toEqual({ task_id: ['a', 'b'] });
    expect(CommandRegistry.parseWords(grow, ['3'])).toEqual({ n: 3 });
    expect(CommandRegistry.parseWords(grow, [])).toEqual({});
    expect(() => CommandRegistry.parseWords(grow, ['many'])).toThrow(/expects a number/);
    expect(() => CommandRegistry.parseWords(rl, ['tasks.add'])).toThrow(/needs rate_limit: rate_limit <task_name> <rate_limit>/);
    expect(() => CommandRegistry.parseWords(revoke, [])).toThrow(/at least one task_id/);
    expect(() => CommandRegistry.parseWords(grow, ['1', '2'])).toThrow(/takes 1 argument/);
  });
});

describe('addressedTo', () => {
  const req = { method: 'ping', arguments: {}, destination: null, pattern: null, matcher: null };
  it('matches all, a destination list, a glob or a pcre pattern (both when both are given)', () => {
    expect(addressedTo(req, 'w1@h')).toBe(true);
    expect(addressedTo({ ...req, destination: ['w1@h'] }, 'w1@h')).toBe(true);
    expect(addressedTo({ ...req, destination: ['w2@h'] }, 'w1@h')).toBe(false);
    expect(addressedTo({ ...req, pattern: 'w*@h', matcher: 'glob' }, 'w1@h')).toBe(true);
    expect(addressedTo({ ...req, pattern: 'x*', matcher: null }, 'w1@h')).toBe(false);
    expect(addressedTo({ ...req, pattern: '^w\\d@', matcher: 'pcre' }, 'w1@h')).toBe(true);
    expect(addressedTo({ ...req, pattern: '(', matcher: 'pcre' }, 'w1@h')).toBe(false);
    expect(addressedTo({ ...req, destination: ['w1@h'], pattern: 'x*' }, 'w1@h')).toBe(false);
  });
});

describe('LimitedRevokedSet', () => {
  it('forgets ids after they expire and keeps at most maxlen, oldest dropped first', () => {
    let now = 1000;
    const set = new LimitedRevokedSet({ maxlen: 2, expires: 100, now: () => now });
    set.add(['a', 'b']);
    set.add(['c']);
    expect(set.ids()).toEqual(['b', 'c']);
    now += 50;
    set.add(['d']);
    expect(set.ids()).toEqual(['c', 'd']);
    now += 60;
    expect(set.has('c')).toBe(false);
    expect(set.ids()).toEqual(['d']);
    now += 200;
    expect(set.ids()).toEqual([]);
  });
});

describe('LamportClock', () => {
  it('forwards and adjusts to max(ours, theirs) + 1', () => {
    const c = new LamportClock();
    expect(c.forward()).toBe(1);
    expect(c.adjust(10)).toBe(11);
    expect(c.adjust(3)).toBe(12);
    expect(c.adjust('nope')).toBe(12);
    expect(c.value).toBe(12);
  });
});
