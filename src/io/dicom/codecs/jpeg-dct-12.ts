import { createRequire } from 'node:module';
import { CodecError } from './codec-error.js';
import type { FrameFormat, RawDecodedFrame } from './frame-format.js';
import { endsWithEoi, type JpegFrameHeader } from './jpeg-header.js';
import { transferSyntaxName } from './transfer-syntaxes.js';

/**
 * 12-bit DCT JPEG (JPEG Extended, process 4; 1.2.840.10008.1.2.4.51) via `dcmjs-codecs`, whose WebAssembly build
 * bundles DCMTK's IJG 6b libraries compiled for 8, 12 and 16-bit samples (`libijg12` here: the same decoder code
 * that DCMTK's `dcmdjpeg` runs, which is why the output matches it exactly). The package's `NativeCodecs.decodeJpeg`
 * decodes one frame and runs in Node (it reads its `.wasm` with `fs`).
 *
 * Why this package (see src/io/dicom/codecs/README.md): `@cornerstonejs/codec-libjpeg-turbo-8bit`
 * (used for 8-bit) has no 12-bit build on npm; pdf.js's `JpegImage` (pdfjs-dist) and `jpeg-js` produce 8-bit output
 * only; the pdf.js-derived 12-bit decoder of `@cornerstonejs/dicom-image-loader` is not in the package's exports
 * and the package needs `@cornerstonejs/core` and a browser; `@cornerstonejs/dicom-codec` lists 12-bit JPEG as not
 * implemented; `@itk-wasm/dicom` decodes whole files, not frames. Nothing is hand-written here: the IJG decoder does
 * all of the entropy decoding, IDCT, upsampling and colour conversion.
 *
 * The decoder handles sequential (SOF0/SOF1) and progressive (SOF2) Huffman streams with 12-bit precision.
 */

type DcmjsCodecs = typeof import('dcmjs-codecs');

let pending: Promise<DcmjsCodecs> | undefined;

/** Loads dcmjs-codecs and instantiates its WebAssembly module once; later calls share it. */
function loadCodecs(): Promise<DcmjsCodecs> {
  pending ??= (async () => {
    const codecs = createRequire(import.meta.url)('dcmjs-codecs') as DcmjsCodecs;
    // The package's own (bundled) loglevel logger prints whatever the wasm writes to stdout/stderr; keep it quiet
    // like the cornerstone codecs (errors still arrive as exceptions).
    codecs.log.setLevel('silent');
    if (!codecs.NativeCodecs.isInitialized()) {
      await codecs.NativeCodecs.initializeAsync({ logCodecsInfo: false, logCodecsTrace: false });
    }
    return codecs;
  })().catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}

/**
 * Forgets the WebAssembly instance after a failed decode. The library reports decoder errors by throwing a
 * JavaScript exception through the wasm stack, so the decoder's C++ cleanup (jpeg_destroy_decompress, the codec
 * context) never runs; a fresh instance (about 45 ms) keeps corrupt frames from leaking wasm memory.
 */
function dropInstance(codecs: DcmjsCodecs): void {
  codecs.NativeCodecs.release();
  pending = undefined;
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // "JpegDecoder12::ErrorExit::Invalid JPEG file structure: missing SOS marker" -> the IJG message.
  return text.replace(/^(?:\w+::)+/, '');
}

/**
 * Decodes one 12-bit DCT JPEG frame. `ycbcr` says whether a 3-component stream holds YCbCr (converted to RGB by the
 * IJG library, as libjpeg does for 8-bit) or already RGB (output as stored); see `isYcbcrCoded` in jpeg-dct.ts.
 * Samples come out unsigned (0..4095) with precision 12; finishFrame sign-extends them from bit 11 for Pixel
 * Representation 1, which is what GDCM does with such files.
 */
export async function decodeJpegDct12(
  uid: string,
  frame: Uint8Array,
  format: FrameFormat,
  header: JpegFrameHeader,
  ycbcr: boolean,
): Promise<RawDecodedFrame> {
  const name = transferSyntaxName(uid);
  if (format.bitsAllocated < 16) {
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${name}: the codestream has 12-bit samples, more than Bits Allocated (${format.bitsAllocated}); the DICOM ` +
        `header is inconsistent with the pixel data.`,
    );
  }
  // The IJG data source in dcmjs-codecs feeds an end-of-image marker when the data runs out, so a truncated frame
  // would decode to a grey lower part without any error: refuse frames that do not end with EOI.
  if (!endsWithEoi(frame)) {
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${name}: the 12-bit JPEG codestream does not end with an end-of-image marker; the pixel data is truncated ` +
        `or corrupt.`,
    );
  }
  // A failed decode drops the instance (dropInstance), possibly while this one was waiting for it: re-check after
  // the last await, with nothing asynchronous between the check and the decode.
  let codecs = await loadCodecs();
  for (let attempt = 0; attempt < 5 && !codecs.NativeCodecs.isInitialized(); attempt++) codecs = await loadCodecs();
  const context = new codecs.Context({
    width: format.columns,
    height: format.rows,
    // The 12-bit decoder writes 16-bit samples and sizes its output buffer from Bits Allocated.
    bitsAllocated: 16,
    bitsStored: 12,
    samplesPerPixel: format.samplesPerPixel,
    // Unsigned here; sign extension is finishFrame's job, as for every other codec.
    pixelRepresentation: 0,
    planarConfiguration: 0,
    photometricInterpretation: header.components === 1 ? 'MONOCHROME2' : 'RGB',
    encodedBuffer: frame,
  });
  let bytes: Uint8Array;
  try {
    const decoded = codecs.NativeCodecs.decodeJpeg(context, { convertColorspaceToRgb: ycbcr });
    bytes = decoded.getDecodedBuffer() ?? new Uint8Array(0);
  } catch (error) {
    dropInstance(codecs);
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${name}: the IJG 12-bit decoder (dcmjs-codecs) rejected the frame (${describe(error)}); the pixel data is ` +
        `corrupt or truncated.`,
      { cause: error },
    );
  }
  const count = bytes.byteLength >>> 1;
  // Little-endian 16-bit samples (WebAssembly memory order); the buffer is a fresh copy out of wasm memory.
  const samples =
    bytes.byteOffset % 2 === 0
      ? new Uint16Array(bytes.buffer, bytes.byteOffset, count)
      : new Uint16Array(bytes.slice(0, count * 2).buffer);
  return {
    samples,
    rows: header.rows,
    columns: header.columns,
    components: header.components,
    planar: false,
    signed: false,
    precision: 12,
  };
}
