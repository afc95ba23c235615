import { Redis } from 'ioredis';
import { createLogger } from '../../src/log.ts';
import { WebhookSignature } from '../../src/receiver/signature.ts';
import { startService, type Role, type RunningService } from '../../src/service.ts';
import { dropPrefix, SECRET, testConfig } from './env.ts';

export interface PostOptions {
  /** Sign with this secret (default: the test secret); false sends no signature. */
  secret?: string | false;
  header?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** A running service (receiver role by default) on a free port, with helpers to post webhooks. */
export async function startTestService(env: Record<string, string> = {}, role: Role = 'receiver') {
  const config = testConfig(env);
  const service: RunningService = await startService(config, role, createLogger('silent'));
  const redis = new Redis(service.redisUrl);
  const base = `http://127.0.0.1:${service.port}`;
  return {
    config,
    service,
    redis,
    base,
    /** POSTs `body` (object → JSON) to the webhook endpoint, signed unless told otherwise. */
    async post(body: unknown, opts: PostOptions = {}): Promise<{ status: number; json: any; headers: Headers }> {
      const raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      const headers: Record<string, string> = {
        'content-type': opts.contentType ?? 'application/json',
        ...opts.headers,
      };
      if (opts.secret !== false)
        headers[opts.header ?? 'loopwise-webhook-signature'] = new WebhookSignature([opts.secret ?? SECRET]).sign(raw);
      const res = await fetch(`${base}/webhooks/loopwise`, {
        method: 'POST',
        headers,
        body: typeof raw === 'string' ? raw : new Uint8Array(raw),
      });
      const text = await res.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: res.status, json, headers: res.headers };
    },
    async stop() {
      await service.stop();
      await dropPrefix(redis, config.redis.prefix);
      await redis.quit();
    },
  };
}
