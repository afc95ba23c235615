import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LuaScript } from '../src/redis/scripts.ts';
import { redisUrl } from './support/env.ts';

// Every Lua script is a .lua file of its own: it says what it does, names the KEYS and ARGV it
// reads, is run by a module of its room, and compiles on the Redis the tests run.

const SRC = join(import.meta.dirname, '..', 'src');

function filesUnder(dir: string, ending: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ending))
    .map((f) => join(dir, f));
}

const luaFiles = filesUnder(SRC, '.lua');
const scripts = luaFiles.filter((f) => !f.includes(`${join('scripts', 'includes')}`));
const tsText = filesUnder(SRC, '.ts').map((f) => ({ file: relative(SRC, f), text: readFileSync(f, 'utf8') }));
const name = (f: string) => relative(SRC, f);

/** A line reading KEYS[n] or ARGV[n] by a bare number must give it a name there. */
const BARE_INDEX = /\b(KEYS|ARGV)\[\d+\]/;
const NAMING_LINE = /^\s*local [A-Za-z_][A-Za-z0-9_]* *= *(tonumber\()?(KEYS|ARGV)\[\d+\]\)?\s*(--.*)?$/;

describe('Lua scripts', () => {
  it('are found where the loader looks for them', () => {
    expect(scripts.length).toBeGreaterThan(20);
  });

  it('open with a block that says what they do', () => {
    const without = luaFiles.filter((f) => !/^--\[\[\n\s+\S[\s\S]*?\]\]/.test(readFileSync(f, 'utf8')));
    expect(without.map(name)).toEqual([]);
  });

  it('name every KEYS[n] and ARGV[n] they read by number', () => {
    const unnamed = luaFiles.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${name(f)}:${i + 1}` }))
        .filter(({ line }) => BARE_INDEX.test(line.replace(/--.*$/, '')) && !NAMING_LINE.test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(unnamed).toEqual([]);
  });

  it('each is run by a module, and no TypeScript file holds Lua of its own', () => {
    const unused = scripts.filter((f) => !tsText.some(({ text }) => text.includes(`/${basename(f)}'`)));
    expect(unused.map(name)).toEqual([]);
    const inline = tsText.filter(
      ({ file, text }) => file !== join('redis', 'scripts.ts') && /\b(KEYS|ARGV)\[/.test(text),
    );
    expect(inline.map(({ file }) => file)).toEqual([]);
  });

  describe('on Redis', () => {
    let redis: Redis;
    beforeAll(() => {
      redis = new Redis(redisUrl());
    });
    afterAll(async () => {
      await redis.quit();
    });

    it('each compiles, its includes in place', async () => {
      const refused: string[] = [];
      for (const file of scripts) {
        const script = new LuaScript(file, 0);
        expect(script.lua).not.toContain('@include');
        await redis.script('LOAD', script.lua).catch((e: Error) => refused.push(`${name(file)}: ${e.message}`));
      }
      expect(refused).toEqual([]);
    });
  });
});
