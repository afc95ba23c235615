import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChainableCommander, Redis } from 'ioredis';

/**
 * The one loader of course-sync's Lua scripts. Each script is a `.lua` file of its own beside the
 * module that runs it (`src/<room>/scripts/<name>.lua`), starting with what it does and a block
 * that names every KEYS[i] and ARGV[i] (test/lua-scripts.test.ts holds every file to that). A
 * script is read once, when its module loads, and defined on a client with ioredis' defineCommand
 * the first time it runs there: Redis then runs it by its SHA (EVALSHA; ioredis sends the text
 * only on a connection's first call, and again after a NOSCRIPT, such as after Redis restarted).
 *
 * Includes: a line `--- @include "includes/<name>"` (BullMQ's own notation) is replaced by the text
 * of `includes/<name>.lua` beside the script, so that Lua functions several scripts share — the
 * records an observer writes, BullMQ's job format — are written once. An include defines functions
 * and constants only; it may not include another.
 */

/** What a script takes: its KEYS, then its ARGV, as ioredis sends them. */
export type ScriptArg = string | number | Buffer;

const INCLUDE = /^--- @include "([^"]+)"$/gm;

/** The text of the script at `path`, its includes in place. */
function readLua(path: string): string {
  return readFileSync(path, 'utf8').replace(INCLUDE, (_, name: string) => {
    const file = join(dirname(path), `${name}.lua`);
    const text = readFileSync(file, 'utf8');
    if (text.match(INCLUDE)) throw new Error(`Lua include ${file} includes another: an include holds functions only`);
    return text.trimEnd();
  });
}

/** `note-courses.lua` → `csNoteCourses`: the name the script has on a client. */
function commandName(path: string): string {
  return `cs${basename(path, '.lua').replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase())}`;
}

/** The file of every script loaded, by its command name (two files may not share one). */
const loaded = new Map<string, string>();

/**
 * One Lua script: `Args` its KEYS then its ARGV (name them in the tuple type, as the file does),
 * `Result` what it returns.
 */
export class LuaScript<Args extends ScriptArg[], Result> {
  /** The name it is defined under on a client (`cs` and its file's name). */
  readonly name: string;
  /** The script's text, includes in place. */
  readonly lua: string;

  constructor(
    /** The `.lua` file's absolute path. */
    readonly path: string,
    /** How many of its arguments are KEYS (they come first). */
    readonly numberOfKeys: number,
  ) {
    this.name = commandName(path);
    const other = loaded.get(this.name);
    if (other && other !== path)
      throw new Error(`Lua scripts ${other} and ${path} would both be ${this.name}: rename one`);
    this.lua = readLua(path);
    loaded.set(this.name, path);
  }

  /** Defines the script on `redis` unless it is there already: once per client. A pipeline made before has not got it. */
  define(redis: Redis): void {
    if (!(this.name in redis)) redis.defineCommand(this.name, { numberOfKeys: this.numberOfKeys, lua: this.lua });
  }

  /** Runs the script on `redis` (by its SHA), defining it there first if need be. */
  async run(redis: Redis, ...args: Args): Promise<Result> {
    this.define(redis);
    return (await (redis as unknown as Record<string, (...a: Args) => Promise<unknown>>)[this.name]!(
      ...args,
    )) as Result;
  }

  /** Queues the script on `pipeline`, whose client must have had it defined (`define`) before the pipeline was made. */
  queue(pipeline: ChainableCommander, ...args: Args): void {
    const command = (pipeline as unknown as Record<string, ((...a: Args) => unknown) | undefined>)[this.name];
    if (typeof command !== 'function')
      throw new Error(
        `Lua script ${this.name} is not defined on this pipeline's client: call define(redis) before redis.pipeline()`,
      );
    command.apply(pipeline, args);
  }
}

/**
 * The script `file` (relative to the module whose `import.meta.url` is `moduleUrl`), read now;
 * `numberOfKeys` of its arguments are KEYS.
 */
export function luaScript<Args extends ScriptArg[], Result>(
  moduleUrl: string,
  file: string,
  numberOfKeys: number,
): LuaScript<Args, Result> {
  return new LuaScript<Args, Result>(join(dirname(fileURLToPath(moduleUrl)), file), numberOfKeys);
}
