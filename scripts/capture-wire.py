#!/usr/bin/python3
"""Capture golden wire fixtures from a real Python Celery (Debian python3-celery).

Usage:
    /usr/bin/python3 scripts/capture-wire.py OUTDIR

Needs: apt-get install -y python3-celery python3-redis python3-amqp, and a
Redis on 127.0.0.1:6379 (override with WIRE_REDIS_HOST / WIRE_REDIS_PORT).
Uses Redis database 13 (WIRE_REDIS_DB) only; it refuses to run if that
database holds any key, and deletes every key it created when it finishes.

Writes:
    OUTDIR/messages/*.json  task messages exactly as kombu LPUSHes them
    OUTDIR/results/*.json   celery-task-meta-* / celery-taskset-meta-* values
    OUTDIR/pidbox/*.json    remote-control requests (PUBLISH) and replies (LPUSH)
    OUTDIR/events/*.json    event messages PUBLISHed on /<db>.celeryev/<rk>

The task module is scripts/wire_tasks.py (Celery app main name 'tasks').
"""
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = os.environ.get('WIRE_REDIS_HOST', '127.0.0.1')
PORT = int(os.environ.get('WIRE_REDIS_PORT', '6379'))
DB = int(os.environ.get('WIRE_REDIS_DB', '13'))
URL = 'redis://%s:%d/%d' % (HOST, PORT, DB)
NODENAME = 'wire@capture'

os.environ['WIRE_BROKER'] = URL
os.environ['WIRE_BACKEND'] = URL
os.environ['WIRE_RESULT_EXTENDED'] = '0'
os.environ['PYTHONDONTWRITEBYTECODE'] = '1'  # keep scripts/ free of __pycache__
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import celery  # noqa: E402
import kombu  # noqa: E402
import redis  # noqa: E402
from celery import chain, chord, group  # noqa: E402,F401

import wire_tasks  # noqa: E402
from wire_tasks import add, app, echo, fail, retry_once, sleepy  # noqa: E402,F401

R = redis.Redis(host=HOST, port=PORT, db=DB)
SEP = '\x06\x16'


# ---------------------------------------------------------------- helpers

def log(*a):
    print('[capture-wire]', *a, file=sys.stderr, flush=True)


def write(outdir, rel, obj):
    path = os.path.join(outdir, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2)
        f.write('\n')
    log('wrote', rel)


def kname(k):
    return k.decode('utf-8', 'backslashreplace') if isinstance(k, bytes) else k


def parse_envelope(raw):
    env = json.loads(raw)
    body = env.get('body')
    decoded = None
    if body is not None:
        if env.get('properties', {}).get('body_encoding') == 'base64':
            body = base64.b64decode(body)
        if env.get('content-type') == 'application/json':
            decoded = json.loads(body)
    return env, decoded


def all_keys():
    return {kname(k): kname(R.type(k)) for k in R.scan_iter(count=1000)}


def drain_lists():
    """Return {list_name: [raw messages oldest first]} and delete the lists."""
    out = {}
    for k in list(R.scan_iter(count=1000)):
        if R.type(k) == b'list':
            items = R.lrange(k, 0, -1)
            out[kname(k)] = list(reversed(items))  # LPUSH: index 0 is newest
            R.delete(k)
    return out


def wait_for(pred, timeout, interval=0.05, what='condition'):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise TimeoutError('timed out waiting for %s' % what)


# --------------------------------------------------- Redis observers (threads)

class Subscriber(threading.Thread):
    """PSUBSCRIBEs to result channels and to every /<db>.* fanout channel."""

    def __init__(self):
        super().__init__(daemon=True)
        self.msgs = []
        self.stop = threading.Event()
        self.ps = R.pubsub()
        self.ps.psubscribe('celery-task-meta-*', 'celery-taskset-meta-*',
                           '/%d.*' % DB)
        # wait for the three subscribe confirmations
        n = 0
        while n < 3:
            m = self.ps.get_message(timeout=1.0)
            if m and m['type'] == 'psubscribe':
                n += 1

    def run(self):
        while not self.stop.is_set():
            m = self.ps.get_message(timeout=0.2)
            if m and m['type'] == 'pmessage':
                self.msgs.append({'t': time.time(),
                                  'channel': kname(m['channel']),
                                  'data': m['data']})
        self.ps.close()

    def select(self, pred):
        return [m for m in list(self.msgs) if pred(m)]


_MON_RE = re.compile(rb'^(\d+\.\d+) \[(\d+) ([^\]]*)\] (.*)$', re.S)
_ARG_RE = re.compile(rb'"((?:[^"\\]|\\.)*)"', re.S)
_ESC = {b'n': b'\n', b'r': b'\r', b't': b'\t', b'a': b'\a', b'b': b'\b',
        b'"': b'"', b'\\': b'\\'}


def _unrepr(s):
    """Undo Redis' sdscatrepr() escaping used in MONITOR output."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i:i + 1]
        if c == b'\\' and i + 1 < len(s):
            n = s[i + 1:i + 2]
            if n == b'x':
                out += bytes([int(s[i + 2:i + 4], 16)])
                i += 4
                continue
            out += _ESC.get(n, n)
            i += 2
            continue
        out += c
        i += 1
    return bytes(out)


class Monitor(threading.Thread):
    """Redis MONITOR over a raw socket, keeping only commands sent to our db.

    (redis-py drops the connection on a read timeout, so it is not used here.)
    MONITOR replies are RESP simple strings, one per line; sdscatrepr()
    escapes CR/LF inside arguments, so splitting on CRLF is safe.
    """

    def __init__(self):
        super().__init__(daemon=True)
        self.cmds = []
        self.stop = threading.Event()
        self.sock = socket.create_connection((HOST, PORT), timeout=5)
        self.sock.sendall(b'MONITOR\r\n')
        self.buf = b''
        first = self._line()
        assert first == b'+OK', first
        self.sock.settimeout(0.2)

    def _line(self):
        while b'\r\n' not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError('MONITOR connection closed')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def run(self):
        while not self.stop.is_set():
            try:
                line = self._line()
            except socket.timeout:
                continue
            except OSError:
                break
            m = _MON_RE.match(line[1:] if line.startswith(b'+') else line)
            if not m or int(m.group(2)) != DB:
                continue
            args = [_unrepr(a) for a in _ARG_RE.findall(m.group(4))]
            self.cmds.append({'t': float(m.group(1)),
                              'client': kname(m.group(3)), 'args': args})
        self.sock.close()

    def select(self, cmd, key_pred):
        return [c for c in list(self.cmds)
                if c['args'] and c['args'][0].upper() == cmd
                and len(c['args']) > 1 and key_pred(kname(c['args'][1]))]


# ---------------------------------------------------------- worker control

class Worker:
    def __init__(self, extended=False, logpath=None):
        env = dict(os.environ)
        env['WIRE_RESULT_EXTENDED'] = '1' if extended else '0'
        env['PYTHONPATH'] = HERE + os.pathsep + env.get('PYTHONPATH', '')
        self.logpath = logpath
        self.logf = open(logpath, 'ab')
        self.proc = subprocess.Popen(
            ['/usr/bin/python3', '-m', 'celery', '-A', 'wire_tasks', 'worker',
             '-P', 'solo', '-c', '1', '-n', NODENAME, '-E', '-l', 'INFO',
             '-Q', 'celery'],
            cwd=HERE, env=env, stdout=self.logf, stderr=subprocess.STDOUT,
            start_new_session=True)

    def wait_ready(self, sub, since):
        def online():
            if self.proc.poll() is not None:
                raise RuntimeError('worker exited early, see %s' % self.logpath)
            return sub.select(lambda m: m['t'] >= since and
                              m['channel'].endswith('worker.online'))
        wait_for(online, 30, what='worker-online event')

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # warm shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


# ------------------------------------------------------- (a) task messages

ETA_UTC = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
ETA_NAIVE = datetime(2030, 1, 2, 3, 4, 5, 678901)
ETA_PLUS2 = datetime(2030, 1, 2, 3, 4, 5, 678901,
                     tzinfo=timezone(timedelta(hours=2)))

MESSAGE_CASES = [
    ('delay', 'add.delay(2, 2)'),
    ('countdown', 'add.apply_async((2, 2), countdown=10)'),
    ('eta_utc', 'add.apply_async((2, 2), eta=ETA_UTC)'),
    ('eta_naive', 'add.apply_async((2, 2), eta=ETA_NAIVE)'),
    ('eta_plus0200', 'add.apply_async((2, 2), eta=ETA_PLUS2)'),
    ('expires_seconds', 'add.apply_async((2, 2), expires=60)'),
    ('expires_datetime', 'add.apply_async((2, 2), expires=ETA_UTC)'),
    ('priority_5', 'add.apply_async((2, 2), priority=5)'),
    ('priority_9', 'add.apply_async((2, 2), priority=9)'),
    ('priority_0', 'add.apply_async((2, 2), priority=0)'),
    ('queue_for_add', "add.apply_async((2, 2), queue='for_add')"),
    ('echo_all_json_types',
     'echo.apply_async(args=[1, 2.5, "s", True, None, [1, [2]], '
     '{"a": {"b": 1}}], kwargs={"k": "v", "n": None, "l": [1, 2]})'),
    ('time_limits', 'add.apply_async((2, 2), time_limit=30, soft_time_limit=10)'),
    ('soft_time_limit_only', 'add.apply_async((2, 2), soft_time_limit=10)'),
    ('ignore_result', 'add.apply_async((2, 2), ignore_result=True)'),
    ('shadow', "add.apply_async((2, 2), shadow='shadowname')"),
    ('link', 'add.apply_async((2, 2), link=add.s(10))'),
    ('link_error', 'add.apply_async((2, 2), link_error=echo.s())'),
    ('link_and_link_error',
     "add.apply_async((2, 2), link=[add.s(10), echo.si('done')], "
     "link_error=echo.s())"),
    ('custom_headers', "add.apply_async((2, 2), headers={'x-custom': 'v'})"),
    ('chain', 'chain(add.s(1, 1), add.s(2), add.s(3)).apply_async()'),
    ('group', 'group(add.s(i, i) for i in range(3)).apply_async()'),
    ('chord', 'chord([add.s(1, 1), add.s(2, 2)], echo.s()).apply_async()'),
    ('send_task', "app.send_task('tasks.add', args=[1, 2])"),
    ('send_task_unknown_name',
     "app.send_task('some.other.task', args=[], kwargs={'a': 1})"),
]


def capture_messages(outdir):
    ns = dict(globals())
    for fname, call in MESSAGE_CASES:
        leftovers = drain_lists()
        assert not leftovers, 'lists present before %s: %r' % (fname, leftovers)
        before = all_keys()
        result = eval(call, ns)  # the python_call string is what really ran
        time.sleep(0.05)
        after = all_keys()
        lists = drain_lists()
        msgs = []
        for qname in sorted(lists):
            for raw in lists[qname]:
                env, body = parse_envelope(raw)
                msgs.append({'queue_list': qname, 'envelope': env,
                             'decoded_body': body,
                             'raw': raw.decode('utf-8')})
        assert msgs, 'no message for %s' % fname
        obj = {'python_call': call,
               'returned': '%s(%s)' % (type(result).__name__,
                                       getattr(result, 'id', None)),
               'queue_list': msgs[0]['queue_list'],
               'envelope': msgs[0]['envelope'],
               'decoded_body': msgs[0]['decoded_body'],
               'raw': msgs[0]['raw']}
        if len(msgs) > 1:
            obj['other_messages'] = msgs[1:]
        new_keys = {k: t for k, t in after.items()
                    if k not in before and t != 'list'}
        if new_keys:
            obj['other_keys_created'] = new_keys
        write(outdir, 'messages/%s.json' % fname, obj)


# ------------------------------------------------------- (b) result records

def get_record(key):
    raw = R.get(key)
    return json.loads(raw) if raw is not None else None


def published_records(sub, key):
    return [json.loads(m['data']) for m in sub.select(
        lambda m: m['channel'] == key)]


def result_file(outdir, name, call, key, record, **extra):
    obj = {'python_call': call, 'key': key, 'record': record}
    obj.update(extra)
    write(outdir, 'results/%s.json' % name, obj)


def wait_ready(res, timeout=30):
    wait_for(lambda: res.ready(), timeout, what='result %s' % res.id)


def capture_results(outdir, sub, mon):
    ns = dict(globals())

    def run(call):
        return eval(call, ns)

    # SUCCESS
    call = 'add.delay(2, 2)'
    r = run(call)
    assert r.get(timeout=30) == 4
    key = 'celery-task-meta-' + r.id
    result_file(outdir, 'success_add', call, key, get_record(key),
                published_states=[m['status'] for m in
                                  published_records(sub, key)])
    started = [m for m in published_records(sub, key)
               if m['status'] == 'STARTED']
    if started:
        result_file(outdir, 'started_add_published', call, key, started[0],
                    note='STARTED record as PUBLISHed on channel <key> '
                         '(task_track_started=True), before SUCCESS '
                         'overwrote the key')

    # FAILURE
    call = 'fail.delay()'
    r = run(call)
    wait_ready(r)
    key = 'celery-task-meta-' + r.id
    result_file(outdir, 'failure_fail', call, key, get_record(key),
                published_states=[m['status'] for m in
                                  published_records(sub, key)])

    # RETRY then SUCCESS
    call = 'retry_once.delay()'
    r = run(call)
    assert r.get(timeout=30) == 'retried 1'
    key = 'celery-task-meta-' + r.id
    time.sleep(0.3)
    pubs = published_records(sub, key)
    result_file(outdir, 'success_after_retry', call, key, get_record(key),
                published_states=[m['status'] for m in pubs])
    retry = [m for m in pubs if m['status'] == 'RETRY']
    if retry:
        result_file(outdir, 'retry_intermediate', call, key, retry[0],
                    note='RETRY record as PUBLISHed on channel <key> '
                         '(same value was SET on the key), later overwritten')

    # STARTED (read while running)
    call = 'sleepy.delay(2)'
    r = run(call)
    key = 'celery-task-meta-' + r.id
    rec = wait_for(lambda: (get_record(key) or {}).get('status') == 'STARTED'
                   and get_record(key), 10, what='STARTED record')
    result_file(outdir, 'started_sleepy', call, key, rec,
                note='GET while the task was running, task_track_started=True')
    assert r.get(timeout=30) == 2
    result_file(outdir, 'success_sleepy', call, key, get_record(key))

    # REVOKED (revoked while waiting for its countdown, so never run)
    call = 'add.apply_async((3, 3), countdown=2)'
    r = run(call)
    t0 = time.time()
    time.sleep(0.5)
    r.revoke()
    key = 'celery-task-meta-' + r.id
    rec = wait_for(lambda: get_record(key), 15, what='REVOKED record')
    result_file(outdir, 'revoked', call + '; then AsyncResult.revoke()',
                key, rec)
    revoke_reqs = [m for m in sub.select(
        lambda m: m['t'] >= t0 and m['channel'] == '/%d.celery.pidbox' % DB)]
    if revoke_reqs:
        env, body = parse_envelope(revoke_reqs[0]['data'])
        write(outdir, 'pidbox/revoke_request.json', {
            'python_call': 'AsyncResult(%r).revoke()' % r.id,
            'channel': revoke_reqs[0]['channel'],
            'redis_command': 'PUBLISH',
            'envelope': env, 'decoded_body': body,
            'raw': revoke_reqs[0]['data'].decode('utf-8')})

    # Group member + GroupResult.save()
    call = 'group(add.s(i, i) for i in range(2)).apply_async()'
    g = run(call)
    assert g.get(timeout=30) == [0, 2]
    g.save()
    key = 'celery-taskset-meta-' + g.id
    result_file(outdir, 'taskset_group_save', call + '; then GroupResult.save()',
                key, get_record(key))
    key = 'celery-task-meta-' + g.results[1].id
    result_file(outdir, 'success_group_member', call + '  # results[1]', key,
                get_record(key))

    # Chain: children / parent_id in records
    call = 'chain(add.s(1, 1), add.s(2)).apply_async()'
    r = run(call)
    assert r.get(timeout=30) == 4
    key = 'celery-task-meta-' + r.id
    result_file(outdir, 'success_chain_last', call + '  # last task', key,
                get_record(key))
    key = 'celery-task-meta-' + r.parent.id
    result_file(outdir, 'success_chain_first', call + '  # first task', key,
                get_record(key))

    # Chord: record of the body, plus the Redis commands of the bookkeeping
    call = 'chord([add.s(1, 1), add.s(2, 2)], echo.s()).apply_async()'
    t0 = time.time()
    r = run(call)
    assert r.get(timeout=30) == [[[2, 4]], {}]
    time.sleep(0.3)
    key = 'celery-task-meta-' + r.id
    gid = r.parent.id if r.parent is not None else None
    cmds = [c for c in mon.cmds if c['t'] >= t0 - 1 and len(c['args']) > 1
            and gid and gid.encode() in c['args'][1]]
    result_file(outdir, 'success_chord_body', call + '  # body', key,
                get_record(key), group_id=gid,
                redis_commands_on_group_keys=[
                    {'t': c['t'], 'client': c['client'],
                     'args': [kname(a) for a in c['args']]} for c in cmds])


def capture_results_extended(outdir):
    for call, name in (('add.delay(2, 2)', 'success_add_extended'),
                       ('fail.delay()', 'failure_fail_extended'),
                       ("echo.delay(1, 'x', k=[1])", 'success_echo_extended')):
        r = eval(call, dict(globals()))
        wait_ready(r)
        key = 'celery-task-meta-' + r.id
        result_file(outdir, name, call + '  # worker has result_extended=True',
                    key, get_record(key))


# ------------------------------------------------- (c) pidbox and events

CONTROL_CASES = [
    ('ping', 'app.control.inspect(timeout=1.0).ping()'),
    ('ping_destination',
     "app.control.inspect(timeout=1.0, destination=['wire@capture']).ping()"),
    ('active_queues',
     "app.control.inspect(timeout=1.0, destination=['wire@capture'])"
     ".active_queues()"),
    ('rate_limit',
     "app.control.rate_limit('tasks.add', '100/s', reply=True, timeout=1.0)"),
]


def capture_control(outdir, sub, mon):
    ns = dict(globals())
    for name, call in CONTROL_CASES:
        t0 = time.time()
        replies = eval(call, ns)
        time.sleep(0.3)
        reqs = sub.select(lambda m: m['t'] >= t0 - 0.05 and
                          m['channel'] == '/%d.celery.pidbox' % DB)
        assert reqs, 'no pidbox request seen for %s' % name
        env, body = parse_envelope(reqs[0]['data'])
        write(outdir, 'pidbox/%s_request.json' % name, {
            'python_call': call, 'channel': reqs[0]['channel'],
            'redis_command': 'PUBLISH',
            'envelope': env, 'decoded_body': body,
            'raw': reqs[0]['data'].decode('utf-8')})
        pushes = [c for c in mon.select(
            b'LPUSH', lambda k: k.endswith('.reply.celery.pidbox'))
            if c['t'] >= t0 - 0.05]
        assert pushes, 'no pidbox reply seen for %s' % name
        c = pushes[0]
        env, body = parse_envelope(c['args'][2])
        write(outdir, 'pidbox/%s_reply.json' % name, {
            'python_call': call + '  # reply LPUSHed by the worker',
            'client_return_value': replies,
            'queue_list': kname(c['args'][1]),
            'redis_command': 'LPUSH (seen through MONITOR)',
            'envelope': env, 'decoded_body': body,
            'raw': c['args'][2].decode('utf-8')})


def capture_hello(outdir, sub, mon):
    """Mingle's hello broadcast sent by a starting worker (and reply if any)."""
    for m in sub.select(lambda m: m['channel'] == '/%d.celery.pidbox' % DB):
        env, body = parse_envelope(m['data'])
        if body and body.get('method') == 'hello':
            write(outdir, 'pidbox/hello_request.json', {
                'python_call': 'worker start-up (mingle)',
                'channel': m['channel'], 'redis_command': 'PUBLISH',
                'envelope': env, 'decoded_body': body,
                'raw': m['data'].decode('utf-8')})
            return


def capture_events(outdir, sub):
    seen = {}
    for m in sub.select(lambda m: m['channel'].startswith('/%d.celeryev' % DB)):
        env, body = parse_envelope(m['data'])
        evs = body if isinstance(body, list) else [body]
        for ev in evs:
            etype = ev.get('type')
            if etype and etype not in seen:
                seen[etype] = {
                    'source': 'worker %s (-E) on redis db %d' % (NODENAME, DB),
                    'channel': m['channel'], 'redis_command': 'PUBLISH',
                    'event': ev,
                    'batched': isinstance(body, list),
                    'envelope': env, 'decoded_body': body,
                    'raw': m['data'].decode('utf-8')}
    for etype, obj in sorted(seen.items()):
        write(outdir, 'events/%s.json' % etype, obj)
    return sorted(seen)


# ------------------------------------------------------------------ main

def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    outdir = os.path.abspath(sys.argv[1])
    os.makedirs(outdir, exist_ok=True)
    R.ping()
    initial = set(kname(k) for k in R.scan_iter(count=1000))
    if initial:
        sys.exit('redis db %d is not empty (%d keys); refusing to run'
                 % (DB, len(initial)))
    log('celery', celery.__version__, 'kombu', kombu.__version__,
        'redis-py', redis.__version__, 'python', sys.version.split()[0])
    sub = Subscriber()
    sub.start()
    mon = Monitor()
    mon.start()
    logpath = os.path.join(tempfile.gettempdir(), 'capture-wire-worker.log')
    open(logpath, 'w').close()
    worker = None
    try:
        capture_messages(outdir)

        t0 = time.time()
        worker = Worker(extended=False, logpath=logpath)
        worker.wait_ready(sub, t0)
        time.sleep(2.5)  # let mingle finish and one heartbeat go out
        capture_control(outdir, sub, mon)
        capture_results(outdir, sub, mon)
        capture_hello(outdir, sub, mon)
        worker.stop()
        worker = None
        time.sleep(0.5)

        t0 = time.time()
        worker = Worker(extended=True, logpath=logpath)
        worker.wait_ready(sub, t0)
        capture_results_extended(outdir)
        worker.stop()
        worker = None
        time.sleep(0.5)
        types = capture_events(outdir, sub)
        log('event types captured:', types)
        write(outdir, 'versions.json', {
            'celery': celery.__version__, 'kombu': kombu.__version__,
            'redis-py': redis.__version__,
            'python': sys.version.split()[0],
            'redis_server': R.info('server').get('redis_version'),
            'captured_at': datetime.now(timezone.utc).isoformat()})
    finally:
        if worker is not None:
            worker.stop()
        sub.stop.set()
        mon.stop.set()
        sub.join(2)
        mon.join(2)
        created = [k for k in R.scan_iter(count=1000)
                   if kname(k) not in initial]
        if created:
            R.delete(*created)
        log('deleted %d keys from db %d' % (len(created), DB))


if __name__ == '__main__':
    main()
