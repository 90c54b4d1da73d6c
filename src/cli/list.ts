/** `celeriac list` (placeholder registration; being written). */
import type { Command } from 'commander';

export function registerList(program: Command): void {
  void program;
}
