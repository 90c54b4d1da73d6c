import { createTransport } from '/work/wt-faults-disk/src/transport/sqlite/index.ts';
import { fillDisk } from '/work/wt-faults-disk/tests/faults/small-disk.ts';
import { rmSync, statSync } from 'node:fs';
import { execSync } from 'node:child_process';
const t = createTransport('sqlite:///tmp/fd-mnt/b.db', {});
await t.connect();
await t.declareQueue({ name: 'q', durable: true });
const msg = { body: Buffer.from('[[1],{},{}]'), contentType: 'application/json', contentEncoding: 'utf-8', headers: {}, properties: {} };
const pub = () => t.publish(msg, { exchange: '', routingKey: 'q' });
for (let i = 0; i < 20; i++) await pub();
const df = () => execSync('df -k /tmp/fd-mnt | tail -1; ls -la /tmp/fd-mnt').toString();
console.log(df());
fillDisk('/tmp/fd-mnt/filler');
let ok = 0;
try { for (;;) { await pub(); ok++; } } catch (e) { console.log('full after', ok, (e as Error).message.slice(0, 60)); }
console.log(df());
rmSync('/tmp/fd-mnt/filler');
console.log(df());
try { await pub(); console.log('ok after free'); } catch (e) { console.log('still', (e as any).cause?.code); }
console.log(df());
await t.close();
