#!/usr/bin/env node
// Entry point for the `runnel-broker` command: the built program in dist/ (run the build first).
import "../dist/main.js";
