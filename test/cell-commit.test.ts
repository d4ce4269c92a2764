import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CELL_INDEX, COMPUTATION_EVENTS, findFinishedCell } from '../core/cell';
import { LocalArtifactStore } from '../core/store/local';
import { putCanonicalJson } from '../core/store/json';
import { MEDIA_TYPES } from '../core/store/types';

const KEY = 'cell-under-test';

/** A store holding one cell's blobs as computeAndStoreCell writes them, up to the point of a crash. */
async function storeWithCellBlobs(resultKey = KEY) {
  const store = new LocalArtifactStore(await mkdtemp(join(tmpdir(), 'tempest-commit-')));
  const logits = await store.putBlob(new Uint8Array([1, 2, 3]), MEDIA_TYPES.npy);
  const result = await putCanonicalJson(store, { key: resultKey, logits });
  return { store, result };
}

describe('committing a cell: blobs, then the computation event, then the index entry', () => {
  it('finds nothing when the worker died before its computation event', async () => {
    const { store } = await storeWithCellBlobs();
    expect(await findFinishedCell(store, KEY)).toBeUndefined();
  });

  it('commits the result of a worker that died between its event and the index entry', async () => {
    const { store, result } = await storeWithCellBlobs();
    await store.appendEvent(COMPUTATION_EVENTS, KEY, { key: KEY, worker: 'dead', result: result.sha256 });
    expect(await store.getIndex(CELL_INDEX, KEY)).toBeUndefined();
    expect(await findFinishedCell(store, KEY)).toEqual(result);
    expect(await store.getIndex(CELL_INDEX, KEY)).toEqual(result);
    // Recovery adds no computation: the dead worker's event stays the only one.
    expect(await store.listEvents(COMPUTATION_EVENTS, KEY)).toHaveLength(1);
  });

  it('does not commit an event whose result blob is gone or belongs to another cell', async () => {
    const { store } = await storeWithCellBlobs('another-cell');
    const other = await putCanonicalJson(store, { key: 'another-cell', logits: { sha256: 'f'.repeat(64) } });
    await store.appendEvent(COMPUTATION_EVENTS, KEY, { key: KEY, result: 'e'.repeat(64) });
    await store.appendEvent(COMPUTATION_EVENTS, KEY, { key: KEY, result: other.sha256 });
    expect(await findFinishedCell(store, KEY)).toBeUndefined();
    expect(await store.getIndex(CELL_INDEX, KEY)).toBeUndefined();
  });

  it('treats an indexed result whose logits are missing as unfinished', async () => {
    const store = new LocalArtifactStore(await mkdtemp(join(tmpdir(), 'tempest-commit-')));
    const result = await putCanonicalJson(store, { key: KEY, logits: { sha256: 'a'.repeat(64) } });
    await store.setIndex(CELL_INDEX, KEY, result);
    expect(await findFinishedCell(store, KEY)).toBeUndefined();
  });
});
