/**
 * What AsyncLocalStorage costs every promise of the process on this Node version: the same async loop
 * before any AsyncLocalStorage ran, inside als.run(), and after (async hooks stay on).
 *   npx tsx bench/als-cost.ts
 */
import { AsyncLocalStorage } from 'node:async_hooks';

async function leaf(i: number): Promise<number> {
  return i + 1;
}
async function mid(i: number): Promise<number> {
  return leaf(await leaf(i));
}
async function work(n: number): Promise<number> {
  let s = 0;
  for (let i = 0; i < n; i++) s += await mid(i);
  return s;
}
async function time(label: string): Promise<void> {
  await work(200_000);
  const t0 = performance.now();
  await work(1_000_000);
  console.log(`${label}: ${(performance.now() - t0).toFixed(0)} ns per iteration (3 async calls, 3 awaits)`);
}

await time('no AsyncLocalStorage yet  ');
const als = new AsyncLocalStorage<{ id: number }>();
await als.run({ id: 1 }, () => time('inside als.run()          '));
await time('after als.run (hooks on)  ');
console.log(`Node ${process.version}`);
