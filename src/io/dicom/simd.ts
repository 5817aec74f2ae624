/**
 * WebAssembly SIMD kernels for the DICOM loader's hot loop over 16-bit stored values, eight values per instruction:
 *  - `c`: v ↦ (v & mask) + add, in place (the CT common case: uint16 with BitsStored 12 and RescaleIntercept −1024 →
 *    int16);
 *  - `s` / `u`: v ↦ v + add, in place, while tracking the minimum and maximum of the stored values as signed (`s`)
 *    or unsigned (`u`) 16-bit integers (signed 16-bit CT with RescaleIntercept −1024, whose worst case does not fit
 *    int16 but whose actual values almost always do: the loader converts optimistically and checks the range).
 *
 * Why hand-written WASM: this one pass over the volume was the largest CPU cost of a DICOM load. On the benchmark VM
 * the per-value JavaScript loop took 157–200 ms for a 512×512×300 CT (more than reading the files; a two-values-per-
 * int32 JavaScript version 55–120 ms), the `c` kernel 8.5–12.6 ms including the copies in and out of WASM memory;
 * see docs/benchmarks.md, IO. No npm package offers such a kernel, and a WAT assembler (wabt) would be a build-time
 * dependency for ~40 instructions. The module is assembled below from its sections; the functions are, in the
 * WebAssembly text format:
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
 *           (br $next))))
 *     (func (export "s") (param $p i32) (param $end i32) (param $add i32) (param $lo0 i32) (param $hi0 i32) (param $res i32)
 *           (local $a v128) (local $lo v128) (local $hi v128) (local $v v128)
 *       (local.set $a (i16x8.splat (local.get $add)))
 *       (local.set $lo (i16x8.splat (local.get $lo0)))
 *       (local.set $hi (i16x8.splat (local.get $hi0)))
 *       (block $done
 *         (loop $next
 *           (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
 *           (local.set $v (v128.load (local.get $p)))
 *           (local.set $lo (i16x8.min_s (local.get $lo) (local.get $v)))
 *           (local.set $hi (i16x8.max_s (local.get $hi) (local.get $v)))
 *           (v128.store (local.get $p) (i16x8.add (local.get $v) (local.get $a)))
 *           (local.set $p (i32.add (local.get $p) (i32.const 16)))
 *           (br $next)))
 *       (v128.store (local.get $res) (local.get $lo))
 *       (v128.store offset=16 (local.get $res) (local.get $hi)))
 *     (func (export "u") …the same with i16x8.min_u and i16x8.max_u…))
 *
 * i16x8.add wraps modulo 2^16, which is exact here: the caller only keeps the result when the planned output type
 * (of the same 16-bit width, read through another view of the bytes) holds every value, and otherwise undoes it.
 */

/** Unsigned LEB128, as the binary format encodes sizes and indices. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const section = (id: number, content: number[]): number[] => [id, ...leb(content.length), ...content];
const text = (s: string): number[] => [...leb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
/** A function body: local declarations ([count, type] pairs), code, and the final `end`. */
const body = (locals: [number, number][], code: number[]): number[] => {
  const b = [...vec(locals.map(([n, t]) => [...leb(n), t])), ...code, END];
  return [...leb(b.length), ...b];
};

const I32 = 0x7f;
const V128 = 0x7b;
const END = 0x0b;
const get = (i: number) => [0x20, i]; // local.get
const set = (i: number) => [0x21, i]; // local.set
const SPLAT16 = [0xfd, 0x10]; // i16x8.splat
const LOAD = [0xfd, 0x00, 0x04, 0x00]; // v128.load align=16 offset=0
const STORE = [0xfd, 0x0b, 0x04, 0x00]; // v128.store align=16 offset=0
const STORE16 = [0xfd, 0x0b, 0x04, 0x10]; // v128.store align=16 offset=16
const AND = [0xfd, 0x4e]; // v128.and
const ADD16 = [0xfd, 0x8e, 0x01]; // i16x8.add
const MIN_S = [0xfd, 0x96, 0x01]; // i16x8.min_s
const MIN_U = [0xfd, 0x97, 0x01]; // i16x8.min_u
const MAX_S = [0xfd, 0x98, 0x01]; // i16x8.max_s
const MAX_U = [0xfd, 0x99, 0x01]; // i16x8.max_u
const LOOP_HEAD = [0x02, 0x40, 0x03, 0x40, ...get(0), ...get(1), 0x4f, 0x0d, 0x01]; // block, loop, br_if 1 (p ≥ end)
const NEXT = [...get(0), 0x41, 0x10, 0x6a, ...set(0), 0x0c, 0x00, END, END]; // p += 16, br 0, end loop, end block

// c(p, end, mask, add); locals 4 = m, 5 = a.
const MASK_ADD = body([[2, V128]], [...get(2), ...SPLAT16, ...set(4), ...get(3), ...SPLAT16, ...set(5), ...LOOP_HEAD, ...get(0), ...get(0), ...LOAD, ...get(4), ...AND, ...get(5), ...ADD16, ...STORE, ...NEXT]);
// s/u(p, end, add, lo0, hi0, res); locals 6 = a, 7 = lo, 8 = hi, 9 = v.
const rangeAdd = (min: number[], max: number[]) =>
  body(
    [[4, V128]],
    [
      ...get(2), ...SPLAT16, ...set(6), ...get(3), ...SPLAT16, ...set(7), ...get(4), ...SPLAT16, ...set(8),
      ...LOOP_HEAD,
      ...get(0), ...LOAD, ...set(9),
      ...get(7), ...get(9), ...min, ...set(7),
      ...get(8), ...get(9), ...max, ...set(8),
      ...get(0), ...get(9), ...get(6), ...ADD16, ...STORE,
      ...NEXT,
      ...get(5), ...get(7), ...STORE, ...get(5), ...get(8), ...STORE16,
    ],
  );

const MODULE_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32]]), 0x00], [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), 0x00]])), // types
  ...section(2, vec([[...text('m'), ...text('m'), 0x02, 0x00, 0x00]])), // import "m" "m" (memory 0)
  ...section(3, vec([[0], [1], [1]])), // function types
  ...section(7, vec([[...text('c'), 0x00, 0], [...text('s'), 0x00, 1], [...text('u'), 0x00, 2]])), // exports
  ...section(10, vec([MASK_ADD, rangeAdd(MIN_S, MAX_S), rangeAdd(MIN_U, MAX_U)])), // code
]);

/** The WebAssembly API used here (this project's libs, ES2022 + node, declare no WebAssembly global). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

let compiled: object | null | undefined;

/** A frame-sized scratch buffer in WASM memory, converted in place by its kernels. */
export interface Simd16Scratch {
  /** The frame's bytes (read the stored values here, copy the converted ones out). */
  bytes: Uint8Array;
  /** Every 16-bit value of `bytes` becomes `(v & mask) + add` modulo 2^16. */
  maskAdd(mask: number, add: number): void;
  /**
   * Every 16-bit value of `bytes` becomes `v + add` modulo 2^16; returns the minimum and maximum of the values before
   * the add, read as signed or unsigned 16-bit integers.
   */
  rangeAdd(add: number, signed: boolean): [number, number];
}

/**
 * A scratch buffer of `byteLength` bytes (even) with the SIMD kernels, or undefined where WebAssembly SIMD is not
 * available (e.g. node --jitless): the caller then uses its JavaScript loop.
 */
export function simd16Scratch(byteLength: number): Simd16Scratch | undefined {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (compiled === undefined) {
    try {
      compiled = wasm ? new wasm.Module(MODULE_BYTES) : null;
    } catch {
      compiled = null; // no SIMD support: the module does not validate
    }
  }
  if (!compiled || !wasm || byteLength % 2 !== 0) return undefined;
  const resultAt = Math.ceil(byteLength / 16) * 16; // 32 bytes after the frame for the range vectors
  let memory: { buffer: ArrayBuffer };
  let exports: Record<string, unknown>;
  try {
    memory = new wasm.Memory({ initial: Math.max(1, Math.ceil((resultAt + 32) / 65536)) });
    exports = new wasm.Instance(compiled, { m: { m: memory } }).exports;
  } catch {
    return undefined; // a frame beyond WASM's 4 GiB memory, or no memory left for it
  }
  const maskAddKernel = exports.c as (p: number, end: number, mask: number, add: number) => void;
  const rangeKernels = { s: exports.s, u: exports.u } as Record<'s' | 'u', (p: number, end: number, add: number, lo0: number, hi0: number, res: number) => void>;
  const bytes = new Uint8Array(memory.buffer, 0, byteLength);
  const simdEnd = byteLength - (byteLength % 16);
  const tailU = new Uint16Array(memory.buffer, simdEnd, (byteLength - simdEnd) >> 1);
  const tailS = new Int16Array(memory.buffer, simdEnd, tailU.length);
  const lanesU = new Uint16Array(memory.buffer, resultAt, 16);
  const lanesS = new Int16Array(memory.buffer, resultAt, 16);
  return {
    bytes,
    maskAdd(mask, add) {
      maskAddKernel(0, simdEnd, mask, add);
      for (let i = 0; i < tailU.length; i++) tailU[i] = (tailU[i]! & mask) + add; // the last < 8 values
    },
    rangeAdd(add, signed) {
      const lanes = signed ? lanesS : lanesU;
      const tail = signed ? tailS : tailU;
      rangeKernels[signed ? 's' : 'u'](0, simdEnd, add, signed ? 0x7fff : 0xffff, signed ? 0x8000 : 0, resultAt);
      let lo = signed ? 32767 : 65535;
      let hi = signed ? -32768 : 0;
      if (simdEnd > 0) {
        for (let i = 0; i < 8; i++) {
          lo = Math.min(lo, lanes[i]!);
          hi = Math.max(hi, lanes[8 + i]!);
        }
      }
      for (let i = 0; i < tail.length; i++) {
        const v = tail[i]!;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        tail[i] = v + add;
      }
      return [lo, hi];
    },
  };
}
