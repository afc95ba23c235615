import { EXIT } from './exit-codes.ts';

/** Where a command writes text: a process stream, or a string buffer in tests. */
export interface TextSink {
  write(text: string): unknown;
  /** A terminal: only then does backfill redraw its progress line. */
  isTTY?: boolean;
  /** Width of the terminal. */
  columns?: number;
}

/** What one run of the command line reads from and writes to. */
export interface CliStreams {
  stdout: TextSink;
  stderr: TextSink;
  /** Standard input, opened on first use (`backfill -`). */
  stdin(): NodeJS.ReadableStream;
  /**
   * Where `start` writes its log lines; unset: standard output through pino's own writer (the
   * binary, fastest). Tests set it to read the lines.
   */
  logs?: TextSink;
  /** Configuration is read from here, never from process.env. */
  env: Readonly<Record<string, string | undefined>>;
  /** Resolves with a signal name when a long-running command (`start`) should stop. */
  untilStopped: () => Promise<string>;
}

/**
 * The outside world of one run of `course-sync`. The binary passes the process's own
 * (processIO), tests their own, so every command also runs inside a test's process:
 * commands print with out/err and set exitCode, and touch nothing of `process` themselves.
 */
export interface CliIO extends CliStreams {
  /** Prints a line on standard output. */
  out: (text: string) => void;
  /** Prints a line on standard error. */
  err: (text: string) => void;
  /** The code the run ends with (0 unless a command sets another). */
  exitCode: number;
}

export function createIO(streams: CliStreams): CliIO {
  return {
    ...streams,
    out: (text) => streams.stdout.write(`${text}\n`),
    err: (text) => streams.stderr.write(`${text}\n`),
    exitCode: EXIT.ok,
  };
}

/** The process's own streams and environment; `start` stops on SIGTERM or SIGINT. */
export function processIO(): CliIO {
  return createIO({
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: () => process.stdin,
    env: process.env,
    untilStopped: () =>
      new Promise((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      }),
  });
}
