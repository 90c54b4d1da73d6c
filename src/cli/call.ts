/** `celeriac call` (placeholder registration; being written). */
import type { Command } from 'commander';

export function registerCall(program: Command): void {
  void program;
}
