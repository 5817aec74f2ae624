/** Shared checks that turn file-system failures into typed, file-naming errors. */
import { promises as fsp, type Stats } from 'node:fs';
import { InputFileError } from '../errors.js';

/** stat() a path, mapping ENOENT/EACCES/EISDIR to InputFileError. */
export async function statInput(file: string): Promise<Stats> {
  try {
    return await fsp.stat(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputFileError('FILE_NOT_FOUND', file, 'no such file or folder', { cause });
    if (code === 'EACCES' || code === 'EPERM') throw new InputFileError('FILE_NOT_FOUND', file, 'permission denied', { cause });
    throw new InputFileError('FILE_NOT_FOUND', file, `cannot be read (${code ?? (cause as Error).message})`, { cause });
  }
}

/** A regular, non-empty file, or a typed error. */
export async function requireNonEmptyFile(file: string): Promise<Stats> {
  const st = await statInput(file);
  if (st.isDirectory()) throw new InputFileError('UNSUPPORTED_FORMAT', file, 'is a folder, expected a file');
  if (st.size === 0) throw new InputFileError('EMPTY_FILE', file, 'is empty (0 bytes)');
  return st;
}
