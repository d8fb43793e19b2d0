// Flag parsing for every command: typed readers that check a value before anything starts, and the usage text.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in the command line: printed with the command's usage, exit 2. */
export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  /** One line of synopsis and the lines that explain the flags. */
  usage: string;
  options: Options;
  positionals?: boolean;
}

/**
 * Parses `args` against the command's table; `--help` is every command's. A boolean flag also takes `--no-NAME`, and
 * `true` or `false` after it (`--smart_format false`), so that a default can be turned off; an unknown flag that is
 * one of the table's but for `-` and `_` is named in the error.
 */
export function parse(
  command: Command,
  args: string[],
): { values: Record<string, unknown>; positionals: string[]; help: boolean } {
  const options: Options = { ...command.options, help: { type: 'boolean', short: 'h' } };
  const isBoolean = (name: string) => options[name]?.type === 'boolean';
  const set: Record<string, boolean> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (name?.startsWith('no-') && isBoolean(name.slice(3))) set[name.slice(3)] = false;
    else if (name && isBoolean(name) && /^(true|false)$/.test(args[i + 1] ?? '')) set[name] = args[++i] === 'true';
    else rest.push(arg);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: command.positionals ?? false, options });
  } catch (error) {
    const unknown = /Unknown option '--([^']+)'/.exec(error instanceof Error ? error.message : '')?.[1];
    const meant =
      unknown && Object.keys(options).find((known) => known.replace(/-/g, '_') === unknown.replace(/-/g, '_'));
    if (meant) throw new UsageError(`unknown flag --${unknown}: did you mean --${meant}?`);
    if (unknown && 'param' in options)
      throw new UsageError(
        `unknown flag --${unknown}: a Deepgram parameter this version does not know goes as ` +
          `--param ${unknown}=VALUE`,
      );
    // One wording for every command (parseArgs's own speaks of positionals and '--', which only confuses).
    if (unknown) throw new UsageError(`unknown flag --${unknown}`);
    throw error;
  }
  const values: Record<string, unknown> = { ...parsed.values, ...set };
  return { values, positionals: parsed.positionals, help: values.help === true };
}

/** A string flag, or undefined. */
export function text(values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A whole number of at least `min` (1 unless said), or undefined when the flag is absent. */
export function integer(values: Record<string, unknown>, name: string, min = 1): number | undefined {
  const value = text(values, name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw new UsageError(`--${name} takes a whole number${min > 0 ? ` of at least ${min}` : ''}, not "${value}"`);
  }
  return Number(value);
}

/** A number above zero, or undefined when the flag is absent. */
export function positive(values: Record<string, unknown>, name: string): number | undefined {
  const value = text(values, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${name} takes a number above 0, not "${value}"`);
  return n;
}

/** One of `choices`, or undefined when the flag is absent. */
export function oneOf<T extends string>(
  values: Record<string, unknown>,
  name: string,
  choices: readonly T[],
): T | undefined {
  const value = text(values, name);
  if (value === undefined) return undefined;
  const chosen = choices.find((choice) => choice === value);
  if (chosen === undefined) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, not "${value}"`);
  return chosen;
}
