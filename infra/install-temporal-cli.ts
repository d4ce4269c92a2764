/**
 * Resolves the Temporal CLI, installing the pinned release into Tempest's cache when needed, so
 * that CI pays the install once up front instead of inside the first test's timeout:
 *   npx tsx infra/install-temporal-cli.ts
 */
import { resolveTemporalCli } from './temporal-cli';

async function main(): Promise<void> {
  const cli = await resolveTemporalCli();
  console.log(`temporal CLI ${cli.version} from ${cli.source}: ${cli.path}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
