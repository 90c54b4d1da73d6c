/**
 * Test runner configuration. Test files run in parallel in separate processes (`forks`: better-sqlite3
 * and child processes behave better there than in worker threads); every test uses its own temp files
 * and queue names, so files never share state.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'dist/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
    // Real brokers and child processes: report slow tests, never hide them behind retries.
    slowTestThreshold: 2_000,
  },
});
