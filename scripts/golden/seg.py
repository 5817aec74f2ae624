#!/usr/bin/python3
"""Golden values for medseg's DICOM SEG writer, decoded by pydicom.

Run from the repository root with Debian's Python (pydicom 2.3.1, numpy) and Node.js (npx tsx):

    /usr/bin/python3 scripts/golden/seg.py

It has medseg write the deterministic cases of scripts/golden/seg-cases.ts (fixed UIDs, dates and software
version) into a temporary folder (scripts/golden/seg-write.ts), decodes every SEG with pydicom (pixel_array and the
functional groups, independently of medseg's reader), runs dciodvfy on it, and rewrites

  fixtures/golden/seg/seg.json   one entry per case:
      case, sopClassUID, segmentationType, fractionalType, maximumFractionalValue, rows, columns,
      numberOfFrames, bitsAllocated, frameOfReferenceUID, referencedSeriesUID, referencedInstances (sorted SOP
      Instance UIDs of ReferencedSeriesSequence), pixelDataSha256 (the Pixel Data element's bytes, padding
      included), unpackedSha256 (pixel_array as uint8, frames x rows x columns, C order), segments (number,
      label, algorithmType, algorithmName, category/type codes, CIELab), frames (per frame: segment, position
      (ImagePositionPatient as written, strings), referencedSOPInstanceUID, referencedFrameNumber (null when
      absent), dimensionIndexValues, setPixels (nonzero pixels of the frame)), dciodvfyErrors (lines starting
      with "Error"; [] means none).

Idempotent: running it twice leaves git status clean.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pydicom

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "fixtures", "golden", "seg")
CASES = ["oblique-ct", "enhanced-ct", "odd-ct", "odd-ct-fractional"]


def code(seq):
    item = seq[0]
    return {"scheme": item.CodingSchemeDesignator, "value": item.CodeValue, "meaning": item.CodeMeaning}


def decode(path, name):
    ds = pydicom.dcmread(path)
    n = int(ds.NumberOfFrames)
    arr = ds.pixel_array.reshape(n, ds.Rows, ds.Columns).astype(np.uint8)
    shared = ds.SharedFunctionalGroupsSequence[0]
    frames = []
    for f, g in enumerate(ds.PerFrameFunctionalGroupsSequence):
        src = g.DerivationImageSequence[0].SourceImageSequence[0]
        frames.append({
            "segment": int(g.SegmentIdentificationSequence[0].ReferencedSegmentNumber),
            "position": [str(v) for v in g.PlanePositionSequence[0].ImagePositionPatient],
            "referencedSOPInstanceUID": str(src.ReferencedSOPInstanceUID),
            "referencedFrameNumber": int(src.ReferencedFrameNumber) if "ReferencedFrameNumber" in src else None,
            "dimensionIndexValues": [int(v) for v in g.FrameContentSequence[0].DimensionIndexValues],
            "setPixels": int(np.count_nonzero(arr[f])),
        })
    segments = []
    for s in ds.SegmentSequence:
        segments.append({
            "number": int(s.SegmentNumber),
            "label": str(s.SegmentLabel),
            "algorithmType": str(s.SegmentAlgorithmType),
            "algorithmName": str(s.SegmentAlgorithmName),
            "category": code(s.SegmentedPropertyCategoryCodeSequence),
            "type": code(s.SegmentedPropertyTypeCodeSequence),
            "cielab": [int(v) for v in s.RecommendedDisplayCIELabValue],
        })
    ref = ds.ReferencedSeriesSequence[0]
    out = subprocess.run(["/usr/bin/dciodvfy", path], capture_output=True, text=True)
    errors = [l for l in (out.stdout + out.stderr).splitlines() if l.startswith("Error")]
    return {
        "case": name,
        "sopClassUID": str(ds.SOPClassUID),
        "segmentationType": str(ds.SegmentationType),
        "fractionalType": str(ds.SegmentationFractionalType) if "SegmentationFractionalType" in ds else None,
        "maximumFractionalValue": int(ds.MaximumFractionalValue) if "MaximumFractionalValue" in ds else None,
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "numberOfFrames": n,
        "bitsAllocated": int(ds.BitsAllocated),
        "frameOfReferenceUID": str(ds.FrameOfReferenceUID),
        "referencedSeriesUID": str(ref.SeriesInstanceUID),
        "referencedInstances": sorted(str(i.ReferencedSOPInstanceUID) for i in ref.ReferencedInstanceSequence),
        "pixelSpacing": [str(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing],
        "imageOrientation": [str(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient],
        "pixelDataSha256": hashlib.sha256(ds.PixelData).hexdigest(),
        "unpackedSha256": hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest(),
        "segments": segments,
        "frames": frames,
        "dciodvfyErrors": errors,
    }


def main():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npx", "tsx", "scripts/golden/seg-write.ts", tmp], cwd=ROOT, check=True)
        entries = [decode(os.path.join(tmp, f"{c}.dcm"), c) for c in CASES]
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "seg.json"), "w") as fh:
        json.dump({"generator": "scripts/golden/seg.py", "pydicom": pydicom.__version__, "cases": entries}, fh, indent=1)
        fh.write("\n")
    for e in entries:
        print(f"{e['case']}: {e['numberOfFrames']} frames, dciodvfy errors: {len(e['dciodvfyErrors'])}")


if __name__ == "__main__":
    sys.exit(main())
