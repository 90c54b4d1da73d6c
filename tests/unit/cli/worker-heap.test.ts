// Which V8 heap flags `celeriac worker` sets before it loads anything (src/cli/worker-heap.ts).
import { describe, expect, it } from 'vitest';
import { workerHeapFlags } from '../../../src/cli/worker-heap.js';

const argv = (...args: string[]): string[] => ['/usr/bin/node', '/x/dist/cli/main.js', ...args];

describe('workerHeapFlags', () => {
  it('a worker gets a small young generation and a slowly growing old one', () => {
    expect(workerHeapFlags(argv('worker', '-A', 'tasks.ts', '-c', '50'), '')).toEqual(['--semi-space-growth-factor=1', '--heap-growing-percent=20']);
  });

  it('other commands, and a worker with --node-heap, keep Node defaults', () => {
    expect(workerHeapFlags(argv('call', 'tasks.add'), '')).toEqual([]);
    expect(workerHeapFlags(argv('--help'), '')).toEqual([]);
    expect(workerHeapFlags(argv('worker', '--node-heap'), '')).toEqual([]);
  });

  it("flags given to node itself win over the one they concern", () => {
    expect(workerHeapFlags(argv('worker'), '--max-semi-space-size=8')).toEqual(['--heap-growing-percent=20']);
    expect(workerHeapFlags(argv('worker'), ' --max_old_space_size=512')).toEqual(['--semi-space-growth-factor=1']);
    expect(workerHeapFlags(argv('worker'), '--max-semi-space-size=8 --heap-growing-percent=50')).toEqual([]);
  });
});
