import { resolveTemporalCli } from '../infra/temporal-cli';

/**
 * Before any test file runs: find the Temporal CLI, installing the pinned release into the
 * project cache on a fresh machine, so parallel test files never race to install it and no test
 * pays the install inside its own timeout.
 */
export default async function setup(): Promise<void> {
  const cli = await resolveTemporalCli();
  console.log(`temporal CLI ${cli.version} (${cli.source}): ${cli.path}`);
}
