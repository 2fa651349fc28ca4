#!/usr/bin/env node
// Compiles contracts/*.sol with the project-local solc (tools/node_modules) and
// writes chainops/devnet/contracts/<ContractName>.json for every deployable contract:
//   {contractName, sourceName, compilerVersion, abi, bytecode, deployedBytecode, sourceHash}
// The output is committed and shipped in the wheel, so installing chainops needs no compiler.
// Incremental: a sha256 over all sources, the settings, the compiler version and
// this script is kept in chainops/devnet/contracts/.stamp; when it matches, nothing is done.
//
// Usage: node scripts/compile_contracts.mjs [--force | --check]
//   --check  compile in memory and exit 1 if the committed output differs

import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const contractsDir = path.join(root, "contracts");
const outDir = path.join(root, "chainops", "devnet", "contracts");
const stampPath = path.join(outDir, ".stamp");
const checkOnly = process.argv.includes("--check");
const force = checkOnly || process.argv.includes("--force");

const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  // Paris: Ganache 7 knows no Cancun opcode, and a node on an older hardfork no PUSH0
  evmVersion: "paris",
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
  },
};

const sha256 = (data) => createHash("sha256").update(data).digest("hex");

// Resolve against tools/package.json so the pinned, project-local solc is used
// no matter where the script is run from.
const toolsRequire = createRequire(path.join(root, "tools", "package.json"));

function requireTool(id) {
  try {
    return toolsRequire(id);
  } catch (err) {
    console.error(`solc not found under tools/node_modules (${err.message}).`);
    console.error("Install it with: npm --prefix tools install");
    process.exit(2);
  }
}

function readSources() {
  const files = fs
    .readdirSync(contractsDir)
    .filter((f) => f.endsWith(".sol"))
    .sort();
  if (files.length === 0) {
    console.error(`no .sol files in ${contractsDir}`);
    process.exit(2);
  }
  // Source unit names are bare file names, so "./X.sol" imports resolve among them
  // and the embedded metadata does not depend on where the repository lives.
  const sources = {};
  for (const f of files) {
    sources[f] = { content: fs.readFileSync(path.join(contractsDir, f), "utf8") };
  }
  return sources;
}

function stampFor(sources, version) {
  const h = createHash("sha256");
  h.update(`solc ${version}\n`);
  h.update(JSON.stringify(SETTINGS));
  h.update(fs.readFileSync(fileURLToPath(import.meta.url)));
  for (const [name, { content }] of Object.entries(sources)) {
    h.update(`\0${name}\0${content}`);
  }
  return h.digest("hex");
}

function upToDate(stamp) {
  if (force || !fs.existsSync(stampPath)) return false;
  if (fs.readFileSync(stampPath, "utf8").trim() !== stamp) return false;
  // A stamp without its artifacts (e.g. deleted by hand) is not up to date.
  return fs.readdirSync(outDir).some((f) => f.endsWith(".json"));
}

function main() {
  // The package version is enough for the stamp; loading the compiler itself
  // takes most of a second, which the up-to-date path should not pay.
  const packageVersion = requireTool("solc/package.json").version;
  const sources = readSources();
  const stamp = stampFor(sources, packageVersion);
  if (upToDate(stamp)) {
    console.log(`contracts up to date (${Object.keys(sources).length} sources)`);
    return;
  }
  const solc = requireTool("solc");
  const version = solc.version();

  const started = Date.now();
  const input = { language: "Solidity", sources, settings: SETTINGS };
  const missingImport = (p) => ({ error: `import ${p} is not in contracts/` });
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: missingImport }));

  let failed = false;
  for (const msg of output.errors ?? []) {
    const text = msg.formattedMessage ?? msg.message;
    if (msg.severity === "error") {
      failed = true;
      console.error(text);
    } else {
      console.warn(text);
    }
  }
  if (failed) {
    console.error(`compilation failed (solc ${version})`);
    process.exit(1);
  }

  // Artifact file name -> content, for every deployable contract.
  const artifacts = new Map();
  for (const [sourceName, contracts] of Object.entries(output.contracts ?? {})) {
    const sourceHash = sha256(sources[sourceName].content);
    for (const [contractName, c] of Object.entries(contracts)) {
      // Abstract contracts and interfaces have no bytecode and cannot be deployed.
      if (!c.evm.bytecode.object) continue;
      const file = `${contractName}.json`;
      if (artifacts.has(file)) {
        console.error(`contract name ${contractName} is defined twice`);
        process.exit(1);
      }
      const artifact = {
        contractName,
        sourceName,
        compilerVersion: version,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        sourceHash,
      };
      artifacts.set(file, `${JSON.stringify(artifact, null, 2)}\n`);
    }
  }
  const existing = fs.existsSync(outDir)
    ? fs.readdirSync(outDir).filter((f) => f.endsWith(".json"))
    : [];
  if (checkOnly) {
    const stale = [...artifacts.keys()].filter((f) => {
      const target = path.join(outDir, f);
      return !fs.existsSync(target) || fs.readFileSync(target, "utf8") !== artifacts.get(f);
    });
    stale.push(...existing.filter((f) => !artifacts.has(f)));
    if (stale.length) {
      console.error(`stale compiled contracts: ${stale.join(", ")}; run: node ${path.relative(root, fileURLToPath(import.meta.url))}`);
      process.exit(1);
    }
    console.log(`compiled contracts up to date (${artifacts.size})`);
    return;
  }
  fs.mkdirSync(outDir, { recursive: true });
  // Remove the old stamp first: an interrupted run must not look up to date.
  fs.rmSync(stampPath, { force: true });
  for (const [file, content] of artifacts) fs.writeFileSync(path.join(outDir, file), content);
  // Drop artifacts of contracts that no longer exist.
  for (const f of existing) if (!artifacts.has(f)) fs.rmSync(path.join(outDir, f));
  fs.writeFileSync(stampPath, `${stamp}\n`);
  const names = [...artifacts.keys()].map((f) => f.slice(0, -5)).sort().join(", ");
  console.log(`compiled ${artifacts.size} contracts in ${Date.now() - started} ms: ${names}`);
}

main();
