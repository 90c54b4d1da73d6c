// The producer process of bench/memory.ts, plain JavaScript (no TypeScript loader in the process measured):
//   node bench/memory-producer.mjs <broker-url> <n> <batch>
// Sends n `bench.add` tasks with app.sendMany in batches, dropping the AsyncResults, and prints
// `sent <count>` after each batch so the parent can read its RSS against the number sent.
import { Celeriac } from 'celeriac';

const [broker = '', nText = '0', batchText = '1000'] = process.argv.slice(2);
const n = Number(nText);
const batch = Number(batchText);
if (!broker || !Number.isInteger(n) || n < 1 || !Number.isInteger(batch) || batch < 1) {
  process.stderr.write('usage: node bench/memory-producer.mjs <broker-url> <n> <batch>\n');
  process.exit(2);
}
const app = new Celeriac('bench', { broker, backend: 'memory://' });
await app.connection();
for (let i = 0; i < n; i += batch) {
  const calls = [];
  for (let j = i; j < Math.min(n, i + batch); j++) calls.push({ name: 'bench.add', args: [j, 1] });
  await app.sendMany(calls);
  process.stdout.write(`sent ${Math.min(n, i + batch)}\n`);
}
await app.close();
process.stdout.write('done\n');
