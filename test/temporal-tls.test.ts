/**
 * Secured clusters, end to end: a throwaway CA, server and client certificates made with openssl,
 * and a TLS-terminating relay (node:tls, ALPN h2) in front of the real dev server, as a TLS
 * ingress or Temporal Cloud's frontend would be. The built CLI connects through the relay with
 * the --tls* flags; the relay only forwards bytes, so whatever works here works because the
 * client and the worker really spoke TLS (and mTLS) to it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  killSpawnedTempests,
  REPO_ROOT,
  runTempest,
  spawnTempest,
  tempDir,
  type CliResult,
} from './helpers/cli';
import { useTestTemporal, waitFor, writeExampleSpec } from './helpers/temporal';

afterAll(killSpawnedTempests);

const run = promisify(execFile);
const temporal = useTestTemporal();

/** 2 models x (clean + 1 severity) over 200 digits: a few seconds, but every path of a real run. */
const SPEC_BODY = `name: tls-check
dataset: { source: builtin, name: mnist, split: test, samples: 200 }
perturbations: [{ module: gaussian_noise, severities: [3] }]
seeds: [1]
execution: { concurrency: 2 }
`;
const CELLS = 4;

interface Pki {
  readonly dir: string;
  readonly ca: string;
  readonly otherCa: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/**
 * A CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and a second CA
 * that signed neither. X.509 v3 with the usual extensions: the worker's TLS stack (rustls)
 * rejects v1 certificates and CA certificates used as leaves.
 */
async function makePki(): Promise<Pki> {
  const dir = await tempDir('pki');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    await openssl(dir, [
      'req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2',
      '-subj', `/CN=tempest test ${ca}`,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]); // prettier-ignore
  }
  const leaves = {
    server: 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    client: 'extendedKeyUsage=clientAuth\n',
  };
  for (const [name, extensions] of Object.entries(leaves)) {
    await writeFile(
      join(dir, `${name}.ext`),
      `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n${extensions}`,
    );
    await openssl(dir, [
      'req',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=tempest-test-${name}`,
    ]);
    await openssl(dir, [
      'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`,
    ]); // prettier-ignore
  }
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    otherCa: join(dir, 'other-ca.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
  };
}

interface Relay {
  readonly address: string;
  /** Client certificate CN of every TLS session the relay accepted (empty string: none presented). */
  readonly sessions: string[];
  close(): Promise<void>;
}

/**
 * TLS on the outside, the dev server's plaintext gRPC inside: the relay terminates TLS and pipes
 * bytes. With `mutual`, a connection without a client certificate signed by the CA is refused in
 * the handshake, as a Temporal Cloud namespace with mTLS does.
 */
async function startRelay(pki: Pki, upstream: string, mutual: boolean): Promise<Relay> {
  const [host, port] = upstream.split(':');
  const sessions: string[] = [];
  const open = new Set<net.Socket>();
  const server = tls.createServer(
    {
      key: await readFile(pki.serverKey),
      cert: await readFile(pki.serverCert),
      ALPNProtocols: ['h2'],
      ...(mutual ? { requestCert: true, rejectUnauthorized: true, ca: await readFile(pki.ca) } : {}),
    },
    (socket) => {
      const peer = socket.getPeerCertificate();
      sessions.push(peer && 'subject' in peer && peer.subject ? String(peer.subject.CN) : '');
      const inner = net.connect(Number(port), host);
      for (const end of [socket, inner]) {
        open.add(end);
        end.on('close', () => open.delete(end));
        // One side failing ends the pair; the client sees a closed connection, as from a proxy.
        end.on('error', () => {
          socket.destroy();
          inner.destroy();
        });
      }
      socket.pipe(inner).pipe(socket);
    },
  );
  // Handshakes the relay refuses (no or untrusted client certificate) are expected here.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: relayPort } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${relayPort}`,
    sessions,
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let pki: Pki;
let mtlsRelay: Relay;
let tlsRelay: Relay;
let spec: string;

beforeAll(async () => {
  pki = await makePki();
  mtlsRelay = await startRelay(pki, temporal().address, true);
  tlsRelay = await startRelay(pki, temporal().address, false);
  spec = await writeExampleSpec(SPEC_BODY);
});

afterAll(async () => {
  await mtlsRelay?.close();
  await tlsRelay?.close();
});

/** Every file of a run folder, to look for a secret in all of them. */
async function runFolderText(dir: string): Promise<string> {
  const names = await readdir(dir);
  const texts = await Promise.all(names.map((name) => readFile(join(dir, name), 'utf8').catch(() => '')));
  return texts.join('\n');
}

function expectCompleted(result: CliResult): void {
  expect(result.stderr + result.stdout).toContain(`completed: ${CELLS}/${CELLS} cells (${CELLS} computed`);
  expect(result.code).toBe(0);
}

describe('tempest over TLS (relay in front of a real dev server)', () => {
  let plainOut: string;

  it('a plaintext run straight to the dev server, for comparison', async () => {
    const home = await tempDir('tls-plain');
    plainOut = join(home, 'out');
    const result = await runTempest(
      ['run', spec, '--address', temporal().address, '--worker', '--out', plainOut],
      { TEMPEST_HOME: home },
    );
    expectCompleted(result);
  });

  it('runs through mTLS (client and in-process worker) with results equal to the plaintext run', async () => {
    const home = await tempDir('tls-mtls');
    const out = join(home, 'out');
    const before = mtlsRelay.sessions.length;
    const result = await runTempest(
      [
        'run', spec, '--address', mtlsRelay.address, '--worker', '--out', out,
        '--tls-ca', pki.ca, '--tls-cert', pki.clientCert, '--tls-key', pki.clientKey,
      ], // prettier-ignore
      { TEMPEST_HOME: home },
    );
    expectCompleted(result);
    expect(result.stderr).toContain(`on ${mtlsRelay.address}`);
    // The client (grpc-js) and the worker (Rust core) each opened mTLS sessions with our client certificate.
    const sessions = mtlsRelay.sessions.slice(before);
    expect(sessions.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sessions)).toEqual(new Set(['tempest-test-client']));
    // Same numbers: results.json is content only (no ids, no times), so its bytes must match.
    expect(await readFile(join(out, 'results.json'))).toEqual(await readFile(join(plainOut, 'results.json')));
  });

  it('status (and schedule) work over mTLS', async () => {
    const mtls = [
      '--address',
      mtlsRelay.address,
      '--tls-ca',
      pki.ca,
      '--tls-cert',
      pki.clientCert,
      '--tls-key',
      pki.clientKey,
    ];
    const result = await runTempest(['status', ...mtls]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/tempest-tls-check-\w+ {2}COMPLETED/);
    const schedules = await runTempest(['schedule', 'list', ...mtls]);
    expect(schedules.stderr).toBe('');
    expect(schedules.stdout).toContain('no benchmark schedules');
  });

  it('without a client certificate the relay refuses and the CLI says why, naming TLS and the flags', async () => {
    const result = await runTempest(['status', '--address', mtlsRelay.address, '--tls-ca', pki.ca]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`cannot connect to Temporal at ${mtlsRelay.address}`);
    expect(result.stderr).toContain('TLS');
    expect(result.stderr).toMatch(/client certificate/);
    expect(result.stderr).toContain('--tls-cert');
  });

  it('a CA that did not sign the server certificate fails with a message naming --tls-ca', async () => {
    const result = await runTempest([
      'status', '--address', mtlsRelay.address,
      '--tls-ca', pki.otherCa, '--tls-cert', pki.clientCert, '--tls-key', pki.clientKey,
    ]); // prettier-ignore
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('TLS');
    expect(result.stderr).toContain('not trusted');
    expect(result.stderr).toContain('--tls-ca');
  });

  it('a server name the certificate does not list fails with a message naming --tls-server-name', async () => {
    const result = await runTempest([
      'status', '--address', mtlsRelay.address, '--tls-server-name', 'ns.acct.tmprl.cloud',
      '--tls-ca', pki.ca, '--tls-cert', pki.clientCert, '--tls-key', pki.clientKey,
    ]); // prettier-ignore
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--tls-server-name');
  });

  it('TLS towards a plaintext server says the server does not speak TLS', async () => {
    const result = await runTempest(['status', '--address', temporal().address, '--tls']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('does not speak TLS');
  });

  it('--api-key-file connects with TLS (the key as a bearer token), and the key lands in no output or record', async () => {
    const home = await tempDir('tls-apikey');
    const out = join(home, 'out');
    const key = `tempest-test-api-key-${randomBytes(16).toString('hex')}`;
    const keyFile = join(home, 'api-key');
    await writeFile(keyFile, `${key}\n`, { mode: 0o600 });
    const before = tlsRelay.sessions.length;
    const result = await runTempest(
      [
        'run',
        spec,
        '--address',
        tlsRelay.address,
        '--worker',
        '--out',
        out,
        '--tls-ca',
        pki.ca,
        '--api-key-file',
        keyFile,
      ],
      { TEMPEST_HOME: home },
    );
    expectCompleted(result);
    // An API key implies TLS: the relay speaks nothing else, and saw the sessions (no client certificate).
    expect(tlsRelay.sessions.length).toBeGreaterThan(before);
    expect(await readFile(join(out, 'results.json'))).toEqual(await readFile(join(plainOut, 'results.json')));
    expect(result.stdout + result.stderr).not.toContain(key);
    const records = await runFolderText(out);
    expect(records).toContain('"executor"');
    expect(records).not.toContain(key);

    // The same key from TEMPORAL_API_KEY (the `temporal` CLI's variable): status connects with it.
    const status = await runTempest(['status', '--address', tlsRelay.address, '--tls-ca', pki.ca], {
      TEMPORAL_API_KEY: key,
    });
    expect(status.code).toBe(0);
    expect(status.stdout).not.toContain(key);
  });

  it('tempest worker with a wrong CA fails at once with a message naming --tls-ca', async () => {
    const result = await runTempest(
      [
        'worker', '--address', mtlsRelay.address, '--task-queue', 'tls-worker-check',
        '--tls-ca', pki.otherCa, '--tls-cert', pki.clientCert, '--tls-key', pki.clientKey,
      ], // prettier-ignore
      { TEMPEST_HOME: await tempDir('tls-worker') },
      60_000,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('not trusted');
    expect(result.stderr).toContain('--tls-ca');
  });

  it('a standalone worker configured only by TEMPORAL_* variables (as in the image) serves the example client over mTLS', async () => {
    const taskQueue = 'tls-standalone';
    // No connection flags: address, namespace and mTLS come from the `temporal` CLI's variables.
    const worker = spawnTempest(['worker', '--task-queue', taskQueue], {
      TEMPEST_HOME: await tempDir('tls-standalone'),
      TEMPORAL_ADDRESS: mtlsRelay.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.ca,
    });
    try {
      let output = '';
      worker.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      worker.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await waitFor(
        async () => (output.includes('polling') ? true : undefined),
        'the worker to poll',
        60_000,
      );
      expect(output).toContain(`polling ${taskQueue} on ${mtlsRelay.address} (mTLS, namespace default)`);

      // The example client (plain Temporal SDK) with the same flags as tempest. The name override
      // is only there so the SDK sends a host name, not an IP, as SNI.
      const { stdout, stderr } = await run(
        join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
        [
          join(REPO_ROOT, 'examples', 'client', 'start-benchmark.ts'), spec,
          '--address', mtlsRelay.address, '--task-queue', taskQueue, '--tls-server-name', 'localhost',
          '--tls-ca', pki.ca, '--tls-cert', pki.clientCert, '--tls-key', pki.clientKey,
        ], // prettier-ignore
        { cwd: REPO_ROOT, timeout: 90_000 },
      );
      expect(stderr).toBe('');
      expect(stdout).toMatch(new RegExp(`^completed: ${CELLS}/${CELLS} cells; results [0-9a-f]{64}$`, 'm'));
    } finally {
      if (worker.exitCode === null) {
        worker.kill('SIGTERM');
        await once(worker, 'exit');
      }
    }
  });

  it('refuses a client key without its certificate before connecting (exit 2)', async () => {
    const result = await runTempest(['status', '--address', mtlsRelay.address, '--tls-key', pki.clientKey]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--tls-cert');
  });
});
