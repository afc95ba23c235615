import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** What the server answers: a status with headers and a JSON (or text) body, a dropped connection, or nothing at all. */
export type ScriptedAnswer = { status: number; headers?: Record<string, string>; body?: unknown } | 'reset' | 'silent';

/**
 * An HTTP server on loopback that answers every request with the answer set last, so a test can
 * make a real client library (HubSpot's, SendGrid's) throw exactly what it throws on that answer.
 */
export async function startScriptedServer() {
  let answer: ScriptedAnswer = { status: 200, body: {} };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      if (answer === 'reset') return void req.socket.destroy();
      if (answer === 'silent') return;
      const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
      const type = typeof answer.body === 'string' ? 'text/html' : 'application/json';
      res.writeHead(answer.status, { 'content-type': type, ...answer.headers }).end(text);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    answer(a: ScriptedAnswer): void {
      answer = a;
    },
    close: () => new Promise<void>((ok) => (server.closeAllConnections(), server.close(() => ok()))),
  };
}
