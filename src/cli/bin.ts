#!/usr/bin/env node
// Process entry: everything else lives in main.ts so tests can drive the CLI in-process or as a child.
import { main } from './main.js';

await main(process.argv.slice(2));
