import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { EVENT_TYPES } from '../events/types.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';
import { emitSendGridEvents, emitSendGridKeys } from './emit-sendgrid.ts';
import { localWebhookUrl, postAndReport, postWebhook } from './post-webhook.ts';

const FIXTURES = fileURLToPath(new URL('../../fixtures/loopwise/', import.meta.url));

interface EmitOptions {
  url?: string;
  secret?: string;
  id?: string;
  key?: string;
}

/** A usage mistake the user can fix (unknown type, unreadable file, not JSON). */
class EmitUsageError extends Error {}

/**
 * The body to send: the seed sample of a known event type, or the JSON file at `source`; sent
 * byte for byte unless `id` replaces `data.id` (then re-serialised).
 */
export function emitBody(source: string, id?: string): { body: string; origin: string } {
  const fixture = `${FIXTURES}${source}.json`;
  const path = !source.includes('/') && existsSync(fixture) ? fixture : source;
  if (!existsSync(path)) {
    throw new EmitUsageError(`"${source}" is neither an event type (${EVENT_TYPES.join(', ')}) nor a file`);
  }
  const text = readFileSync(path, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new EmitUsageError(`${path} is not valid JSON`);
  }
  const origin = path === fixture ? `seed sample ${source}` : path;
  if (id === undefined) return { body: text, origin };
  const data = (parsed as { data?: unknown } | null)?.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new EmitUsageError(`--id needs a body with a "data" object (${path})`);
  (data as Record<string, unknown>).id = id;
  return { body: JSON.stringify(parsed), origin };
}

/** Registers `course-sync emit <type|file>`: sends a signed webhook to a running receiver. */
export function registerEmit(program: Command, io: CliIO): void {
  program
    .command('emit')
    .description('send a correctly signed webhook (a seed sample or a JSON file) to a running receiver')
    .argument(
      '<type|file>',
      `event type of a seed sample (${EVENT_TYPES.join(', ')}) or a JSON file; or sendgrid-events, sendgrid-keys`,
    )
    .argument('[events-file]', 'with sendgrid-events: a JSON array of SendGrid events')
    .option('--url <url>', 'webhook URL (default: http://localhost:$PORT/webhooks/loopwise, or …/webhooks/sendgrid)')
    .option('--secret <secret>', 'signing key (default: the first of WEBHOOK_SECRET; none: sent unsigned)')
    .option(
      '--id <id>',
      'replace data.id, e.g. to send a new enrollment instead of a duplicate (sendgrid-events: a sample batch for this enrollment id)',
    )
    .option('--key <file>', 'sendgrid-events: the private key (PEM) to sign with')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  course-sync emit course.student_enroll',
        '  course-sync emit course.student_enroll --id enroll_test_2',
        '  course-sync emit ./my-event.json --url https://sync.example.com/webhooks/loopwise --secret "$KEY"',
        '  course-sync emit sendgrid-keys                      # a key pair: the public half for SENDGRID_WEBHOOK_PUBLIC_KEY',
        '  course-sync emit sendgrid-events events.json --key private.pem',
        '  course-sync emit sendgrid-events --id enroll_123456 --key private.pem   # a sample processed + delivered batch',
        '',
        'Exit codes: 0 the receiver answered 2xx; 1 it answered something else; 2 bad usage; 3 no receiver answered.',
      ].join('\n'),
    )
    .action(async (source: string, eventsFile: string | undefined, opts: EmitOptions) => {
      if (source === 'sendgrid-keys') io.exitCode = emitSendGridKeys(io);
      else if (source === 'sendgrid-events')
        io.exitCode = await emitSendGridEvents(io, eventsFile, opts, loadConfig(io.env).port);
      else if (eventsFile !== undefined) {
        io.err(`course-sync emit: one event at a time ("${eventsFile}" is one too many)`);
        io.exitCode = EXIT.usage;
      } else io.exitCode = await emit(io, source, opts);
    });
}

async function emit(io: CliIO, source: string, opts: EmitOptions): Promise<number> {
  const config = loadConfig(io.env);
  let body: string;
  let origin: string;
  try {
    ({ body, origin } = emitBody(source, opts.id));
  } catch (err) {
    if (!(err instanceof EmitUsageError)) throw err;
    io.err(`course-sync emit: ${err.message}`);
    return EXIT.usage;
  }
  const url = opts.url ?? localWebhookUrl(config.port);
  const secret = opts.secret ?? config.webhook.secrets[0];
  if (!secret)
    io.err(
      'course-sync emit: no --secret and no WEBHOOK_SECRET: sending unsigned (a receiver with a secret answers 401)',
    );
  return postAndReport(
    io,
    url,
    `${origin}${secret ? ', signed' : ', unsigned'}`,
    () => postWebhook(url, body, secret),
    pretty,
  );
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
