/**
 * SR content items (PS3.3 C.17.3 SR Document Content Module) as naturalized datasets (keyword → value), the form
 * dcmjs's `denaturalizeDataset` writes. One small pure builder per value type that medseg's report uses.
 */
import { decimalString } from '../../io/dicom/encoding.js';
import type { Code } from './codes.js';

export type RelationshipType = 'CONTAINS' | 'HAS OBS CONTEXT' | 'HAS CONCEPT MOD' | 'HAS PROPERTIES' | 'HAS ACQ CONTEXT' | 'INFERRED FROM' | 'SELECTED FROM';

/** A naturalized content item (or any naturalized dataset). */
export type Item = Record<string, unknown>;

/** A Code Sequence Macro item (PS3.3 Table 8.8-1). */
export function codeSequenceItem(c: Code): Item {
  if (!c.value || !c.scheme || !c.meaning) throw new TypeError(`a code needs value, scheme and meaning, got ${JSON.stringify(c)}`);
  return { CodeValue: c.value, CodingSchemeDesignator: c.scheme, CodeMeaning: c.meaning };
}

function base(relationship: RelationshipType, valueType: string, concept: Code, children: readonly Item[]): Item {
  const item: Item = { RelationshipType: relationship, ValueType: valueType, ConceptNameCodeSequence: [codeSequenceItem(concept)] };
  if (children.length > 0) item.ContentSequence = [...children];
  return item;
}

export function containerItem(relationship: RelationshipType, concept: Code, children: readonly Item[]): Item {
  return { ...base(relationship, 'CONTAINER', concept, children), ContinuityOfContent: 'SEPARATE' };
}

export function codeItem(relationship: RelationshipType, concept: Code, value: Code, children: readonly Item[] = []): Item {
  return { ...base(relationship, 'CODE', concept, children), ConceptCodeSequence: [codeSequenceItem(value)] };
}

export function textItem(relationship: RelationshipType, concept: Code, value: string): Item {
  if (value === '') throw new RangeError(`TEXT item "${concept.meaning}" needs a non-empty value`);
  return { ...base(relationship, 'TEXT', concept, []), TextValue: value };
}

export function uidrefItem(relationship: RelationshipType, concept: Code, uid: string): Item {
  return { ...base(relationship, 'UIDREF', concept, []), UID: uid };
}

/**
 * A NUM item (PS3.3 C.18.1 Numeric Measurement Macro). The value goes in NumericValue (DS, 16 characters); when that
 * string does not give back exactly the same double, FloatingPointValue (FD) carries the exact value as well, which
 * is the condition under which PS3.3 requires it.
 */
export function numItem(relationship: RelationshipType, concept: Code, value: number, unit: Code, children: readonly Item[] = []): Item {
  if (!Number.isFinite(value)) throw new RangeError(`measurement "${concept.meaning}" must be a finite number, got ${value}`);
  const ds = decimalString(value);
  const measured: Item = { MeasurementUnitsCodeSequence: [codeSequenceItem(unit)], NumericValue: ds };
  if (Number(ds) !== value) measured.FloatingPointValue = value;
  return { ...base(relationship, 'NUM', concept, children), MeasuredValueSequence: [measured] };
}

/** An IMAGE item referencing one instance, and for a SEG the segment numbers (ReferencedSegmentNumber). */
export function imageItem(
  relationship: RelationshipType,
  concept: Code | undefined,
  ref: { sopClassUid: string; sopInstanceUid: string; segmentNumbers?: readonly number[] | undefined },
): Item {
  const sop: Item = { ReferencedSOPClassUID: ref.sopClassUid, ReferencedSOPInstanceUID: ref.sopInstanceUid };
  if (ref.segmentNumbers && ref.segmentNumbers.length > 0) sop.ReferencedSegmentNumber = [...ref.segmentNumbers];
  const item: Item = { RelationshipType: relationship, ValueType: 'IMAGE', ReferencedSOPSequence: [sop] };
  // TID 1601 Image Library Entry: the concept name of a library IMAGE item is optional and left out.
  if (concept) item.ConceptNameCodeSequence = [codeSequenceItem(concept)];
  return item;
}
