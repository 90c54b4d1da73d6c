/**
 * Test runner configuration. Test files run in parallel in separate processes (`forks`: better-sqlite3
 * and child processes behave better there than in worker threads); every test uses its own temp files
 * and queue names, so files never share state. The soak (tests/soak/, a steady load measured for minutes)
 * is a project of its own that runs after every other file has finished, so nothing else loads the machine
 * while it measures.
 */
import { defineConfig } from 'vitest/config';

const SOAK = 'tests/soak/**/*.test.ts';

export default defineConfig({
  test: {
    exclude: ['**/node_modules/**', 'dist/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
    // Real brokers and child processes: report slow tests, never hide them behind retries.
    slowTestThreshold: 2_000,
    projects: [
      { extends: true, test: { name: 'suite', include: ['tests/**/*.test.ts'], exclude: ['**/node_modules/**', 'dist/**', SOAK], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'soak', include: [SOAK], sequence: { groupOrder: 1 } } },
    ],
  },
});
