"""Tiny Celery task module used by scripts/capture-wire.py to produce golden
wire fixtures from a real Python Celery (Debian's python3-celery 5.2.x).

Environment:
  WIRE_BROKER           broker URL   (default redis://127.0.0.1:6379/13)
  WIRE_BACKEND          result URL   (default redis://127.0.0.1:6379/13)
  WIRE_RESULT_EXTENDED  "1" to set result_extended=True
  WIRE_TRACK_STARTED    "0" to disable task_track_started (default on)
"""
import os
import time

from celery import Celery

BROKER = os.environ.get('WIRE_BROKER', 'redis://127.0.0.1:6379/13')
BACKEND = os.environ.get('WIRE_BACKEND', 'redis://127.0.0.1:6379/13')

app = Celery('tasks', broker=BROKER, backend=BACKEND)
app.conf.update(
    task_track_started=os.environ.get('WIRE_TRACK_STARTED', '1') == '1',
    result_extended=os.environ.get('WIRE_RESULT_EXTENDED', '0') == '1',
    worker_hijack_root_logger=False,
)


@app.task(name='tasks.add')
def add(x, y):
    return x + y


@app.task(name='tasks.fail')
def fail():
    raise ValueError('boom')


@app.task(name='tasks.retry_once', bind=True)
def retry_once(self):
    if self.request.retries == 0:
        raise self.retry(countdown=0)
    return 'retried %d' % self.request.retries


@app.task(name='tasks.echo')
def echo(*args, **kwargs):
    return [args, kwargs]


@app.task(name='tasks.sleepy')
def sleepy(seconds):
    time.sleep(seconds)
    return seconds
