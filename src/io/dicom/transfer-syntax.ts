/** Transfer syntaxes read natively (uncompressed, possibly deflated or big endian) by medseg's DICOM reader. */
export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const DEFLATED_LE = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_BE = '1.2.840.10008.1.2.2';

const NATIVE = new Set([IMPLICIT_LE, EXPLICIT_LE, DEFLATED_LE, EXPLICIT_BE]);

/** True when pixel data is stored uncompressed (native), i.e. not encapsulated. */
export function isNativeSyntax(uid: string): boolean {
  return NATIVE.has(uid);
}
