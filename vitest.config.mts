import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Integration tests start real Temporal dev servers and ORT sessions; give them room.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Two cores: running every integration file at once only makes each one slower and flakier.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
