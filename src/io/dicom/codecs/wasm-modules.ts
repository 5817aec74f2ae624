import { createRequire } from 'node:module';

/**
 * Lazy, cached loading of the emscripten decoder modules shipped by `@cornerstonejs/codec-*`. The packages are
 * CommonJS without type declarations, so they are loaded with `require` and typed here with just the embind
 * surface this project uses.
 */

const require = createRequire(import.meta.url);

/** Image geometry reported by the cornerstone wasm decoders after `decode()`. */
export interface WasmFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

/** The embind decoder object common to the three codecs; `delete()` frees its wasm memory. */
export interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): WasmFrameInfo;
  delete(): void;
}

/** `@cornerstonejs/codec-libjpeg-turbo-8bit` decode module. */
export interface LibJpegTurboModule {
  JPEGDecoder: new () => WasmDecoder;
}

/** `@cornerstonejs/codec-charls` decode module. */
export interface CharLsModule {
  JpegLSDecoder: new () => WasmDecoder & { getInterleaveMode(): number; getNearLossless(): number };
  getExceptionMessage?: (exception: unknown) => string | [string, string];
}

/** `@cornerstonejs/codec-openjpeg` decode module. */
export interface OpenJpegModule {
  J2KDecoder: new () => WasmDecoder & { getColorSpace(): number };
}

type EmscriptenFactory<M> = (options: Record<string, unknown>) => Promise<M>;

/** A lazily instantiated module: the first call loads it, later calls share the promise; `reset()` drops it. */
export interface LazyModule<M> {
  (): Promise<M>;
  reset(): void;
}

function lazyModule<M>(specifier: string): LazyModule<M> {
  let pending: Promise<M> | undefined;
  const get = (): Promise<M> => {
    pending ??= (async () => {
      const loaded = require(specifier) as EmscriptenFactory<M> | { default: EmscriptenFactory<M> };
      const factory = typeof loaded === 'function' ? loaded : loaded.default;
      // print/printErr: the decoders (OpenJPEG above all) write "[INFO]" and warning lines to stdout/stderr.
      return factory({ print: () => undefined, printErr: () => undefined });
    })().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
  return Object.assign(get, {
    reset: () => {
      pending = undefined;
    },
  });
}

/** libjpeg-turbo (8-bit JPEG baseline/extended). */
export const libJpegTurbo: LazyModule<LibJpegTurboModule> = lazyModule<LibJpegTurboModule>(
  '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs',
);
/** CharLS (JPEG-LS). */
export const charLs: LazyModule<CharLsModule> = lazyModule<CharLsModule>('@cornerstonejs/codec-charls/decodewasmjs');
/** OpenJPEG (JPEG 2000 and High-Throughput JPEG 2000). */
export const openJpeg: LazyModule<OpenJpegModule> = lazyModule<OpenJpegModule>(
  '@cornerstonejs/codec-openjpeg/decodewasmjs',
);

/**
 * Runs `decode` on a fresh decoder instance with `frame` copied into wasm memory, and returns a JS-owned copy of
 * the decoded bytes with the frame info. The instance is always deleted. A WebAssembly runtime error (abort,
 * out-of-bounds) leaves the module unusable, so the cached module is dropped and re-instantiated next time.
 * Emscripten's `exit()` handler may set `process.exitCode`; it is restored so a bad file never changes the exit
 * status of the process.
 */
export function runWasmDecoder<D extends WasmDecoder>(
  module: LazyModule<unknown>,
  decoder: D,
  frame: Uint8Array,
  afterDecode?: (decoder: D) => void,
): { bytes: Uint8Array; info: WasmFrameInfo } {
  const exitCode = process.exitCode;
  try {
    decoder.getEncodedBuffer(frame.length).set(frame);
    decoder.decode();
    afterDecode?.(decoder);
    const info = { ...decoder.getFrameInfo() };
    const bytes = decoder.getDecodedBuffer().slice();
    return { bytes, info };
  } catch (error) {
    // WebAssembly.RuntimeError (the WebAssembly global has no type declarations under this project's libs).
    if (error instanceof Error && error.name === 'RuntimeError') module.reset();
    throw error;
  } finally {
    process.exitCode = exitCode;
    try {
      decoder.delete();
    } catch {
      // An aborted module cannot free the instance; it is discarded with the module.
    }
  }
}
