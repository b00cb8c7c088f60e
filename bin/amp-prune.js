#!/usr/bin/env node
// Thin launcher for the compiled CLI (built into dist/ by `npm install` / `npm run build`).
import '../dist/cli/bin.js';
