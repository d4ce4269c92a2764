import { join, resolve } from 'node:path';

/**
 * Tempest's local state: the embedded Temporal server's database and the artifact store. Defaults
 * to ./.tempest so a project's runs and cache live with the project; TEMPEST_HOME moves it.
 */
export function stateDir(): string {
  return resolve(process.env.TEMPEST_HOME ?? '.tempest');
}

export function defaultArtifactsDir(): string {
  return join(stateDir(), 'artifacts');
}

export function embeddedServerDir(): string {
  return join(stateDir(), 'temporal');
}
