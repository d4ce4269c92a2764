import { readFile } from 'node:fs/promises';
import { AesGcmPayloadCodec, PayloadKeyError } from '../../core/codec';
import { TempestInputError } from '../../core/errors';
import { startCodecServer } from '../../infra/codec-server';
import { payloadEncryption, type PayloadKeyOptions } from '../payload-keys';

export const CODEC_TOKEN_ENV = 'TEMPEST_CODEC_TOKEN';
/** The dev server's Web UI (`temporal server start-dev`, UI port = gRPC port + 1000). */
export const DEFAULT_UI_ORIGINS = ['http://localhost:8233', 'http://127.0.0.1:8233'];

export interface CodecServerCommandOptions extends PayloadKeyOptions {
  readonly port: number;
  readonly origin?: string[];
  readonly tokenFile?: string;
}

async function readToken(tokenFile: string | undefined): Promise<string> {
  const token = tokenFile
    ? (
        await readFile(tokenFile, 'utf8').catch(() => {
          throw new TempestInputError(`cannot read codec token file ${tokenFile}`);
        })
      ).trim()
    : process.env[CODEC_TOKEN_ENV]?.trim();
  if (!token) {
    throw new TempestInputError(
      `the codec server needs a bearer token: --token-file FILE or ${CODEC_TOKEN_ENV} ` +
        '(any long random string, e.g. `openssl rand -hex 32`)',
    );
  }
  return token;
}

/** Serve /encode and /decode on 127.0.0.1 until SIGINT/SIGTERM. */
export async function codecServerCommand(options: CodecServerCommandOptions): Promise<number> {
  const { keyring } = await payloadEncryption(options);
  if (!keyring) {
    throw new PayloadKeyError(
      'the codec server needs the payload keyring: --payload-key-file FILE, TEMPEST_PAYLOAD_KEYS or TEMPEST_PAYLOAD_KEY',
    );
  }
  const origins = options.origin?.length ? options.origin : DEFAULT_UI_ORIGINS;
  for (const origin of origins) {
    // Browsers send the bare origin; anything else (a path, a trailing slash) would never match.
    if (URL.canParse(origin) && new URL(origin).origin === origin) continue;
    throw new TempestInputError(
      `--origin ${origin}: expected scheme://host[:port], e.g. http://localhost:8233`,
    );
  }
  const server = await startCodecServer({
    codec: new AesGcmPayloadCodec(keyring),
    token: await readToken(options.tokenFile),
    origins,
    port: options.port,
    log: (line) => console.log(`${new Date().toISOString()} ${line}`),
  });
  console.log(
    `codec server on ${server.url} (keys ${[...keyring.keys.keys()].join(', ')}; CORS for ${origins.join(', ')})`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
