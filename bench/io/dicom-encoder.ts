/**
 * BENCH-ONLY test-data generation: a minimal DICOM Part 10 writer (explicit VR little endian) for exactly the tags a
 * single-frame CT Image Storage slice needs. It is not a general DICOM encoder (no sequences, no character sets, no
 * value validation) and must not be used outside bench/: medseg itself only reads DICOM.
 */

export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
const IMPLEMENTATION_CLASS_UID = '2.25.302218461739146393711425066440455377417'; // medseg bench, arbitrary

/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR encoding. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT']);

export type ElementValue = string | number | (string | number)[] | Uint8Array;

export interface Element {
  group: number;
  element: number;
  vr: string;
  value: ElementValue;
}

function encodeValue(vr: string, value: ElementValue): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (vr === 'US' || vr === 'UL' || vr === 'SS' || vr === 'SL' || vr === 'FL' || vr === 'FD') {
    const values = (Array.isArray(value) ? value : [value]).map(Number);
    const width = vr === 'US' || vr === 'SS' ? 2 : vr === 'FD' ? 8 : 4;
    const buf = Buffer.alloc(values.length * width);
    values.forEach((v, n) => {
      const at = n * width;
      if (vr === 'US') buf.writeUInt16LE(v, at);
      else if (vr === 'SS') buf.writeInt16LE(v, at);
      else if (vr === 'UL') buf.writeUInt32LE(v, at);
      else if (vr === 'SL') buf.writeInt32LE(v, at);
      else if (vr === 'FL') buf.writeFloatLE(v, at);
      else buf.writeDoubleLE(v, at);
    });
    return buf;
  }
  // Strings: multiple values joined with backslash, padded to even length (UI with NUL, others with space).
  const text = Array.isArray(value) ? value.map(String).join('\\') : String(value);
  const bytes = Buffer.from(text, 'latin1');
  if (bytes.length % 2 === 0) return bytes;
  return Buffer.concat([bytes, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
}

function encodeElement(el: Element): Buffer[] {
  const value = encodeValue(el.vr, el.value);
  if (value.length % 2 !== 0) throw new RangeError(`(${el.group.toString(16)},${el.element.toString(16)}) has odd length ${value.length}`);
  const long = LONG_VRS.has(el.vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(el.group, 0);
  head.writeUInt16LE(el.element, 2);
  head.write(el.vr, 4, 'latin1');
  if (long) head.writeUInt32LE(value.length, 8);
  else {
    if (value.length > 0xffff) throw new RangeError(`${el.vr} value too long`);
    head.writeUInt16LE(value.length, 6);
  }
  return [head, Buffer.from(value.buffer, value.byteOffset, value.byteLength)];
}

/**
 * Encodes a Part 10 file: 128-byte preamble, "DICM", the file meta group (with its group length) and the dataset
 * elements in ascending tag order. `dataset` must not contain group 0002.
 */
export function encodeDicomFile(sopClassUid: string, sopInstanceUid: string, dataset: Element[]): Buffer {
  const meta: Element[] = [
    { group: 0x0002, element: 0x0001, vr: 'OB', value: new Uint8Array([0, 1]) },
    { group: 0x0002, element: 0x0002, vr: 'UI', value: sopClassUid },
    { group: 0x0002, element: 0x0003, vr: 'UI', value: sopInstanceUid },
    { group: 0x0002, element: 0x0010, vr: 'UI', value: EXPLICIT_VR_LE },
    { group: 0x0002, element: 0x0012, vr: 'UI', value: IMPLEMENTATION_CLASS_UID },
    { group: 0x0002, element: 0x0013, vr: 'SH', value: 'MEDSEG_BENCH' },
  ];
  const metaParts = meta.flatMap(encodeElement);
  const metaLength = metaParts.reduce((n, b) => n + b.length, 0);
  const sorted = [...dataset].sort((a, b) => a.group - b.group || a.element - b.element);
  if (sorted.some((e) => e.group === 0x0002)) throw new RangeError('dataset must not contain file meta elements');
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    ...encodeElement({ group: 0x0002, element: 0x0000, vr: 'UL', value: metaLength }),
    ...metaParts,
    ...sorted.flatMap(encodeElement),
  ]);
}

/** A DS (decimal string) value of at most 16 characters. */
export function ds(v: number): string {
  const s = String(Number(v.toPrecision(10)));
  if (s.length > 16) throw new RangeError(`DS value ${v} does not fit 16 characters`);
  return s;
}
