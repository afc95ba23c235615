import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/main.ts';
import { runCli } from './support/cli.ts';

/** Every command path of the CLI, e.g. ["dlq", "replay"], from the program itself (so new commands are covered). */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

const paths = commandPaths(buildProgram());

describe('course-sync --help', () => {
  it('covers the commands of the issue', () => {
    const names = paths.map((p) => p.join(' '));
    for (const name of ['start', 'emit', 'backfill', 'doctor']) expect(names).toContain(name);
  });

  it('answers the program --help with every command, exit 0', async () => {
    const res = await runCli(['--help']);
    expect(res.code).toBe(0);
    for (const [top] of paths) expect(res.stdout).toContain(`  ${top}`);
  });

  it('answers --help on every command and subcommand with its usage, exit 0', async () => {
    for (const p of paths) {
      const res = await runCli([...p, '--help']);
      const path = p.join(' ');
      expect(res.code, path).toBe(0);
      expect(res.stdout, path).toContain(`Usage: course-sync ${path}`);
      expect(res.stderr, path).toBe('');
    }
  });

  it('exits 2 on an unknown command', async () => {
    const res = await runCli(['frobnicate']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
