/** DICOMweb client (QIDO-RS, WADO-RS, STOW-RS) and its building blocks. See ../README.md#dicomweb. */
export { DicomWebClient, createConnection, targetPath } from './client.js';
export type { DicomWebClientOptions, ConnectionOptions, QidoQuery, WadoTarget, RetrieveOptions, StoreOptions } from './client.js';
export type { DicomWebAuth, Connection } from './request.js';
export { redactUrl } from './request.js';
export type { RetryOptions } from './retry.js';
export { DEFAULT_RETRY, retryDelayMs, parseRetryAfterMs, isRetryableStatus } from './retry.js';
export type { RetrievedFile } from './save-parts.js';
export { saveMultipartParts } from './save-parts.js';
export { StowError } from './stow.js';
export type { StowResult, StoredInstance, FailedInstance } from './stow.js';
export { MultipartParser, MultipartError, boundaryFromContentType, parseMediaType } from './multipart.js';
export type { MultipartEvent, PartHeaders, MediaType } from './multipart.js';
export { readPart10Meta, isDicomUid } from './part10-meta.js';
export type { Part10Meta } from './part10-meta.js';
export {
  TAG,
  values,
  strings,
  string,
  numbers,
  number,
  sequence,
  studySummary,
  seriesSummary,
  instanceSummary,
  isDicomJsonDataset,
} from './dicom-json.js';
export type { DicomJsonDataset, DicomJsonAttribute, StudySummary, SeriesSummary, InstanceSummary } from './dicom-json.js';
