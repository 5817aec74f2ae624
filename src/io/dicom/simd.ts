/**
 * A WebAssembly SIMD kernel for the DICOM loader's hot loop, `v ↦ (v & mask) + add` on 16-bit values (the CT common
 * case: uint16 with BitsStored 12 and RescaleIntercept −1024 → int16), eight values per instruction.
 *
 * Why hand-written WASM: this one pass over the volume was the largest CPU cost of a DICOM load. On the benchmark VM
 * the per-value JavaScript loop took 157–200 ms for a 512×512×300 CT (more than reading the files; a two-values-per-
 * int32 JavaScript version 55–120 ms), this kernel 8.5–12.6 ms including the copies in and out of WASM memory; see
 * docs/benchmarks.md, IO. The module is 102 bytes, assembled by hand from this text (WebAssembly text format; each
 * line of bytes below says what it encodes):
 *
 *   (module
 *     (import "m" "m" (memory 0))
 *     (func (export "c") (param $p i32) (param $end i32) (param $mask i32) (param $add i32) (local $m v128) (local $a v128)
 *       (local.set $m (i16x8.splat (local.get $mask)))
 *       (local.set $a (i16x8.splat (local.get $add)))
 *       (block $done
 *         (loop $next
 *           (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
 *           (v128.store (local.get $p) (i16x8.add (v128.and (v128.load (local.get $p)) (local.get $m)) (local.get $a)))
 *           (local.set $p (i32.add (local.get $p) (i32.const 16)))
 *           (br $next)))))
 *
 * i16x8.add wraps modulo 2^16, which is exact here: the caller only uses the kernel when the planned output type (of
 * the same 16-bit width, read through another view of the bytes) holds every result.
 */

const MODULE_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  0x01, 0x08, 0x01, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x00, // type section: (func (param i32 i32 i32 i32))
  0x02, 0x08, 0x01, 0x01, 0x6d, 0x01, 0x6d, 0x02, 0x00, 0x00, // import section: "m" "m" (memory 0)
  0x03, 0x02, 0x01, 0x00, // function section: function 0 has type 0
  0x07, 0x05, 0x01, 0x01, 0x63, 0x00, 0x00, // export section: "c" = function 0
  0x0a, 0x3d, 0x01, 0x3b, // code section (61 bytes), one body (59 bytes)
  0x01, 0x02, 0x7b, // locals: 2 × v128
  0x20, 0x02, 0xfd, 0x10, 0x21, 0x04, // local.get $mask, i16x8.splat, local.set $m
  0x20, 0x03, 0xfd, 0x10, 0x21, 0x05, // local.get $add, i16x8.splat, local.set $a
  0x02, 0x40, 0x03, 0x40, // block, loop
  0x20, 0x00, 0x20, 0x01, 0x4f, 0x0d, 0x01, // br_if $done (i32.ge_u $p $end)
  0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x00, // local.get $p (store address), v128.load $p
  0x20, 0x04, 0xfd, 0x4e, 0x20, 0x05, 0xfd, 0x8e, 0x01, // v128.and $m, i16x8.add $a
  0xfd, 0x0b, 0x04, 0x00, // v128.store
  0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, // $p += 16
  0x0c, 0x00, 0x0b, 0x0b, 0x0b, // br $next, end loop, end block, end func
]);

/** The WebAssembly API used here (this project's libs, ES2022 + node, declare no WebAssembly global). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

let compiled: object | null | undefined;

/** A frame-sized scratch buffer in WASM memory, converted in place by `maskAdd`. */
export interface MaskAddScratch {
  /** The frame's bytes (read the stored values here, copy the converted ones out). */
  bytes: Uint8Array;
  /** Every 16-bit value of `bytes` becomes `(v & mask) + add` modulo 2^16. */
  maskAdd(mask: number, add: number): void;
}

/**
 * A scratch buffer of `byteLength` bytes (even) with the SIMD kernel, or undefined where WebAssembly SIMD is not
 * available (e.g. node --jitless): the caller then uses its JavaScript loop.
 */
export function maskAddScratch(byteLength: number): MaskAddScratch | undefined {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (compiled === undefined) {
    try {
      compiled = wasm ? new wasm.Module(MODULE_BYTES) : null;
    } catch {
      compiled = null; // no SIMD support: the module does not validate
    }
  }
  if (!compiled || !wasm) return undefined;
  let memory: { buffer: ArrayBuffer };
  let kernel: (p: number, end: number, mask: number, add: number) => void;
  try {
    memory = new wasm.Memory({ initial: Math.max(1, Math.ceil(byteLength / 65536)) });
    kernel = new wasm.Instance(compiled, { m: { m: memory } }).exports.c as typeof kernel;
  } catch {
    return undefined; // a frame beyond WASM's 4 GiB memory, or no memory left for it
  }
  const bytes = new Uint8Array(memory.buffer, 0, byteLength);
  const simdEnd = byteLength - (byteLength % 16);
  const tail = new Uint16Array(memory.buffer, simdEnd, (byteLength - simdEnd) >> 1);
  return {
    bytes,
    maskAdd(mask, add) {
      kernel(0, simdEnd, mask, add);
      for (let i = 0; i < tail.length; i++) tail[i] = (tail[i]! & mask) + add; // the last < 8 values
    },
  };
}
