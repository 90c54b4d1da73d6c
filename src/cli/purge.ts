/** `celeriac purge` (placeholder registration; being written). */
import type { Command } from 'commander';

export function registerPurge(program: Command): void {
  void program;
}
