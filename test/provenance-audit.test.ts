import { execFile } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { merkleTreeHash } from '../core/provenance/merkle';
import { sampleCells } from '../core/verify';
import { ensurePythonVenv } from '../infra/python-venv';
import { runTempest, tempDir } from './helpers/cli';

describe('Merkle tree hash (RFC 6962, sec. 2.1)', () => {
  it("matches Certificate Transparency's reference roots for the first 1..8 of its test leaves", () => {
    // The leaves and roots of the reference test in certificate-transparency (merkle_tree_test.cc).
    const leaves = [
      '',
      '00',
      '10',
      '2021',
      '3031',
      '40414243',
      '5051525354555657',
      '606162636465666768696a6b6c6d6e6f',
    ];
    const roots = [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    const data = leaves.map((hex) => Buffer.from(hex, 'hex'));
    roots.forEach((root, i) => expect(merkleTreeHash(data.slice(0, i + 1))).toBe(root));
    // The empty tree hashes to SHA-256 of the empty string.
    expect(merkleTreeHash([])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('samples cells for re-execution reproducibly, without repeats', () => {
    const sample = sampleCells(100, 5, 7);
    expect(sampleCells(100, 5, 7)).toEqual(sample);
    expect(new Set(sample).size).toBe(5);
    expect(sampleCells(100, 5, 8)).not.toEqual(sample);
    expect(sampleCells(3, 10, 0)).toEqual([0, 1, 2]);
  });
});

describe('audit of a finished run: sign, verify, tamper, export', () => {
  let home: string;
  let out: string;
  let key: string;
  const env = () => ({ TEMPEST_HOME: home });
  const verify = (dir: string, ...args: string[]) => runTempest(['verify', dir, ...args], env());

  beforeAll(async () => {
    home = await tempDir('audit');
    out = join(home, 'quick');
    key = join(home, 'signing.pem');
    expect((await runTempest(['sign', '--new-key', key])).code).toBe(0);
    const run = await runTempest(
      ['run', 'examples/mnist-quick.yaml', '--executor', 'local', '--out', out, '--sign-key', key],
      env(),
    );
    expect(run.code).toBe(0);
  }, 180_000);

  it('passes every check on an untouched run, re-executing a seeded sample of cells to the same bytes', async () => {
    const result = await verify(out, '--public-key', `${key}.pub`, '--reexecute', '2', '--seed', '3');
    expect(result.stdout).toMatch(/PASS {2}checksums: \d+ files match SHA256SUMS/);
    expect(result.stdout).toContain('PASS  signature: valid ed25519 signature by key');
    expect(result.stdout).toContain('(trusted)');
    expect(result.stdout).toMatch(/PASS {2}merkle root: [0-9a-f]{64} over \d+ artifacts/);
    expect(result.stdout).toMatch(
      /PASS {2}re-execution: 2 of 14 cells \(seed 3: \d+, \d+\) recomputed from scratch/,
    );
    expect(result.stdout).toContain('verified: every check passed');
    expect(result.code).toBe(0);
    const record = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as {
      artifacts: { merkleRoot: string; list: { role: string }[] };
      cells: { cpuMs?: number; peakRssBytes?: number }[];
    };
    expect(result.stdout).toContain(record.artifacts.merkleRoot);
    expect(new Set(record.artifacts.list.map((entry) => entry.role))).toEqual(
      new Set([
        'plan',
        'dataset-inputs',
        'dataset-labels',
        'model',
        'cell-result',
        'logits',
        'results',
        'gallery-image',
        'report',
      ]),
    );
    expect(record.cells.every((cell) => (cell.cpuMs ?? -1) >= 0 && (cell.peakRssBytes ?? 0) > 1e6)).toBe(
      true,
    );
  }, 120_000);

  it('names a stored artifact whose one byte was edited, and passes again once it is restored', async () => {
    const record = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as {
      artifacts: { list: { role: string; label: string; sha256: string }[] };
    };
    const logits = record.artifacts.list.find((entry) => entry.role === 'logits' && entry.label === 'cell 5');
    expect(logits).toBeDefined();
    const path = join(home, 'artifacts', 'blobs', 'sha256', logits!.sha256.slice(0, 2), logits!.sha256);
    const original = await readFile(path);
    const edited = Buffer.from(original);
    edited[edited.length - 3] ^= 0x01;
    await writeFile(path, edited);
    try {
      const result = await verify(out, '--reexecute', '0');
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(
        `FAIL  artifacts: logits cell 5 (${logits!.sha256}) is corrupted in the store`,
      );
      expect(result.stdout).toContain('FAILED: artifacts');
    } finally {
      await writeFile(path, original);
    }
    expect((await verify(out, '--reexecute', '0')).code).toBe(0);
  });

  it('names an edited file of the run folder, and rejects re-signed sums under the wrong key', async () => {
    const file = join(out, 'results.json');
    const original = await readFile(file);
    await writeFile(file, Buffer.from(original.toString().replace('"accuracy": 0.9', '"accuracy": 0.8')));
    try {
      const edited = await verify(out, '--reexecute', '0');
      expect(edited.code).toBe(1);
      expect(edited.stdout).toContain('FAIL  checksums: results.json was altered');
      expect(edited.stdout).toContain('results.json differs from artifact');

      // A forger who re-signs the edited folder with another key fails the pinned signer check.
      const forger = join(home, 'forger.pem');
      expect((await runTempest(['sign', out, '--new-key', forger])).code).toBe(0);
      const forged = await verify(out, '--reexecute', '0', '--public-key', `${key}.pub`);
      expect(forged.code).toBe(1);
      expect(forged.stdout).toMatch(/FAIL {2}signature: signed by key [0-9a-f]{16}, not by the trusted key/);
    } finally {
      await writeFile(file, original);
      expect((await runTempest(['sign', out, '--key', key])).code).toBe(0);
    }
    expect((await verify(out, '--reexecute', '0', '--public-key', `${key}.pub`)).code).toBe(0);
  });

  it('exports a bundle that verifies on its own artifacts, away from the original store', async () => {
    const bundle = join(home, 'bundle');
    const exported = await runTempest(['export', out, '--out', bundle], env());
    expect(exported.code).toBe(0);
    expect(await readdir(bundle)).toEqual(
      expect.arrayContaining([
        'SHA256SUMS',
        'SHA256SUMS.sig',
        'artifacts',
        'bundle.json',
        'run.json',
        'provenance.json',
        'spec-mnist-quick.yaml',
      ]),
    );
    // An empty TEMPEST_HOME: everything must come from the bundle.
    const elsewhere = await tempDir('audit-elsewhere');
    const result = await runTempest(['verify', bundle, '--public-key', `${key}.pub`, '--reexecute', '1'], {
      TEMPEST_HOME: elsewhere,
    });
    expect(result.stdout).toContain('(bundle)');
    expect(result.stdout).toContain('PASS  re-execution: 1 of 14 cells');
    expect(result.code).toBe(0);
  }, 120_000);

  it('writes provenance.json that the W3C PROV reference library (python prov) loads', async () => {
    const python = await ensurePythonVenv('prov', ['prov==3.2.3']);
    const script = [
      'import sys, prov.model as pm',
      "doc = pm.ProvDocument.deserialize(sys.argv[1], format='json')",
      'kinds = {}',
      'for record in doc.get_records():',
      '    kinds[record.get_type().localpart] = kinds.get(record.get_type().localpart, 0) + 1',
      "print(' '.join(f'{k}={v}' for k, v in sorted(kinds.items())))",
    ].join('\n');
    const { stdout } = await promisify(execFile)(python, ['-c', script, join(out, 'provenance.json')]);
    // 14 cells + the run + resolve, aggregate and finalize stages.
    expect(stdout).toContain('Activity=18');
    expect(stdout).toMatch(/Entity=\d{2,}/);
    expect(stdout).toMatch(/Generation=\d{2,}/);
    expect(stdout).toMatch(/Association=\d+/);
    expect(stdout).toMatch(/Usage=\d+/);
  }, 300_000);
});
