/**
 * ONNX Runtime sessions: provider choice with an explicit fallback to CPU (and the reason, for the user), thread
 * settings, tensor names checked against the model, and a TensorRunner for the engine.
 */
import * as ort from 'onnxruntime-node';
import { SegError } from '../errors.js';
import type { TensorRunner } from './engine.js';

export type Provider = 'cpu' | 'cuda' | 'webgpu';
export type ProviderChoice = Provider | 'auto';

export interface SessionOptions {
  /** Default 'cpu'. 'auto' tries cuda, then webgpu, then cpu. */
  provider?: ProviderChoice | undefined;
  /** Intra-op threads (default: ONNX Runtime's choice, all physical cores). */
  threads?: number | undefined;
}

export interface ModelSession {
  readonly session: ort.InferenceSession;
  readonly provider: Provider;
  /** Why a requested provider was not used, if it was not. */
  readonly fallbackReasons: string[];
  readonly inputName: string;
  readonly outputName: string;
  /** Static input shape entries (numbers) or symbolic names. */
  readonly inputShape: readonly (number | string)[];
  readonly runner: TensorRunner;
  release(): Promise<void>;
}

function candidates(choice: ProviderChoice): Provider[] {
  if (choice === 'auto') return ['cuda', 'webgpu', 'cpu'];
  return choice === 'cpu' ? ['cpu'] : [choice, 'cpu'];
}

/**
 * Opens `modelFile` on the first provider that works.
 * @throws SegError MODEL_LOAD_FAILED (unreadable or invalid model), MODEL_MISMATCH (tensor names).
 */
export async function openModelSession(
  modelFile: string,
  names: { input?: string | undefined; output?: string | undefined },
  options: SessionOptions = {},
): Promise<ModelSession> {
  const fallbackReasons: string[] = [];
  let session: ort.InferenceSession | undefined;
  let provider: Provider = 'cpu';
  for (const p of candidates(options.provider ?? 'cpu')) {
    try {
      session = await ort.InferenceSession.create(modelFile, {
        executionProviders: [p],
        graphOptimizationLevel: 'all',
        ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
      });
      provider = p;
      break;
    } catch (err) {
      const message = firstLine((err as Error).message);
      if (p === 'cpu') {
        throw new SegError('MODEL_LOAD_FAILED', `${modelFile}: ONNX Runtime cannot load the model: ${message}`, { cause: err });
      }
      fallbackReasons.push(`${p} execution provider unavailable (${message})`);
    }
  }
  const s = session!;
  const inputName = names.input ?? s.inputNames[0]!;
  const outputName = names.output ?? s.outputNames[0]!;
  if (!s.inputNames.includes(inputName)) {
    throw new SegError('MODEL_MISMATCH', `${modelFile}: the card's input "${inputName}" is not an input of the model (inputs: ${s.inputNames.join(', ')})`);
  }
  if (!s.outputNames.includes(outputName)) {
    throw new SegError('MODEL_MISMATCH', `${modelFile}: the card's output "${outputName}" is not an output of the model (outputs: ${s.outputNames.join(', ')})`);
  }
  const meta = s.inputMetadata.find((m) => m.name === inputName);
  const inputShape = meta && meta.isTensor ? meta.shape : [];
  const batchDim = inputShape[0];
  const maxBatch = typeof batchDim === 'number' && batchDim > 0 ? batchDim : Number.MAX_SAFE_INTEGER;
  const fixedBatch = typeof batchDim === 'number' && batchDim > 0 ? batchDim : undefined;
  const runner: TensorRunner = {
    maxBatch: fixedBatch ?? maxBatch,
    async run(input, shape) {
      const tensor = new ort.Tensor('float32', input, shape as number[]);
      let results: ort.InferenceSession.ReturnType;
      try {
        results = await s.run({ [inputName]: tensor }, [outputName]);
      } catch (err) {
        throw new SegError('INFERENCE_FAILED', `${modelFile}: ONNX Runtime failed on an input of shape [${shape.join(', ')}]: ${firstLine((err as Error).message)}`, { cause: err });
      }
      const out = results[outputName]!;
      if (out.type !== 'float32') throw new SegError('MODEL_MISMATCH', `${modelFile}: output "${outputName}" is ${out.type}, expected float32`);
      const data = out.data as Float32Array;
      return { data, dims: out.dims };
    },
  };
  return {
    session: s,
    provider,
    fallbackReasons,
    inputName,
    outputName,
    inputShape,
    runner,
    release: () => s.release(),
  };
}

function firstLine(message: string): string {
  const line = message.split('\n').find((l) => l.trim()) ?? message;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
