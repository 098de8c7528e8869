#!/usr/bin/env node
// Parses HCL2 files (Terraform .tf) with @cdktf/hcl2json, offline, and prints one JSON object on
// standard output: { "<file>": <the file as JSON> } or { "<file>": { "__error": "<parse error>" } }.
// The package comes from scripts/install-deps.sh (.cache/tools/hcl2json); run with
//   NODE_PATH=.cache/tools/hcl2json/node_modules node scripts/hcl2json.js FILE...
"use strict";
const fs = require("fs");
const { parse } = require("@cdktf/hcl2json");

(async () => {
  const parsed = {};
  for (const file of process.argv.slice(2)) {
    try {
      parsed[file] = await parse(file, fs.readFileSync(file, "utf8"));
    } catch (error) {
      parsed[file] = { __error: String((error && error.message) || error) };
    }
  }
  process.stdout.write(JSON.stringify(parsed));
})();
