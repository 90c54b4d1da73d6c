import { Redis } from 'ioredis';
const r = new Redis('redis://127.0.0.1:6379/0');
const keys = await r.keys('fk-repro-*unacked_index');
console.log(keys);
for (const k of keys) {
  const z = await r.zrange(k, 0, 3, 'WITHSCORES');
  console.log(k, z, Date.now() / 1000);
  const h = await r.hgetall(k.replace('unacked_index', 'unacked'));
  const [t, v] = Object.entries(h)[0] ?? [];
  console.log(t, v?.slice(0, 300), '...', v?.slice(-80));
}
r.disconnect();
