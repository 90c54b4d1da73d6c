// Copies non-TypeScript runtime files (Lua scripts) from src/ to dist/ after tsc.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.lua')) cpSync(path, path.replace(/^src/, 'dist'));
  }
}
walk('src');
