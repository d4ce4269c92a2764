import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { explainConnectionFailure, type TemporalConnectionOptions } from '../client/temporal-connection';
import { connectOrStartDevServer, type DevServer } from '../infra/dev-server';
import { embeddedServerDir } from './state';

export interface TemporalTarget {
  /** host:port of an existing cluster; when absent, the embedded dev server in the state folder is used. */
  readonly address?: string;
  readonly namespace: string;
  /** Encrypts payloads when a payload key is configured (see cli/payload-keys.ts). */
  readonly dataConverter?: DataConverter;
  /** TLS and API key for the cluster at `address` (see client/temporal-connection.ts); none: plaintext. */
  readonly connection?: TemporalConnectionOptions;
}

export interface TemporalSession {
  readonly address: string;
  readonly client: Client;
  /** The embedded server, when this session uses one. */
  readonly server?: DevServer;
  close(): Promise<void>;
}

/**
 * A client connected to the cluster named by --address, or to the embedded dev server (started,
 * or reused when another Tempest process already runs it on the same state folder).
 */
export async function openTemporalSession(target: TemporalTarget): Promise<TemporalSession> {
  const server = target.address
    ? undefined
    : await connectOrStartDevServer({ stateDir: embeddedServerDir() });
  const address = target.address ?? server!.address;
  try {
    const connection = await Connection.connect({
      address,
      ...(target.address ? target.connection : {}),
    });
    const client = new Client({
      connection,
      namespace: target.namespace,
      dataConverter: target.dataConverter,
    });
    return {
      address,
      client,
      server,
      async close() {
        await connection.close();
        await server?.stop();
      },
    };
  } catch (error) {
    await server?.stop();
    throw target.address
      ? await explainConnectionFailure(
          error,
          address,
          target.connection ?? {},
          'check --address, or omit it to use the embedded dev server',
        )
      : new Error(
          `cannot connect to the embedded Temporal dev server at ${address}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
  }
}
