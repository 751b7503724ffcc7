// Runs a wasm32-wasip1 program under Node's WASI, passing stdout through.
// Usage: node tools/run-wasi.mjs PROGRAM.wasm
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { argv, exit } from "node:process";

const wasi = new WASI({ version: "preview1", args: [argv[2]], env: {} });
const module = await WebAssembly.compile(await readFile(argv[2]));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
// Exit at once with the program's code: Node 20 was seen to crash (SIGSEGV) while tearing
// down the large wasm memory the determinism check leaves behind, after all output was written.
exit(wasi.start(instance) ?? 0);
