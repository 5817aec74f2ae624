/**
 * The models a server offers: every `*.card.json` in the models folder (and its subfolders, two levels deep),
 * identified by the card's `name`. Jobs name a model; the card path is looked up here, never taken from a request.
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { readModelCardSpec } from '../inference/card.js';
import { HttpError } from './http-error.js';

export interface ModelInfo {
  name: string;
  version: string;
  description?: string | undefined;
  mode: 'slice' | 'sliding-window' | 'whole';
  labels: { value: number; name: string; color?: [number, number, number] | undefined }[];
  /** Whether the card's ONNX file is present (a card can ship before its trained model). */
  available: boolean;
}

interface Entry {
  info: ModelInfo;
  cardFile: string;
}

/** Model names are ids in URLs and request bodies: the same strict form everywhere. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

async function findCards(dir: string, depth: number): Promise<string[]> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isFile() && e.name.endsWith('.card.json')) out.push(p);
    else if (e.isDirectory() && depth > 0 && e.name !== 'recipe') out.push(...(await findCards(p, depth - 1)));
  }
  return out;
}

export class ModelCatalog {
  constructor(
    readonly dir: string,
    private readonly log: (event: Record<string, unknown>) => void,
  ) {}

  /** Reads the folder afresh (cards are small), so models added while the server runs appear. */
  async entries(): Promise<Entry[]> {
    const byName = new Map<string, Entry>();
    for (const cardFile of await findCards(this.dir, 2)) {
      let spec;
      try {
        spec = await readModelCardSpec(cardFile);
      } catch (e) {
        this.log({ event: 'model_card_invalid', card: path.relative(this.dir, cardFile), error: (e as Error).message.split('\n')[0] });
        continue;
      }
      if (!MODEL_NAME_PATTERN.test(spec.name) || byName.has(spec.name)) {
        this.log({ event: 'model_card_skipped', card: path.relative(this.dir, cardFile), reason: byName.has(spec.name) ? 'duplicate name' : 'name is not an id' });
        continue;
      }
      const onnx = path.resolve(path.dirname(cardFile), spec.model ?? `${path.basename(cardFile).replace(/(\.card)?\.json$/i, '')}.onnx`);
      byName.set(spec.name, {
        cardFile,
        info: {
          name: spec.name,
          version: spec.version,
          description: spec.description,
          mode: spec.mode,
          labels: spec.labels.map((l) => ({ value: l.value, name: l.name, ...(l.color ? { color: l.color } : {}) })),
          available: existsSync(onnx),
        },
      });
    }
    return [...byName.values()];
  }

  async list(): Promise<ModelInfo[]> {
    return (await this.entries()).map((e) => e.info);
  }

  /**
   * The card of a model, installed or not.
   * @throws HttpError 404 UNKNOWN_MODEL, listing the names there are.
   */
  async find(name: string): Promise<{ cardFile: string; info: ModelInfo }> {
    const all = await this.entries();
    const hit = all.find((e) => e.info.name === name);
    if (!hit) throw new HttpError(404, 'UNKNOWN_MODEL', `no model named "${name}"; available: ${all.filter((e) => e.info.available).map((e) => e.info.name).join(', ') || '(none)'} (GET /api/models)`);
    return hit;
  }

  /**
   * The card file of a usable model.
   * @throws HttpError 404 UNKNOWN_MODEL (listing the names there are), 409 MODEL_UNAVAILABLE (no ONNX file yet).
   */
  async resolve(name: string): Promise<{ cardFile: string; info: ModelInfo }> {
    const hit = await this.find(name);
    if (!hit.info.available) throw new HttpError(409, 'MODEL_UNAVAILABLE', `model "${name}" has a card but its ONNX file is not installed on this server yet`);
    return { cardFile: hit.cardFile, info: hit.info };
  }
}
