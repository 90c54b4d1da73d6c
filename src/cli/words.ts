/**
 * Words of a command line, as a POSIX shell splits and quotes them (without expansion): `splitWords` reads a
 * line typed into `celeriac amqp`, `shellQuote` writes the command lines `celeriac multi show` prints.
 */
import { UsageError } from './usage.js';

/**
 * Splits a line into words: blanks separate, '...' keeps everything literally, "..." keeps everything but
 * `\"` and `\\`, a backslash outside quotes escapes the next character. `''` is an empty word.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`unclosed ${quote === "'" ? 'single' : 'double'} quote in: ${line}`);
  if (inWord) words.push(word);
  return words;
}

/** Quotes a word for sh when it needs it: `a b` becomes `'a b'`, `it's` becomes `'it'\''s'`. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
