/** Downloads a NIfTI file from the API and decodes it while it arrives, reporting the bytes received. */
import type { Api } from './api.js';
import { assembleNifti, maybeGunzip, type ViewerVolume } from './core/nifti.js';

export interface LoadedFile {
  volume: ViewerVolume;
  /** Bytes transferred (compressed). */
  bytes: number;
  ms: number;
}

export async function loadNifti(api: Api, path: string, name: string, onProgress: (received: number, total: number | undefined) => void): Promise<LoadedFile> {
  const t0 = performance.now();
  const { body, bytes: total } = await api.stream(path);
  let received = 0;
  const counted = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.byteLength;
        onProgress(received, total);
        controller.enqueue(chunk);
      },
    }),
  );
  const volume = await assembleNifti(await maybeGunzip(counted), name);
  return { volume, bytes: received, ms: performance.now() - t0 };
}
