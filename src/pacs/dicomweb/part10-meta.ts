/**
 * The DICOM Part 10 file meta group (0002,xxxx) from the first bytes of a file: enough to name a retrieved instance
 * by its SOP Instance UID and to list STOW-RS uploads, without parsing the data set. The meta group is always
 * explicit VR little endian (PS3.10 §7.1), so a few lines suffice and no DICOM library is needed on the stream.
 */

export interface Part10Meta {
  /** (0002,0002) Media Storage SOP Class UID. */
  sopClassUid?: string | undefined;
  /** (0002,0003) Media Storage SOP Instance UID. */
  sopInstanceUid?: string | undefined;
  /** (0002,0010) Transfer Syntax UID. */
  transferSyntaxUid?: string | undefined;
}

/** Bytes to read from a file to see its whole meta group in practice (it is usually under 300 bytes). */
export const PART10_HEAD_BYTES = 16 * 1024;

/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR encoding. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/**
 * Reads the file meta group from `head` (the file's first bytes). Returns undefined when there is no "DICM" prefix
 * (not a Part 10 file); stops quietly at the end of `head`, keeping what it found.
 */
export function readPart10Meta(head: Uint8Array): Part10Meta | undefined {
  if (head.length < 132 || String.fromCharCode(head[128]!, head[129]!, head[130]!, head[131]!) !== 'DICM') return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const meta: Part10Meta = {};
  let pos = 132;
  while (pos + 8 <= head.length) {
    const group = view.getUint16(pos, true);
    if (group !== 0x0002) break;
    const element = view.getUint16(pos + 2, true);
    const vr = String.fromCharCode(head[pos + 4]!, head[pos + 5]!);
    let length: number;
    let valueAt: number;
    if (LONG_VRS.has(vr)) {
      if (pos + 12 > head.length) break;
      length = view.getUint32(pos + 8, true);
      valueAt = pos + 12;
    } else {
      length = view.getUint16(pos + 6, true);
      valueAt = pos + 8;
    }
    if (length === 0xffffffff || valueAt + length > head.length) break;
    if (element === 0x0002 || element === 0x0003 || element === 0x0010) {
      const text = uidText(head.subarray(valueAt, valueAt + length));
      if (element === 0x0002) meta.sopClassUid = text;
      else if (element === 0x0003) meta.sopInstanceUid = text;
      else meta.transferSyntaxUid = text;
    }
    pos = valueAt + length;
  }
  return meta;
}

/** A UI value without its NUL/space padding. */
function uidText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1').replace(/[\0 ]+$/, '');
}

/**
 * Whether `uid` looks like a DICOM UID: digits and dots, at most 64 characters (PS3.5 §9.1). Leading zeros in a
 * component are tolerated: some archives hold such UIDs, and refusing them would make their studies unreachable.
 */
export function isDicomUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= 64 && /^[0-9]+(\.[0-9]+)*$/.test(uid);
}
