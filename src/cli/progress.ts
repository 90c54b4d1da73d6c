/** Progress on stderr for long CLI runs (`call --group --wait`, `migrate`): a redrawn bar on a terminal, a line per tenth otherwise. */

export interface Progress {
  done: number;
  total: number;
  failed?: number;
}

export interface ProgressPrinter {
  update(p: Progress): void;
  end(p: Progress): void;
}

/** `label` names what `done` counts ("done", "moved"). The bar is redrawn at most every 100 ms. */
export function progressPrinter(total: number, label = 'done'): ProgressPrinter {
  const tty = process.stderr.isTTY === true;
  let lastDraw = 0;
  let lastTenth = -1;
  const ratio = (p: Progress): number => (p.total > 0 ? Math.min(1, p.done / p.total) : 1);
  const text = (p: Progress): string => `${p.done}/${p.total} ${label} (${Math.floor(100 * ratio(p))}%)${p.failed ? `, ${p.failed} failed` : ''}`;
  const bar = (p: Progress): string => {
    const width = Math.max(10, Math.min(40, (process.stderr.columns ?? 80) - 40));
    const full = Math.round(width * ratio(p));
    return `\r[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${text(p)}`;
  };
  return {
    update(p) {
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && p.done < total) return;
        lastDraw = now;
        process.stderr.write(bar(p));
      } else {
        const tenth = Math.floor(10 * ratio(p));
        if (tenth === lastTenth) return;
        lastTenth = tenth;
        process.stderr.write(`progress: ${text(p)}\n`);
      }
    },
    end(p) {
      if (tty) process.stderr.write(`${bar(p)}\n`);
      else if (lastTenth !== 10 || p.done !== total) process.stderr.write(`progress: ${text(p)}\n`);
    },
  };
}
