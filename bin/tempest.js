#!/usr/bin/env node
'use strict';
// The CLI is compiled to dist/ by `npm run build`, which `npm ci` runs through the prepare script.
try {
  require.resolve('../dist/cli/main.js');
} catch {
  console.error('tempest: dist/ is missing; run `npm run build` (or `npm ci`) in the Tempest folder first.');
  process.exit(1);
}
require('../dist/cli/main.js').main();
