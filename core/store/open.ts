import { fileURLToPath } from 'node:url';
import { TempestInputError } from '../errors';
import { LocalArtifactStore } from './local';
import type { ArtifactStore } from './types';

/** Open a store from a folder path or a file:// URI. */
export function openArtifactStore(location: string): ArtifactStore {
  if (location.startsWith('file://')) return new LocalArtifactStore(fileURLToPath(location));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new TempestInputError(
      `artifact store ${location}: only local folders (a path or file:// URI) are supported in this version`,
      'UnsupportedArtifactStore',
    );
  }
  return new LocalArtifactStore(location);
}
