#!/usr/bin/env node
// govctl's launcher: runs the compiled CLI from dist/, which `npm ci` / `npm install` build (the prepare script).
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const main = join(root, 'dist', 'apps', 'govctl', 'src', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`govctl is not built: run "npm run build:govctl" in ${root}\n`);
  process.exitCode = 2;
} else {
  require(main);
}
