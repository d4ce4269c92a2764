import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';

/** Names of the S3 commands a client sends, recorded as they go out. */
export function recordCommands(client: S3Client): string[] {
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'recordCommandNames' },
  );
  return sent;
}

/**
 * A TCP relay between S3 clients and the S3 server that can cut the line: while cut, new
 * connections are refused and open ones reset, as when an S3 endpoint goes down; the server
 * behind it keeps its (in-memory) data, so what the outage tests is the clients' recovery.
 */
export interface S3Outage {
  readonly endpoint: string;
  /** Bytes relayed from clients to the server so far. */
  bytesFromClients(): number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startOutageRelay(targetPort: number): Promise<S3Outage> {
  const sockets = new Set<Socket>();
  let relayed = 0;
  const relay = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => (relayed += chunk.length));
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const { port } = relay.address() as AddressInfo;
  const stopListening = () => new Promise<void>((resolve) => relay.close(() => resolve()));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bytesFromClients: () => relayed,
    async cut() {
      const closed = stopListening();
      for (const socket of sockets) socket.resetAndDestroy();
      await closed;
    },
    restore: () => new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve)),
    async close() {
      for (const socket of sockets) socket.destroy();
      if (relay.listening) await stopListening();
    },
  };
}
