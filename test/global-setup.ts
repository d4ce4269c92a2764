import { ensureMotoInstalled } from '../infra/s3-server';
import { resolveTemporalCli } from '../infra/temporal-cli';

/**
 * Before any test file runs: find the Temporal CLI and the moto S3 server, installing the pinned
 * releases into the project (.tempest/) on a fresh machine, so parallel test files never race to
 * install them and no test pays an install inside its own timeout.
 */
export default async function setup(): Promise<void> {
  const cli = await resolveTemporalCli();
  console.log(`temporal CLI ${cli.version} (${cli.source}): ${cli.path}`);
  console.log(`moto S3 server: ${await ensureMotoInstalled()}`);
}
