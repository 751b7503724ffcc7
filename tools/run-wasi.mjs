// Runs a wasm32-wasip1 program under Node's WASI, passing stdout through.
// Usage: node tools/run-wasi.mjs PROGRAM.wasm
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { argv, exit } from "node:process";
import { setFlagsFromString } from "node:v8";

// A run of a minute or more lets V8's GC flush the bytecode of the JS frame still waiting in
// `wasi.start`; Node 20 then crashes (SIGSEGV in HandlerTable::LookupRange) when the
// program's exit unwinds into that frame. Seen under gdb; set here so every caller has it.
setFlagsFromString("--no-flush-bytecode");

const wasi = new WASI({ version: "preview1", args: [argv[2]], env: {} });
const module = await WebAssembly.compile(await readFile(argv[2]));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
exit(wasi.start(instance) ?? 0);
