/**
 * One service process of the soak (bench/soak.ts): `course-sync` started with the role given, as
 * `course-sync start` would, from the environment. It answers the soak's IPC asks for a sample
 * with its RSS, heap and event-loop delay since the last sample, and says its HTTP port once up.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startService, type Role } from '../src/service.ts';

export interface ServiceSample {
  rss: number;
  heapUsed: number;
  /** Event-loop delay since the last sample, ms: mean and 99th percentile. */
  eldMean: number;
  eldP99: number;
}

const role = (process.argv[2] ?? 'all') as Role;
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const service = await startService(
  loadConfig(process.env),
  role,
  createLogger(process.env.LOG_LEVEL === 'silent' ? 'silent' : 'warn'),
);
process.send?.({ kind: 'up', port: service.port });

process.on('message', (m: { kind: string }) => {
  if (m.kind !== 'sample') return;
  const { rss, heapUsed } = process.memoryUsage();
  const sample: ServiceSample = { rss, heapUsed, eldMean: delay.mean / 1e6, eldP99: delay.percentile(99) / 1e6 };
  delay.reset();
  process.send?.({ kind: 'sample', sample });
});
process.once('SIGTERM', () => void service.stop().finally(() => process.exit(0)));
