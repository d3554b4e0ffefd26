#!/usr/bin/env node
// Entry point for the `runnel-coordinator` command: the built program in dist/ (run the build first).
import "../dist/main.js";
