import { fileURLToPath } from 'node:url';
import { TempestInputError } from '../errors';
import { LocalArtifactStore } from './local';
import { S3ArtifactStore } from './s3';
import { isS3Uri } from './s3-location';
import type { ArtifactStore } from './types';

/** Open a store from a folder path, a file:// URI or an s3://bucket/prefix URI. */
export function openArtifactStore(location: string): ArtifactStore {
  if (location.startsWith('file://')) return new LocalArtifactStore(fileURLToPath(location));
  if (isS3Uri(location)) return new S3ArtifactStore(location);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new TempestInputError(
      `artifact store ${location}: use a folder path, a file:// URI or s3://bucket/prefix`,
      'UnsupportedArtifactStore',
    );
  }
  return new LocalArtifactStore(location);
}
