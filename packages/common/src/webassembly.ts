// The part of the WebAssembly JS API this package uses (md5-lanes.ts). Node has it all; the
// project's type library (ES2023 and @types/node 20, no DOM) declares none of it. Importing the
// WasmModule type makes the declarations visible wherever they are used.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- the global it declares is one
  namespace WebAssembly {
    function validate(bytes: Uint8Array): boolean;
    class Module {
      constructor(bytes: Uint8Array);
    }
    class Instance {
      constructor(module: Module, imports: object);
      readonly exports: Record<string, unknown>;
    }
    class Memory {
      readonly buffer: ArrayBuffer;
    }
  }
}

/** A compiled WebAssembly module. */
export type WasmModule = WebAssembly.Module;
