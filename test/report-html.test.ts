/**
 * report.html end to end: a real (local executor) run of the quick example writes report.html
 * next to report.md; the page is deterministic, self-contained, and in headless Chromium it makes
 * no request but its own, logs no error and shows the charts the run has data for.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProvenanceRecord } from '../core/provenance/record';
import { galleryImagesShown, renderHtmlReport, shownGalleries } from '../core/report/html';
import { escapeXml } from '../core/report/svg/markup';
import type { BenchmarkResults } from '../core/results';
import { killSpawnedTempests, REPO_ROOT, runTempest, tempDir } from './helpers/cli';

// Debian's chromium, which infra/install-chromium.sh installs (TEMPEST_CHROMIUM points elsewhere).
const CHROMIUM = process.env.TEMPEST_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const OUTPUT_DIR = join(REPO_ROOT, '.tempest', 'test-output');
const SCREENSHOT = join(OUTPUT_DIR, 'report.png');

/**
 * The little of the DOM that the page functions below use. They run in the browser; the project
 * compiles without the DOM library (Node code must not see browser globals), so they declare it.
 */
interface DomElement {
  readonly id: string;
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}
interface DomImage extends DomElement {
  readonly src: string;
  readonly alt: string;
  readonly naturalWidth: number;
}
interface DomWindow {
  readonly document: { readonly documentElement: { readonly scrollWidth: number } };
  getComputedStyle(element: unknown): { readonly display: string };
}

let out: string;
let html: string;
let results: BenchmarkResults;
let provenance: ProvenanceRecord;

async function readGallery(): Promise<Map<string, Uint8Array>> {
  const images = new Map<string, Uint8Array>();
  for (const sha256 of galleryImagesShown(results)) {
    images.set(sha256, await readFile(join(out, 'gallery', `${sha256}.png`)));
  }
  return images;
}

beforeAll(async () => {
  // A fresh CI machine has no browser: install Debian's chromium (a minute or so) unless present.
  execFileSync('bash', [join(REPO_ROOT, 'infra', 'install-chromium.sh')], { stdio: 'inherit' });
  const home = await tempDir('report-html');
  out = join(home, 'out');
  const run = await runTempest(['run', 'examples/mnist-quick.yaml', '--executor', 'local', '--out', out], {
    TEMPEST_HOME: home,
  });
  expect(run.code, run.stderr).toBe(0);
  html = await readFile(join(out, 'report.html'), 'utf8');
  results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as BenchmarkResults;
  provenance = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as ProvenanceRecord;
}, 400_000);

afterAll(killSpawnedTempests);

describe('report.html of a real run', () => {
  it('is written next to report.md and re-renders to the same bytes from the run folder', async () => {
    expect((await readdir(out)).sort()).toEqual(
      [
        'SHA256SUMS',
        'gallery',
        'lineage.dot',
        'lineage.mmd',
        'lineage.svg',
        'provenance.json',
        'report.html',
        'report.md',
        'results.json',
        'run.json',
      ].sort(),
    );
    const images = await readGallery();
    const again = renderHtmlReport({ results, provenance, images });
    // (Compared as a boolean: a failure would otherwise print two 100 kB pages.)
    expect(again === html, 'the CLI wrote what the renderer renders (is dist/ built?)').toBe(true);
    expect(renderHtmlReport({ results, provenance, images }) === again).toBe(true);
  });

  it('references nothing outside itself and carries only provenance times', () => {
    // Every URL-bearing attribute is a fragment or a data: URI (the SVG namespace is not fetched).
    const urls = [...html.matchAll(/\s(?:src|href|xlink:href|action|poster)="([^"]*)"/g)].map((m) => m[1]);
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.filter((url) => !url.startsWith('#') && !url.startsWith('data:'))).toEqual([]);
    expect(html).not.toMatch(/<script|<link|@import|url\((?!#)/i);
    const times = [...html.matchAll(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/g)].map((m) => m[0]);
    expect(new Set(times)).toEqual(new Set([provenance.run.startedAt, provenance.run.finishedAt]));
  });

  it("shows every cell of report.md's tables, formatted the same way", async () => {
    const markdown = await readFile(join(out, 'report.md'), 'utf8');
    const headings = [
      'Accuracy by condition',
      'Accuracy with uncertainty, calibration and subgroups',
      'Paired comparisons',
      'Replication across seeds',
      'Failure modes',
      'Cells',
      'Provenance',
    ];
    let checked = 0;
    for (const heading of headings) {
      const section = markdown.split(`\n## ${heading}\n`)[1].split('\n## ')[0];
      const rows = section.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| ---'));
      expect(rows.length, heading).toBeGreaterThan(1);
      // Body rows only (the first row is the header); code spans are <code> in HTML.
      for (const row of rows.slice(1)) {
        for (const cell of row.split(' | ').map((part) => part.replace(/^\| |\s*\|$/g, ''))) {
          if (cell.includes('`')) {
            for (const span of cell.match(/`([^`]+)`/g)!) expect(html).toContain(`>${span.slice(1, -1)}<`);
          } else if (heading !== 'Provenance') {
            expect(html, `${heading}: ${cell}`).toContain(`>${escapeXml(cell)}<`);
          }
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
  });
});

describe('report.html in headless Chromium', () => {
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];
  let pageUrl: string;

  beforeAll(async () => {
    userDataDir = await mkdtemp(join(tmpdir(), 'tempest-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1366, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    pageUrl = `file://${join(out, 'report.html')}`;
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    context.on('request', (request) => {
      const url = request.url();
      if (url !== pageUrl && !url.startsWith('data:')) foreignRequests.push(url);
    });
    await page.goto(pageUrl, { waitUntil: 'load' });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  });

  it('makes no request but the page itself and logs no console error', async () => {
    await page.waitForLoadState('networkidle');
    expect(foreignRequests).toEqual([]);
    expect(consoleErrors).toEqual([]);
    // Every gallery image decoded from its data: URI.
    const images = await page.$$eval('img', (elements: unknown[]) =>
      (elements as DomImage[]).map((image) => ({
        src: image.src.slice(0, 22),
        width: image.naturalWidth,
        alt: image.alt,
      })),
    );
    expect(images.length).toBe(shownGalleries(results).flatMap((gallery) => gallery.examples).length);
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      expect(image.src).toBe('data:image/png;base64,');
      expect(image.width).toBeGreaterThan(0);
      expect(image.alt).toMatch(/^sample \d+: label \d, clean \d, perturbed \d$/);
    }
  });

  it('draws the charts the run has data for, each titled and described', async () => {
    const charts = await page.$$eval('svg.chart', (elements: unknown[]) =>
      (elements as DomElement[]).map((svg) => ({
        id: svg.id,
        title: svg.querySelector(':scope > title')?.textContent ?? '',
        desc: svg.querySelector(':scope > desc')?.textContent ?? '',
        labelledBy: svg.getAttribute('aria-labelledby'),
        series: Array.from(svg.querySelectorAll('g.series'), (group) => group.getAttribute('data-series')),
        worst: svg.querySelectorAll('g.bar.worst').length,
        heatmapCells: svg.querySelectorAll('g.heatmap-cell').length,
        nodes: svg.querySelectorAll('g.node').length,
        edges: svg.querySelectorAll('path.edge').length,
        bands: svg.querySelectorAll('path.band').length,
      })),
    );
    const byTitle = new Map(charts.map((chart) => [chart.title, chart]));
    for (const chart of charts) {
      expect(chart.desc.length).toBeGreaterThan(20);
      expect(chart.labelledBy).toBe(`${chart.id}-title ${chart.id}-desc`);
    }
    expect(new Set(charts.map((chart) => chart.id)).size).toBe(charts.length);

    const severity = byTitle.get('Accuracy vs severity: gaussian_noise');
    expect(severity?.series).toEqual(['mlp', 'cnn']);
    expect(severity?.bands).toBe(2);
    expect(byTitle.get('Accuracy per corruption (mean over severities)')?.heatmapCells).toBe(2);
    for (const model of ['mlp', 'cnn']) {
      const reliability = byTitle.get(`Reliability: ${model}`);
      expect(reliability?.series).toEqual([
        expect.stringMatching(/^clean, ECE 0\.\d{4}$/),
        expect.stringMatching(/^gaussian_noise\/s5 \(seed 1\), ECE 0\.\d{4}$/),
      ]);
      const subgroups = byTitle.get(`Accuracy per class: ${model}`);
      expect(subgroups?.series).toHaveLength(2);
      expect(subgroups?.worst).toBe(2);
    }
    // data -> clean, gaussian_noise -> mlp, cnn -> evaluation -> statistics
    const lineage = byTitle.get('Lineage');
    expect(lineage?.nodes).toBe(7);
    expect(lineage?.edges).toBe(2 + 2 * 2 + 2 + 1);
    // No attack results in this run: no attack panel.
    expect(charts.some((chart) => chart.title.startsWith('Robust accuracy'))).toBe(false);
    expect(await page.locator('section#drift').count()).toBe(0);
  });

  it('has headed tables, fits a laptop screen, hides navigation in print, and screenshots', async () => {
    const tables = await page.$$eval('table', (elements: unknown[]) =>
      (elements as DomElement[]).map((table) => ({
        caption: table.querySelector('caption')?.textContent ?? '',
        columnHeaders: table.querySelectorAll('thead th[scope="col"]').length,
        rows: table.querySelectorAll('tbody tr').length,
      })),
    );
    expect(tables.length).toBeGreaterThanOrEqual(6);
    for (const table of tables) {
      expect(table.caption).not.toBe('');
      expect(table.columnHeaders).toBeGreaterThan(1);
      expect(table.rows).toBeGreaterThan(0);
    }
    const comparisons = tables.find((table) => table.caption.startsWith('Paired comparisons'));
    expect(comparisons?.rows).toBe(results.evaluation!.comparisons.length);
    // Wide tables scroll inside their box; the page itself never scrolls sideways.
    expect(
      await page.evaluate(() => (globalThis as unknown as DomWindow).document.documentElement.scrollWidth),
    ).toBeLessThanOrEqual(1366);

    await mkdir(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = await readFile(SCREENSHOT);
    expect(png.subarray(1, 4).toString()).toBe('PNG');

    await page.emulateMedia({ media: 'print' });
    expect(
      await page.$eval(
        'nav',
        (nav: unknown) => (globalThis as unknown as DomWindow).getComputedStyle(nav).display,
      ),
    ).toBe('none');
    await page.emulateMedia({ media: 'screen' });
  });
});
