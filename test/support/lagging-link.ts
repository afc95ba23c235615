import { spawn } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A TCP hop in front of a Redis primary, in a process of its own; see spawnLaggingLink. */
export interface LaggingLink {
  port: number;
  /** Bytes of the replication stream dropped because the primary went away while the link held them. */
  dropped(): number;
  close(): Promise<void>;
}

/**
 * Forwards 127.0.0.1:<its port> to the Redis on `targetPort`, holding a replica's replication
 * stream for `delayMs` in each direction — as a replica in another zone, or one falling behind,
 * sees it — and passing every other connection (clients, sentinels) through at once. When the
 * primary goes away, what the link still holds is dropped, as when the primary's machine dies with
 * the data on its way. A connection is a replica's from its PSYNC (or SYNC) on.
 */
async function runLink(targetPort: number, delayMs: number, onDrop: (total: number) => void): Promise<number> {
  let dropped = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    let replication = false;
    let head = '';
    const timers = new Set<NodeJS.Timeout>();
    const held: Buffer[][] = [[], []];
    const teardown = (dropHeld: boolean) => {
      const lost = dropHeld ? held.flat().reduce((n, b) => n + b.length, 0) : 0;
      if (lost) onDrop((dropped += lost));
      for (const t of timers) clearTimeout(t);
      timers.clear();
      held[0] = [];
      held[1] = [];
      client.destroy();
      upstream.destroy();
    };
    /** Passes `from`'s bytes to `to`, `delayMs` late once the connection carries replication. */
    const pass = (from: Socket, to: Socket, lane: 0 | 1) =>
      from.on('data', (chunk: Buffer) => {
        if (lane === 0 && !replication) {
          head = (head + chunk.toString('latin1')).slice(-64);
          // The PSYNC itself goes at once; what follows it, both ways, is held.
          replication = /\bP?SYNC\b/i.test(head);
          return void to.write(chunk);
        }
        if (!replication) return void to.write(chunk);
        held[lane]!.push(chunk);
        const t = setTimeout(() => {
          timers.delete(t);
          const next = held[lane]!.shift();
          if (next) to.write(next);
        }, delayMs);
        timers.add(t);
      });
    pass(client, upstream, 0);
    pass(upstream, client, 1);
    // The primary gone (killed, refused): what the link holds never arrives.
    upstream.on('close', () => teardown(true)).on('error', () => undefined);
    client.on('close', () => teardown(false)).on('error', () => undefined);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return (server.address() as { port: number }).port;
}

/**
 * Starts the link (runLink) in a process of its own, as a network hop is: it keeps forwarding
 * while the test's event loop is busy, and a primary it kills has already sent what it answered.
 */
export async function spawnLaggingLink(targetPort: number, delayMs: number): Promise<LaggingLink> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), String(targetPort), String(delayMs)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let dropped = 0;
  const port = await new Promise<number>((ok, fail) => {
    child.once('exit', (code) => fail(new Error(`lagging link exited (${code}) before listening`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as { port?: number; dropped?: number };
      if (msg.port) ok(msg.port);
      if (msg.dropped !== undefined) dropped = msg.dropped;
    });
  });
  return {
    port,
    dropped: () => dropped,
    close: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null || child.signalCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGKILL');
      }),
  };
}

// As a process: `node --import tsx lagging-link.ts <target port> <delay ms>`. Says its port and each
// drop as JSON lines; ends when its stdin does (the test that started it is gone).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const say = (msg: object) => process.stdout.write(`${JSON.stringify(msg)}\n`);
  const port = await runLink(Number(process.argv[2]), Number(process.argv[3]), (total) => say({ dropped: total }));
  process.stdin.resume().on('end', () => process.exit(0));
  say({ port });
}
