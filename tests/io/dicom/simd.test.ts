/** The WebAssembly SIMD kernels of the DICOM loader against the scalar formulas. */
import { describe, expect, it } from 'vitest';
import { simd16Scratch } from '../../../src/io/dicom/simd.js';

describe('simd16Scratch', () => {
  it('equals (v & mask) + add modulo 2^16 for every length, mask and intercept, tail included', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let checked = 0;
    for (const values of [1, 7, 8, 9, 15, 16, 17, 255, 4096, 4099, 512 * 512]) {
      for (const [mask, add] of [[0x0fff, -1024], [0xffff, 0], [0x0fff, 0], [0x03ff, 3000], [0xffff, -32768], [0x7fff, 1]] as const) {
        const scratch = simd16Scratch(values * 2);
        expect(scratch, 'WebAssembly SIMD is available in Node 20').toBeDefined();
        const input = new Uint16Array(values);
        for (let i = 0; i < values; i++) input[i] = Math.floor(rand() * 65536);
        scratch!.bytes.set(new Uint8Array(input.buffer));
        scratch!.maskAdd(mask, add);
        const got = new Uint16Array(scratch!.bytes.slice().buffer);
        for (let i = 0; i < values; i++) {
          const want = (((input[i]! & mask) + add) % 65536 + 65536) % 65536;
          if (got[i] !== want) throw new Error(`length ${values}, mask ${mask}, add ${add}: value ${i} is ${got[i]}, want ${want}`);
        }
        checked += values;
      }
    }
    expect(checked).toBe(6 * (1 + 7 + 8 + 9 + 15 + 16 + 17 + 255 + 4096 + 4099 + 512 * 512));
  });

  it('reads through a signed view as the int16 result (12-bit CT, intercept −1024)', () => {
    const scratch = simd16Scratch(8 * 2)!;
    const stored = new Uint16Array([0, 1024, 4095, 0xf000 | 5, 2000, 1, 3071, 4096]);
    scratch.bytes.set(new Uint8Array(stored.buffer));
    scratch.maskAdd(0x0fff, -1024);
    expect([...new Int16Array(scratch.bytes.slice().buffer)]).toEqual([-1024, 0, 3071, -1019, 976, -1023, 2047, -1024]);
  });

  it('rangeAdd: v + add modulo 2^16 and the min/max of the stored values, signed and unsigned, tail included', () => {
    let seed = 11;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (const values of [1, 7, 8, 9, 23, 4096, 4103, 512 * 512]) {
      for (const signed of [true, false]) {
        for (const add of [-1024, 0, 1000, -32768]) {
          const scratch = simd16Scratch(values * 2)!;
          const input = signed ? new Int16Array(values) : new Uint16Array(values);
          // A narrow range most of the time (as in CT), the full range sometimes.
          const span = rand() < 0.5 ? 4096 : 65536;
          const base = signed ? -(span >> 1) : 0;
          for (let i = 0; i < values; i++) input[i] = base + Math.floor(rand() * span);
          scratch.bytes.set(new Uint8Array(input.buffer));
          const [lo, hi] = scratch.rangeAdd(add, signed);
          let wantLo = Infinity;
          let wantHi = -Infinity;
          for (const v of input) {
            wantLo = Math.min(wantLo, v);
            wantHi = Math.max(wantHi, v);
          }
          expect([lo, hi], `length ${values}, signed ${signed}, add ${add}`).toEqual([wantLo, wantHi]);
          const got = new Uint16Array(scratch.bytes.slice().buffer);
          for (let i = 0; i < values; i++) {
            const want = (((input[i]! + add) % 65536) + 65536) % 65536;
            if (got[i] !== want) throw new Error(`length ${values}, signed ${signed}, add ${add}: value ${i} is ${got[i]}, want ${want}`);
          }
        }
      }
    }
  });
});
