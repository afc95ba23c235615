import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP hop in front of a Redis primary; see startLaggingLink. */
export interface LaggingLink {
  port: number;
  /** Bytes of the replication stream dropped because the primary went away while the link held them. */
  dropped(): number;
  close(): Promise<void>;
}

/**
 * A TCP hop in front of the Redis on `targetPort` that holds a replica's replication stream for
 * `delayMs` in each direction — as a replica in another zone, or one falling behind, sees it — and
 * passes every other connection (clients, sentinels) through at once. When the primary goes away,
 * what the link still holds is dropped, as when the primary's machine dies with the data on its way.
 * A connection is a replica's from its PSYNC (or SYNC) on.
 */
export async function startLaggingLink(targetPort: number, delayMs: number): Promise<LaggingLink> {
  const open = new Set<Socket>();
  let dropped = 0;

  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    open.add(client).add(upstream);
    let replication = false;
    let head = '';
    const timers = new Set<NodeJS.Timeout>();
    const held: Buffer[][] = [[], []];
    const teardown = (dropHeld: boolean) => {
      if (dropHeld) dropped += held.flat().reduce((n, b) => n + b.length, 0);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      held[0] = [];
      held[1] = [];
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    /** Passes `from`'s bytes to `to`, `delayMs` late once the connection carries replication. */
    const pass = (from: Socket, to: Socket, lane: 0 | 1) =>
      from.on('data', (chunk: Buffer) => {
        if (lane === 0 && !replication) {
          head = (head + chunk.toString('latin1')).slice(-64);
          if (/\bP?SYNC\b/i.test(head)) replication = true;
          to.write(chunk);
          return;
        }
        if (!replication) return void to.write(chunk);
        const queue = held[lane]!;
        queue.push(chunk);
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
  return {
    port: (server.address() as { port: number }).port,
    dropped: () => dropped,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of open) s.destroy();
        server.close(() => ok());
      }),
  };
}
