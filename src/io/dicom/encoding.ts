/**
 * Primitives for the DICOM files medseg writes (phantom CT series, SEG, SR): UIDs and DS values. Encoding itself is
 * dcmjs's; these are the few rules it leaves to the caller.
 */
import { createHash, randomUUID } from 'node:crypto';
import dcmjs from 'dcmjs';

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** medseg's implementation class UID (a UUID-derived 2.25 UID, fixed). */
export const MEDSEG_IMPLEMENTATION_UID = '2.25.230184133213427104549416011330384744331';

/**
 * A name-based UID under 2.25 (ITU-T X.667): the decimal value of a UUID whose 122 free bits are the first bits of
 * SHA-256("medseg/" + name), with the version (8, custom) and variant bits set as RFC 9562 requires.
 */
export function nameBasedUid(name: string): string {
  const h = createHash('sha256').update(`medseg/${name}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  return `2.25.${BigInt(`0x${h.subarray(0, 16).toString('hex')}`).toString()}`;
}

/** A DS value: the shortest decimal that round-trips, or the closest that fits DICOM's 16 characters (no exponent). */
export function decimalString(v: number): string {
  if (!Number.isFinite(v) || Math.abs(v) >= 1e15) throw new RangeError(`${v} cannot be written as a DICOM decimal string`);
  if (v === 0) return '0';
  const s = String(v);
  if (s.length <= 16 && !/e/i.test(s)) return s;
  for (let digits = 16; digits >= 0; digits--) {
    const t = v.toFixed(digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
    if (t.length <= 16) return t === '-0' ? '0' : t;
  }
  throw new RangeError(`${v} cannot be written as a DICOM decimal string`);
}

/** A new UID under 2.25 from a random (version 4) UUID (PS3.5 B.2). */
export function randomUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

/**
 * A Part 10 file (preamble, meta group, then the data set in explicit VR little endian) from a naturalized dcmjs data
 * set (keyword → value). The meta group names medseg as the implementation.
 */
export function part10Bytes(sopClassUid: string, sopInstanceUid: string, dataset: Record<string, unknown>): Uint8Array {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: MEDSEG_IMPLEMENTATION_UID,
    ImplementationVersionName: 'MEDSEG',
  };
  const file = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  file.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(file.write());
}
