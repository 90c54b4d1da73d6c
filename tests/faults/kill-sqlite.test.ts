// kill -9 on sqlite:// (harness.ts): a worker killed mid-batch, and pool children killed mid-batch, lose no
// task; the messages a dead worker held come back as soon as another worker sees that its pid is gone.
import { afterAll, describe, it } from 'vitest';
import { tempDir } from '../helpers/temp.js';
import { killChildren, killWorkers, type Broker } from './harness.js';

const dir = tempDir('celeriac-faults-sqlite-');
afterAll(() => dir.remove());
const broker = (name: string): Broker => ({ name: 'sqlite', url: `sqlite://${dir.file(`${name}.db`)}`, countsForeignUnacked: true });

describe('kill -9 on sqlite://', { timeout: 150_000 }, () => {
  it('a worker killed mid-batch (late acks): none of 10,000 tasks lost, duplicates only of what it held', async () => {
    await killWorkers(broker('workers'));
  });

  it('pool children killed mid-batch (acksLate + rejectOnWorkerLost): none lost', async () => {
    await killChildren(broker('children'));
  });
});
