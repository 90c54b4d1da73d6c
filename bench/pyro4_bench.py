"""Python Pyro4 side of `npm run bench:pyro` (json serializer, Pyro4's default thread-pool server).
usage: pyro4_bench.py serve HOST          prints `URI <uri>`, then serves a Bench object (add)
       pyro4_bench.py client URI N WARMUP  N sequential add() calls; prints JSON {p50_us, p99_us, calls_per_s}"""
import json
import sys
import time

import Pyro4

Pyro4.config.SERIALIZER = 'json'
Pyro4.config.SERIALIZERS_ACCEPTED = {'json'}


@Pyro4.expose
class Bench(object):
    def add(self, x, y):
        return x + y


if sys.argv[1] == 'serve':
    daemon = Pyro4.Daemon(host=sys.argv[2], port=0)
    print('URI', daemon.register(Bench(), 'bench'), flush=True)
    daemon.requestLoop()
else:
    uri, n, warmup = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    p = Pyro4.Proxy(uri)
    for i in range(warmup):
        p.add(i, 1)
    lat = []
    t0 = time.perf_counter()
    for i in range(n):
        s = time.perf_counter()
        p.add(i, 1)
        lat.append(time.perf_counter() - s)
    total = time.perf_counter() - t0
    lat.sort()
    print(json.dumps({'p50_us': lat[len(lat) // 2] * 1e6, 'p99_us': lat[int(len(lat) * 0.99)] * 1e6, 'calls_per_s': n / total}))
