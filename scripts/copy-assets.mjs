// Copies non-TypeScript runtime files (Lua scripts, the dashboard's page in assets/ folders) from src/ to dist/ after tsc.
import { cpSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.lua') || /(^|\/)assets\//.test(path)) {
      const target = path.replace(/^src/, 'dist');
      mkdirSync(dirname(target), { recursive: true });
      cpSync(path, target);
    }
  }
}
walk('src');
