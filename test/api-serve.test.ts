import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killSpawnedTempests, REPO_ROOT, runTempest, spawnTempest, tempDir } from './helpers/cli';
import { waitFor } from './helpers/temporal';

// Real HTTP against the built CLI: `tempest serve` with its embedded dev server and in-process worker.
const TOKEN = 'api-test-token-0123456789abcdef';
const MAX_BODY = 64 * 1024;

let serve: ChildProcess;
let baseUrl = '';
let output = '';
let outDir = '';

/** The quick example on 200 digits, its model paths made absolute (the server resolves against --specs-dir). */
async function quickSpecYaml(): Promise<string> {
  const text = await readFile(join(REPO_ROOT, 'examples', 'mnist-quick.yaml'), 'utf8');
  return text
    .replace('samples: 1000', 'samples: 200')
    .replaceAll('path: models/', `path: ${join(REPO_ROOT, 'examples', 'models')}/`);
}

async function api(
  path: string,
  init: { method?: string; body?: string; contentType?: string; token?: string | null } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = init.token === undefined ? TOKEN : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (init.contentType) headers['content-type'] = init.contentType;
  return fetch(`${baseUrl}${path}`, { method: init.method ?? 'GET', body: init.body, headers });
}

/**
 * POST to /v1/benchmarks with these headers, writing up to `chunks` chunks of 64 KiB (one at a time,
 * stopping once the answer comes), and resolve with the status.
 */
function postRaw(headers: Record<string, string>, chunks: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let answered = false;
    const call = request(`${baseUrl}/v1/benchmarks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    });
    call.on('response', (response) => {
      answered = true;
      resolve(response.statusCode ?? 0);
      response.resume();
      call.destroy();
    });
    call.on('error', (error) => (answered ? undefined : reject(error)));
    let sent = 0;
    const next = () => {
      if (answered) return;
      if (sent >= chunks) {
        call.end();
        return;
      }
      sent += 1;
      call.write(Buffer.alloc(64 * 1024, 0x20), () => setTimeout(next, 20));
    };
    next();
  });
}

beforeAll(async () => {
  const home = await tempDir('api-home');
  outDir = join(home, 'runs');
  const tokenFile = join(home, 'token');
  await writeFile(tokenFile, `${TOKEN}\n`);
  serve = spawnTempest(
    [
      'serve',
      '--port',
      '0',
      '--token-file',
      tokenFile,
      '--out-dir',
      outDir,
      '--max-body-bytes',
      `${MAX_BODY}`,
    ],
    { TEMPEST_HOME: home },
  );
  serve.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  serve.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  baseUrl = await waitFor(
    async () => /tempest API on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1],
    `tempest serve to listen; its output so far:\n${output}`,
    90_000,
  );
});

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    const exited = once(serve, 'exit');
    serve.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
  }
  killSpawnedTempests();
});

describe('tempest serve (HTTP API over real Temporal)', () => {
  it('refuses to start without a token', async () => {
    const result = await runTempest(['serve', '--port', '0'], {
      TEMPEST_API_TOKEN: '',
      TEMPEST_HOME: await tempDir('api-notoken'),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('needs a bearer token: --token-file FILE or TEMPEST_API_TOKEN');
  });

  it('serves an OpenAPI 3.1 document without auth, listing every route and the spec schema', async () => {
    const response = await api('/openapi.json', { token: null });
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: {
        schemas: Record<string, { properties?: Record<string, unknown> }>;
        securitySchemes: object;
      };
    };
    expect(document.openapi).toBe('3.1.0');
    for (const path of [
      '/v1/benchmarks',
      '/v1/runs',
      '/v1/runs/{id}',
      '/v1/runs/{id}/results',
      '/v1/runs/{id}/report',
      '/v1/runs/{id}/provenance',
      '/v1/runs/{id}/cancel',
      '/v1/runs/{id}/pause',
      '/v1/runs/{id}/resume',
    ]) {
      expect(document.paths[path], path).toBeDefined();
    }
    expect(Object.keys(document.paths['/v1/benchmarks'])).toEqual(['post']);
    expect(document.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }) as unknown,
    });
    const spec = document.components.schemas.BenchmarkSpecV2;
    expect(Object.keys(spec.properties ?? {})).toEqual(
      expect.arrayContaining(['apiVersion', 'models', 'dataset', 'perturbations', 'attacks']),
    );
  });

  it('answers 401 without the token or with a wrong one', async () => {
    expect((await api('/v1/runs', { token: null })).status).toBe(401);
    const wrong = await api('/v1/benchmarks', {
      method: 'POST',
      body: await quickSpecYaml(),
      contentType: 'application/yaml',
      token: 'not-the-token',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('answers 400 with the field path for an invalid spec (JSON and YAML) and starts nothing', async () => {
    const json = await api('/v1/benchmarks', {
      method: 'POST',
      contentType: 'application/json',
      body: JSON.stringify({
        apiVersion: 'tempest/v2',
        name: 'bad',
        models: [{ id: 'm', path: 'm.onnx' }],
        dataset: { source: 'builtin', name: 'mnist', samples: 10 },
        execution: { batchSize: -3 },
      }),
    });
    expect(json.status).toBe(400);
    const body = (await json.json()) as { error: string; problems: { path: string; message: string }[] };
    const batchSize = body.problems.find((problem) => problem.path === 'execution.batchSize');
    expect(batchSize?.message).toMatch(/>=\s*1/);

    // Module checks run too, as in `tempest run`.
    const yaml = await api('/v1/benchmarks', {
      method: 'POST',
      contentType: 'application/yaml',
      body: (await quickSpecYaml()).replace('module: gaussian_noise', 'module: no_such_noise'),
    });
    expect(yaml.status).toBe(400);
    const problems = ((await yaml.json()) as { problems: { path: string }[] }).problems;
    expect(problems.map((problem) => problem.path)).toEqual(['perturbations[0].module']);
  });

  it('answers 413 for a body over --max-body-bytes without reading it all', async () => {
    // Declares 64 MiB, sends 1 KiB: the answer comes from the declared length alone.
    const declared = await postRaw({ 'content-length': `${64 * 1024 * 1024}` }, 1);
    expect(declared).toBe(413);
    // A chunked body (no declared length) is cut off once it passes the limit: 4 x 64 KiB offered.
    const chunked = await postRaw({ 'transfer-encoding': 'chunked' }, 4);
    expect(chunked).toBe(413);
  });

  it('starts a benchmark, follows it to completion, and serves results, report and provenance', async () => {
    const created = await api('/v1/benchmarks', {
      method: 'POST',
      contentType: 'application/yaml',
      body: await quickSpecYaml(),
    });
    expect(created.status).toBe(201);
    const run = (await created.json()) as {
      runId: string;
      workflowId: string;
      links: Record<string, string>;
    };
    expect(run.workflowId).toMatch(/^tempest-mnist-quick-/);
    expect(run.links.self).toBe(`/v1/runs/${run.runId}`);

    // Still running: nothing to serve yet.
    expect((await api(`/v1/runs/${run.runId}/results`)).status).toBe(409);

    // Pause and resume through signals; the progress query reports the pause.
    expect((await api(`/v1/runs/${run.runId}/pause`, { method: 'POST' })).status).toBe(202);
    await waitFor(async () => {
      const status = (await (await api(`/v1/runs/${run.runId}`)).json()) as {
        status: string;
        progress?: { paused: boolean };
      };
      return status.status === 'COMPLETED' || status.progress?.paused ? true : undefined;
    }, 'the paused flag in the progress');
    expect((await api(`/v1/runs/${run.runId}/resume`, { method: 'POST' })).status).toBe(202);

    const listed = (await (await api('/v1/runs')).json()) as {
      runs: { runId: string; startedHere: boolean }[];
    };
    expect(listed.runs).toContainEqual(expect.objectContaining({ runId: run.runId, startedHere: true }));

    const finished = await waitFor(
      async () => {
        const status = (await (await api(`/v1/runs/${run.runId}`)).json()) as {
          status: string;
          outcome?: { status: string; cells: { total: number; done: number } };
        };
        if (status.status === 'RUNNING') return undefined;
        return status;
      },
      'the run to finish',
      90_000,
      250,
    );
    expect(finished.status).toBe('COMPLETED');
    expect(finished.outcome).toMatchObject({ status: 'completed', cells: { total: 14, done: 14 } });

    const results = await api(`/v1/runs/${run.runId}/results`);
    expect(results.status).toBe(200);
    const body = (await results.json()) as {
      dataset: { samples: number };
      cells: {
        model: string;
        condition: string;
        metrics: { accuracy: number; correct: number; total: number };
      }[];
      summary: { model: string; condition: string; accuracy: { mean: number } }[];
    };
    expect(body.dataset.samples).toBe(200);
    expect(body.cells).toHaveLength(14);
    for (const cell of body.cells) {
      expect(cell.metrics.total).toBe(200);
      expect(cell.metrics.accuracy).toBeCloseTo(cell.metrics.correct / 200, 10);
      expect(cell.metrics.accuracy).toBeGreaterThan(0.5);
    }
    // The clean accuracies of both example models are well above 90% on these digits.
    for (const model of ['mlp', 'cnn']) {
      const clean = body.summary.find((row) => row.model === model && row.condition === 'clean');
      expect(clean?.accuracy.mean).toBeGreaterThan(0.9);
    }

    const report = await api(`/v1/runs/${run.runId}/report`);
    expect(report.headers.get('content-type')).toContain('text/markdown');
    expect(await report.text()).toContain('# Tempest report: mnist-quick');
    const html = await api(`/v1/runs/${run.runId}/report?format=html`);
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(await html.text()).toMatch(/^<!doctype html>/i);
    const provenance = (await (await api(`/v1/runs/${run.runId}/provenance`)).json()) as {
      prefix: object;
      entity: object;
      activity: object;
    };
    expect(Object.keys(provenance)).toEqual(expect.arrayContaining(['prefix', 'entity', 'activity']));

    // The run folder on the server is the one `tempest run` writes; served files come from it.
    const folder = join(outDir, run.runId);
    expect(await readFile(join(folder, 'results.json'), 'utf8')).toBe(
      await (await api(`/v1/runs/${run.runId}/results`)).text(),
    );
    expect(await readFile(join(folder, 'SHA256SUMS'), 'utf8')).toContain('history.json');

    // Signals to a finished run are refused; a workflow id names its latest run.
    expect((await api(`/v1/runs/${run.runId}/cancel`, { method: 'POST' })).status).toBe(409);
    expect((await api(`/v1/runs/${run.workflowId}`)).status).toBe(200);
    expect((await api('/v1/runs/no-such-run')).status).toBe(404);

    // The request log names routes and statuses, never the token.
    expect(output).toMatch(/POST \/v1\/benchmarks 201/);
    expect(output).not.toContain(TOKEN);
  });
});
