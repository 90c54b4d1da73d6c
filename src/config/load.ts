/** Builds the resolved configuration from defaults, user options and the environment, with clear errors. */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { OPTIONS, type Config, type ConfigInput, type OptionName } from './options.js';

function nearest(name: string): string | undefined {
  const lower = name.toLowerCase().replace(/[_-]/g, '');
  return (Object.keys(OPTIONS) as OptionName[]).find((k) => k.toLowerCase() === lower || k.toLowerCase().includes(lower) || lower.includes(k.toLowerCase()));
}

function fromEnv(name: OptionName, text: string): unknown {
  const schema = OPTIONS[name].schema as z.ZodTypeAny;
  if (schema instanceof z.ZodNumber) return Number(text);
  if (schema instanceof z.ZodBoolean) return /^(1|true|yes|on)$/i.test(text);
  return text;
}

function describe(issue: z.ZodIssue): string {
  if (issue.code === 'invalid_enum_value') return `expected one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}`;
  return issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
}

/**
 * Resolves options: defaults < user options < environment variables (CELERIAC_BROKER_URL and friends).
 * Throws ConfigError naming the bad key and what it accepts.
 */
export function loadConfig(input: ConfigInput = {}, env: Record<string, string | undefined> = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    if (!(key in OPTIONS)) {
      const near = nearest(key);
      throw new ConfigError(`unknown option '${key}'.${near ? ` Did you mean '${near}'?` : ''} Known options: ${Object.keys(OPTIONS).join(', ')}.`);
    }
  }
  for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, (typeof OPTIONS)[OptionName]][]) {
    let value: unknown = (input as Record<string, unknown>)[name];
    let source = `option '${name}'`;
    const envText = spec.env ? env[spec.env] : undefined;
    if (spec.env && envText !== undefined && envText !== '') {
      value = fromEnv(name, envText);
      source = `environment variable ${spec.env}`;
    }
    if (value === undefined) value = spec.default;
    const parsed = (spec.schema as z.ZodTypeAny).safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0] as z.ZodIssue;
      const where = issue.path.length ? ` at ${issue.path.join('.')}` : '';
      throw new ConfigError(`invalid ${source}${where}: ${describe(issue)} (got ${JSON.stringify(value)}). ${spec.doc}`);
    }
    out[name] = parsed.data;
  }
  return out as Config;
}
