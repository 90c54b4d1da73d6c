/** The shared ResultBackend contract suite on memory://. */
import { describe, it } from 'vitest';
import { backendConformance } from '../../src/backend/conformance.js';
import { createBackend } from '../../src/backend/memory/index.js';

const cases = backendConformance((options) => createBackend('memory://', options), { promptMs: 50 });

describe('result backend conformance: memory://', () => {
  for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run);
});
