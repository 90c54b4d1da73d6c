/** `celeriac result` (placeholder registration; being written). */
import type { Command } from 'commander';

export function registerResult(program: Command): void {
  void program;
}
