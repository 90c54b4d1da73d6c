// Asks the time server for the time three ways and estimates the clock offset between the two machines
// (half the round trip, as NTP's simplest form does). Usage: client.ts [tcp://127.0.0.1:4242]
import { Celeriac } from 'celeriac';

interface TimeApi {
  ctime(): string;
  now(args: { tz?: string }): { iso: string; zone: string; text: string };
  epochMs(): number;
}

const url = process.argv[2] ?? 'tcp://127.0.0.1:4242';
const app = new Celeriac('time-client'); // a direct URL: the app's broker is never opened
const secret = process.env['CELERIAC_RPC_SECRET']; // the server's --secret (celeriac serve reads the same variable)
const time = app.rpc.client<TimeApi>({ url, timeout: 5_000, ...(secret ? { driver: { secret } } : {}) });

console.log(`ctime: ${await time.proxy.ctime()}`);
for (const tz of ['UTC', 'Asia/Shanghai', 'America/New_York']) console.log(`${tz}: ${(await time.call('now', { tz })).text}`);
const sent = Date.now();
const server = await time.proxy.epochMs();
const received = Date.now();
console.log(`round trip ${received - sent} ms, clock offset ~${server - (sent + received) / 2} ms`);
try {
  await time.call('now', { tz: 'Mars/Olympus_Mons' });
} catch (err) {
  console.log(`bad zone refused: ${(err as Error).message}`);
}
await app.close();
