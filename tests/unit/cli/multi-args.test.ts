// `celeriac multi`'s argument language (node names, counts, per-node options, %-abbreviations) and the
// shell words of `celeriac amqp` and `multi show`: pure functions, as Celery's multi reads the same lines.
import { describe, expect, it } from 'vitest';
import { commandLine, expandFor, parseArgv, planNodes } from '../../../src/cli/multi-args.js';
import { UsageError } from '../../../src/cli/usage.js';
import { shellQuote, splitWords } from '../../../src/cli/words.js';

const ctx = { hostname: 'myhost', cwd: '/srv/app' };
const plan = (line: string, signals = false) => planNodes(splitWords(line), ctx, signals);
const argsOf = (line: string) => plan(line).nodes.map((n) => n.args.join(' '));

describe('multi: node names', () => {
  it('names get the host: w1 is w1@myhost; a count makes celeriac1..N; full names and %h stay', () => {
    expect(plan('w1 w2').nodes.map((n) => n.name)).toEqual(['w1@myhost', 'w2@myhost']);
    expect(plan('3').nodes.map((n) => n.name)).toEqual(['celeriac1@myhost', 'celeriac2@myhost', 'celeriac3@myhost']);
    expect(plan('2 --range-prefix=worker --hostname=example.com').nodes.map((n) => n.name)).toEqual(['worker1@example.com', 'worker2@example.com']);
    expect(plan('a@other.org b@%h').nodes.map((n) => [n.name, n.short, n.host])).toEqual([['a@other.org', 'a', 'other.org'], ['b@myhost', 'b', 'myhost']]);
  });

  it('every node gets -n, its pidfile, then the options in order; defaults %n.pid and %n%I.log in the current folder', () => {
    const [w1] = plan('w1 -A ./tasks.ts -c 4 --acks-late -l info').nodes;
    expect(w1?.pidfile).toBe('/srv/app/w1.pid');
    expect(w1?.logfile).toBe('/srv/app/w1.log');
    expect(w1?.args).toEqual(['-n', 'w1@myhost', '--pidfile=/srv/app/w1.pid', '-A', './tasks.ts', '-c', '4', '--acks-late', '-l', 'info']);
  });

  it('per-node options override by name, full name, position, range and list, keeping the option in place', () => {
    expect(argsOf('w1 w2 -c 4 -c:w1 8 -Q:w2 for_add --pidfile=/run/%n.pid')).toEqual([
      '-n w1@myhost --pidfile=/run/w1.pid -c 8',
      '-n w2@myhost --pidfile=/run/w2.pid -c 4 -Q for_add',
    ]);
    expect(argsOf('5 -c 3 -c:1-3 10 -Q:4,5 data --pidfile=%n.pid').map((a) => a.replace(/ --pidfile=\S+/, ''))).toEqual([
      '-n celeriac1@myhost -c 10', '-n celeriac2@myhost -c 10', '-n celeriac3@myhost -c 10',
      '-n celeriac4@myhost -c 3 -Q data', '-n celeriac5@myhost -c 3 -Q data',
    ]);
    expect(argsOf('a b --concurrency=2 --concurrency:b@myhost=6').map((a) => a.split(' ').pop())).toEqual(['--concurrency=2', '--concurrency=6']);
  });

  it('%n, %h, %d, %i, %I and %% expand in file names and option values; an unknown one is a usage error', () => {
    const [w] = plan('w1 --logfile=/var/log/%n%I.log --pidfile=/run/%h.pid -Q %n.q,%d').nodes;
    expect(w?.logfile).toBe('/var/log/w1.log');
    expect(w?.pidfile).toBe('/run/w1@myhost.pid');
    expect(w?.args.slice(-2)).toEqual(['-Q', 'w1.q,myhost']);
    expect(expandFor({ name: 'x@h', short: 'x', host: 'h' }, '%i-100%%')).toBe('0-100%');
    expect(() => plan('w1 --logfile=%z.log')).toThrow(/unknown %z/);
  });

  it('everything after -- goes to every worker as it is', () => {
    expect(argsOf('w1 -c 2 -- --without-gossip -E')[0]).toBe('-n w1@myhost --pidfile=/srv/app/w1.pid -c 2 --without-gossip -E');
  });
});

describe('multi: options of its own and bad input', () => {
  it('reads the signal of stop (-TERM, -INT, -9, -SIGKILL) and keeps its own options from the workers', () => {
    expect(plan('w1 -INT', true).signal).toBe('SIGINT');
    expect(plan('w1 -9', true).signal).toBe('SIGKILL');
    expect(plan('w1 -SIGQUIT', true).signal).toBe('SIGQUIT');
    expect(plan('w1', true).signal).toBe('SIGTERM');
    const p = plan('w1 -q --verbose --ready-timeout=5 --hostname=h2 -E');
    expect([p.quiet, p.verbose, p.readyTimeout]).toEqual([true, true, 5]);
    expect(p.nodes[0]?.args).toEqual(['-n', 'w1@h2', '--pidfile=/srv/app/w1.pid', '-E']);
  });

  it('refuses what it cannot do, with a UsageError saying what to write', () => {
    expect(() => plan('')).toThrow(UsageError);
    expect(() => plan('-c 3')).toThrow(/give node names or a count/);
    expect(() => plan('w1 -c:w9 3')).toThrow(/no node 'w9'.*w1/);
    expect(() => plan('2 -c:3 3')).toThrow(/no node '3'/);
    expect(() => plan('w1 w1')).toThrow(/named twice/);
    expect(() => plan('w1 -n:w1 other')).toThrow(/full name/);
    expect(() => plan('w1 --ready-timeout=soon')).toThrow(/--ready-timeout/);
    expect(() => plan('0')).toThrow(/at least 1/);
  });

  it('parseArgv: short options take the next word unless it is an option; --opt=value and --opt value', () => {
    const p = parseArgv(['w1', '-E', '-c', '3', '--loglevel', 'info', '--acks-late', '-Q:w1', 'q'], false);
    expect(p.values).toEqual(['w1']);
    expect([...p.options]).toEqual([['-E', undefined], ['-c', '3'], ['--loglevel', 'info'], ['--acks-late', undefined]]);
    expect([...(p.namespaces.get('w1') ?? [])]).toEqual([['-Q', 'q']]);
  });
});

describe('multi show and shell words', () => {
  it('prints a command line sh runs as it is, output appended to the log file', () => {
    const [node] = planNodes(['w1', '-A', './my tasks.ts', "--logfile=/var/log/it's.log"], ctx).nodes;
    const line = commandLine(node as never, ['/usr/bin/node', '/opt/celeriac/main.js']);
    expect(line).toBe("/usr/bin/node /opt/celeriac/main.js worker -n w1@myhost --pidfile=/srv/app/w1.pid -A './my tasks.ts' >>'/var/log/it'\\''s.log' 2>&1");
  });

  it('splitWords reads quotes and escapes as sh does; shellQuote round-trips', () => {
    expect(splitWords(`basic.publish '{"a": 1}' "" q1`)).toEqual(['basic.publish', '{"a": 1}', '', 'q1']);
    expect(splitWords(String.raw`a\ b "c \"d\" \\" e'f'`)).toEqual(['a b', 'c "d" \\', 'ef']);
    expect(splitWords('  ')).toEqual([]);
    expect(() => splitWords(`'open`)).toThrow(/unclosed single quote/);
    for (const w of ['', 'plain', 'a b', "it's", '$HOME', 'x;y']) expect(splitWords(shellQuote(w))).toEqual([w]);
  });
});
