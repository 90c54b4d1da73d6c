// The app of the broker-restart fault tests' worker processes: `faults.mul(i)` appends i to RECORD_FILE (one
// line per execution, so the test counts runs and duplicates) and returns i * 7. Imports the built package.
import { appendFileSync } from 'node:fs';
import { Celeriac } from 'celeriac';

export const app = new Celeriac('faults-restart');

app.task('faults.mul', (i: number) => {
  const file = process.env['RECORD_FILE'];
  if (file) appendFileSync(file, `${i}\n`);
  return i * 7;
});
