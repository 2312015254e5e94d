/**
 * Flags as flanneld reads them, for yargs: Go's flag forms on the command line (`-flag`,
 * `-flag=value`, booleans as strconv.ParseBool spells them), each flag also from the environment as
 * TWILLD_<NAME> or FLANNELD_<NAME> with coreos/pkg flagutil's rules (one value per variable, empty
 * ones skipped, the command line wins), and a repeated single-valued flag taking its last value.
 */
import type { Argv } from 'yargs';
import { InvalidConfigError } from '../../shared/errors.js';

/**
 * One flag. `ignored`: a flanneld flag twill accepts without acting on it; the text says why and is
 * logged as a warning naming the flag when the flag is given. `flannelDefault`: flanneld's default
 * of such a flag (twill leaves it unset, so that "given" can be told apart).
 */
export interface FlagSpec {
  readonly type: 'string' | 'number' | 'boolean';
  readonly array?: boolean;
  readonly default?: unknown;
  readonly choices?: readonly string[];
  readonly describe: string;
  readonly ignored?: string;
  readonly flannelDefault?: string;
}

/** The names of the boolean flags of a flag table. */
export function booleanFlags(flags: Readonly<Record<string, FlagSpec>>): ReadonlySet<string> {
  return new Set(Object.entries(flags).filter(([, f]) => f.type === 'boolean').map(([n]) => n));
}

/** Go's strconv.ParseBool spellings, as yargs' "true"/"false". */
const GO_BOOL: Readonly<Record<string, string>> = { 1: 'true', t: 'true', T: 'true', TRUE: 'true', True: 'true', 0: 'false', f: 'false', F: 'false', FALSE: 'false', False: 'false' };

/**
 * A command line in Go's flag forms made readable by yargs: `-name`, `-name=value` (one dash, a name
 * longer than a letter, or klog's `-v`) become `--name…`; `-h` is `--help`; a boolean flag's
 * `=1`, `=t`, `=F`… becomes `=true`/`=false`. Arguments after `--` are left alone, as are negative
 * numbers.
 */
export function goFlagForms(argv: readonly string[], booleans: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (arg === '-h' || arg === '-help') arg = '--help';
    else if (/^-[A-Za-z][\w.-]+(=.*)?$/s.test(arg) || /^-v(=.*)?$/s.test(arg)) arg = '-' + arg;
    const m = /^--([\w.-]+)=(.*)$/s.exec(arg);
    if (m && booleans.has(m[1]!) && GO_BOOL[m[2]!] !== undefined) arg = `--${m[1]}=${GO_BOOL[m[2]!]}`;
    out.push(arg);
  }
  return out;
}

/** The variable names of a flag, in precedence order. */
function variablesOf(name: string): string[] {
  const suffix = name.toUpperCase().replace(/[-.]/g, '_');
  return [`TWILLD_${suffix}`, `FLANNELD_${suffix}`];
}

/**
 * The flags' values from the environment (TWILLD_* before FLANNELD_*; empty variables skipped), as
 * a yargs config object, which the command line overrides. A list flag's variable is one element.
 */
export function flagsFromEnv(env: NodeJS.ProcessEnv, flags: Readonly<Record<string, FlagSpec>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(flags)) {
    const v = variablesOf(name).map((k) => env[k]).find((x) => x !== undefined && x !== '');
    if (v !== undefined) out[name] = f.array ? [v] : v;
  }
  return out;
}

/** FLANNELD_* variables alone, as flagsFromEnv reads them. */
export function flanneldEnv(env: NodeJS.ProcessEnv, flags: Readonly<Record<string, FlagSpec>>): Record<string, unknown> {
  return flagsFromEnv(Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('FLANNELD_'))), flags);
}

/** A repeated single-valued flag: the last one counts, as with flannel's Go flags (yargs would make a list). */
const lastValue = (v: unknown): unknown => (Array.isArray(v) ? v[v.length - 1] : v);

/** A boolean as Go's strconv.ParseBool reads it. */
export function goBool(v: unknown): boolean | undefined {
  if (v === undefined || typeof v === 'boolean') return v;
  const s = String(v);
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(s)) return false;
  throw new InvalidConfigError(`invalid boolean value "${s}": use true or false`);
}

/** The log level -v asks for (klog verbosity), unless --log-level says otherwise. */
function logLevelOf(a: Record<string, unknown>): string {
  if (a['log-level'] !== undefined) return String(a['log-level']);
  const v = Number(a['v'] ?? 0);
  return v >= 5 ? 'trace' : v >= 1 ? 'debug' : 'info';
}

/** Adds flags, their Go value forms and their variables to a yargs instance. */
export function withFlags(y: Argv, flags: Readonly<Record<string, FlagSpec>>, env: NodeJS.ProcessEnv = process.env): Argv {
  const options = Object.fromEntries(Object.entries(flags).map(([name, f]) => {
    const { ignored: _i, flannelDefault: _d, ...o } = f;
    if (f.array) return [name, o];
    return [name, { ...o, coerce: f.type === 'boolean' ? (v: unknown) => goBool(lastValue(v)) : lastValue }];
  }));
  const withLevel = 'log-level' in flags ? (a: Record<string, unknown>) => {
    a['log-level'] = logLevelOf(a);
  } : undefined;
  const y2 = y.options(options as never).config(flagsFromEnv(env, flags)) as unknown as Argv;
  return (withLevel ? y2.middleware(withLevel as never) : y2) as unknown as Argv;
}
