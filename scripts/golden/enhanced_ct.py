#!/usr/bin/python3
"""A synthetic Enhanced CT multi-frame file, the same content as a classic series, and their golden.

Run from the repository root with Debian's Python (pydicom 2.3.1, numpy):

    /usr/bin/python3 scripts/golden/enhanced_ct.py

Idempotent and deterministic. It rewrites:

  fixtures/dicom/enhanced-ct/enhanced.dcm   Enhanced CT Image Storage (1.2.840.10008.5.1.4.1.1.2.1), Explicit VR LE,
        10 frames of 24 columns x 20 rows, int16 signed stored values.
        SharedFunctionalGroupsSequence: PixelMeasuresSequence (PixelSpacing [0.6, 0.8], SliceThickness 2.0),
        PlaneOrientationSequence (oblique: columns 0/1 of Rz(-15 deg) @ Rx(25 deg)), FrameVOILUTSequence,
        CTImageFrameTypeSequence, FrameAnatomySequence.
        PerFrameFunctionalGroupsSequence: FrameContentSequence, PlanePositionSequence (frames stored in a fixed-seed
        shuffled spatial order, slices 2.0 mm apart along the normal), PixelValueTransformationSequence with
        RescaleSlope 1 and a per-frame RescaleIntercept (-1024 + a per-slice offset, some fractional).
  fixtures/dicom/enhanced-ct-classic/       the same 10 slices as classic CT Image Storage files (one per frame,
        same per-slice RescaleIntercept, same geometry), files named by frame number in the multi-frame file.
  fixtures/golden/enhanced-ct.json

Both are read back with pydicom and checked with dciodvfy; remaining errors are recorded in the JSON ("dciodvfy").
"""
import json
import os
import random
import subprocess
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicomgen as G  # noqa: E402

ROOT = G.ROOT
OUT_MF = os.path.join(ROOT, "fixtures", "dicom", "enhanced-ct")
OUT_CL = os.path.join(ROOT, "fixtures", "dicom", "enhanced-ct-classic")
GOLDEN = os.path.join(ROOT, "fixtures", "golden", "enhanced-ct.json")

NX, NY, NZ = 24, 20, 10  # columns, rows, frames
ROW_SP, COL_SP, GAP = 0.6, 0.8, 2.0
# per spatial slice k: intercept; differs between frames, two fractional ones
INTERCEPTS = [-1024.0, -1000.0, -1024.0, -1010.5, -990.0, -1024.0, -1030.25, -1000.0, -1012.0, -1024.0]


def rel(p):
    return os.path.relpath(p, ROOT)


def dciodvfy(path):
    p = subprocess.run(["dciodvfy", "-new", path], capture_output=True, text=True)
    return [ln.strip() for ln in (p.stdout + p.stderr).splitlines() if ln.startswith("Error")]


def item(**kw):
    d = Dataset()
    for k, v in kw.items():
        setattr(d, k, v)
    return d


def code(value, scheme, meaning):
    return item(CodeValue=value, CodingSchemeDesignator=scheme, CodeMeaning=meaning)


def main():
    R = G.rot("z", -15) @ G.rot("x", 25)
    r, c = R[:, 0], R[:, 1]
    n = np.cross(r, c)
    origin = np.array([-9.6, 14.2, -33.0])
    iop = [G.ds_str(x, 8) for x in list(r) + list(c)]
    hu = G.hu_pattern(NX, NY, NZ, lo=-1000.0, hi=1200.0, seed_phase=0.4)  # (i, j, k) spatial k
    stored = [(hu[:, :, k].T - INTERCEPTS[k]) for k in range(NZ)]  # (rows, cols), exact since hu integer
    for s in stored:
        assert s.min() >= -32768 and s.max() <= 32767
    # value = stored + intercept; stored are half-integers where the intercept is fractional: make them integer
    # by flooring the stored value and letting the HU carry the fraction.
    stored = [np.floor(s).astype(np.int16) for s in stored]
    frame_order = list(range(NZ))  # frame f (0-based) holds spatial slice frame_order[f]
    random.Random(77).shuffle(frame_order)

    study, series, frame_uid = G.uid("enh", "study"), G.uid("enh", "series"), G.uid("enh", "frame")
    sop = G.uid("enh", "sop")
    ds = G.base_dataset(G.ENHANCED_CT_IMAGE_STORAGE, sop, study, series, frame_uid, series_number=9)
    ds.ImageType = ["DERIVED", "PRIMARY", "VOLUME", "NONE"]
    ds.SeriesDescription = "enhanced CT synthetic oblique"
    ds.InstanceNumber = 1
    ds.AcquisitionNumber = 1
    ds.AcquisitionDateTime = G.STUDY_DATE + G.STUDY_TIME
    ds.ContentQualification = "RESEARCH"
    ds.DeviceSerialNumber = "0001"
    ds.SoftwareVersions = "medseg-golden-1"
    ds.AcquisitionContextSequence = Sequence([])
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.PresentationLUTShape = "IDENTITY"
    ds.PixelPresentation = "MONOCHROME"
    ds.VolumetricProperties = "VOLUME"
    ds.VolumeBasedCalculationTechnique = "NONE"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = NY, NX
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.NumberOfFrames = NZ
    ds.ContentDate = G.STUDY_DATE
    ds.ContentTime = G.STUDY_TIME
    ds.PositionReferenceIndicator = ""

    dim_org = G.uid("enh", "dimension-organization")
    ds.DimensionOrganizationSequence = Sequence([item(DimensionOrganizationUID=dim_org)])
    ds.DimensionOrganizationType = "3D"
    ds.DimensionIndexSequence = Sequence([
        item(DimensionOrganizationUID=dim_org, DimensionIndexPointer=0x00200032,  # ImagePositionPatient
             FunctionalGroupPointer=0x00209113,  # PlanePositionSequence
             DimensionDescriptionLabel="Image Position"),
    ])

    shared = item(
        PixelMeasuresSequence=Sequence([item(PixelSpacing=[G.ds_str(ROW_SP), G.ds_str(COL_SP)],
                                             SliceThickness=G.ds_str(GAP))]),
        PlaneOrientationSequence=Sequence([item(ImageOrientationPatient=iop)]),
        FrameVOILUTSequence=Sequence([item(WindowCenter="40", WindowWidth="400")]),
        CTImageFrameTypeSequence=Sequence([item(FrameType=["DERIVED", "PRIMARY", "VOLUME", "NONE"],
                                                PixelPresentation="MONOCHROME", VolumetricProperties="VOLUME",
                                                VolumeBasedCalculationTechnique="NONE")]),
        FrameAnatomySequence=Sequence([item(FrameLaterality="U",
                                            AnatomicRegionSequence=Sequence([code("43799004", "SCT", "Chest")]))]),
        IrradiationEventIdentificationSequence=Sequence([item(IrradiationEventUID=G.uid("enh", "irradiation"))]),
    )
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    per = []
    ipps = {}
    for f, k in enumerate(frame_order):
        ipp = origin + k * GAP * n
        ipps[k] = [G.ds_str(x) for x in ipp]
        per.append(item(
            FrameContentSequence=Sequence([item(FrameAcquisitionNumber=1, FrameReferenceDateTime=G.STUDY_DATE + G.STUDY_TIME,
                                                FrameAcquisitionDateTime=G.STUDY_DATE + G.STUDY_TIME,
                                                FrameAcquisitionDuration=100.0,
                                                DimensionIndexValues=[k + 1], InStackPositionNumber=k + 1,
                                                StackID="1")]),
            PlanePositionSequence=Sequence([item(ImagePositionPatient=ipps[k])]),
            PixelValueTransformationSequence=Sequence([item(RescaleIntercept=G.ds_str(INTERCEPTS[k]),
                                                            RescaleSlope="1", RescaleType="HU")]),
        ))
    ds.PerFrameFunctionalGroupsSequence = Sequence(per)
    ds.PixelData = b"".join(np.ascontiguousarray(stored[k].astype("<i2")).tobytes() for k in frame_order)
    G.clear_dir(OUT_MF)
    mf_path = os.path.join(OUT_MF, "enhanced.dcm")
    G.save(ds, mf_path)

    # classic copy, one file per frame
    G.clear_dir(OUT_CL)
    cl_paths = []
    for f, k in enumerate(frame_order):
        cds = G.ct_slice(study=study, series=G.uid("enh", "classic-series"), frame_of_ref=frame_uid,
                         series_number=10, sop_uid=G.uid("enh", "classic-sop", k), instance_number=f + 1,
                         iop=list(r) + list(c), ipp=[float(x) for x in ipps[k]], pixel_spacing=[ROW_SP, COL_SP],
                         slice_thickness=GAP, stored=stored[k], intercept=INTERCEPTS[k], slope=1,
                         image_type=["DERIVED", "PRIMARY", "AXIAL"])
        cds.ImageOrientationPatient = iop  # exactly the same strings as the multi-frame file
        cds.SeriesDescription = "enhanced CT synthetic oblique (classic copy)"
        p = os.path.join(OUT_CL, f"frame{f + 1:02d}.dcm")
        G.save(cds, p)
        cl_paths.append(p)

    # ---- read back and golden
    errors = {}
    for p in [mf_path] + cl_paths:
        e = dciodvfy(p)
        if e:
            errors[rel(p)] = e
            print(f"dciodvfy errors in {rel(p)}:", *e, sep="\n  ", file=sys.stderr)
    mf = pydicom.dcmread(mf_path)
    arr = mf.pixel_array  # (frames, rows, cols)
    assert arr.shape == (NZ, NY, NX)
    sh = mf.SharedFunctionalGroupsSequence[0]
    iop_r = np.array([float(x) for x in sh.PlaneOrientationSequence[0].ImageOrientationPatient])
    rr, cc = iop_r[:3], iop_r[3:]
    nn = np.cross(rr, cc)
    nn /= np.linalg.norm(nn)
    frames = []
    for f, pf in enumerate(mf.PerFrameFunctionalGroupsSequence):
        ipp = np.array([float(x) for x in pf.PlanePositionSequence[0].ImagePositionPatient])
        pvt = pf.PixelValueTransformationSequence[0]
        frames.append((float(np.dot(nn, ipp)), f, ipp, float(pvt.RescaleSlope), float(pvt.RescaleIntercept)))
    frames.sort(key=lambda t: t[0])
    vol = np.stack([arr[f].astype(np.float64) * s + b for _, f, _, s, b in frames]).astype(np.float32)
    ps = [float(x) for x in sh.PixelMeasuresSequence[0].PixelSpacing]
    spos = [t[0] for t in frames]
    spacing = [ps[1], ps[0], (spos[-1] - spos[0]) / (NZ - 1)]
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2] = rr * spacing[0], cc * spacing[1], nn * spacing[2]
    lps[:3, 3] = frames[0][2]
    # classic: via the shared helper, must agree
    cds = [pydicom.dcmread(p) for p in cl_paths]
    for d, p in zip(cds, cl_paths):
        d.filename = p
    csorted, cgeo = G.geometry_from_files(cds)
    cvol = np.stack([d.pixel_array.astype(np.float64) * float(d.RescaleSlope) + float(d.RescaleIntercept)
                     for d in csorted]).astype(np.float32)
    assert np.array_equal(cvol, vol)
    assert np.allclose(np.array(cgeo["affineLPS"]), lps, atol=0, rtol=0)
    # check against the construction
    expected = np.stack([(np.floor(hu[:, :, k].T - INTERCEPTS[k]) + INTERCEPTS[k]) for k in range(NZ)])
    assert np.array_equal(vol, expected.astype(np.float32))

    golden = {
        "generator": "scripts/golden/enhanced_ct.py",
        "file": rel(mf_path),
        "classicFolder": rel(OUT_CL),
        "sopClassUID": G.ENHANCED_CT_IMAGE_STORAGE,
        "numberOfFrames": NZ,
        "frameOfReferenceUID": frame_uid,
        "geometry": {
            "size": [NX, NY, NZ],
            "origin": [float(x) for x in frames[0][2]],
            "spacing": spacing,
            "rowCosines": [float(x) for x in rr],
            "columnCosines": [float(x) for x in cc],
            "normal": [float(x) for x in nn],
            "direction": [[float(lps[a][b] / spacing[b]) for b in range(3)] for a in range(3)],
            "affineLPS": [[float(x) for x in row] for row in lps],
            "slicePositionsAlongNormal": spos,
        },
        "frameIndexInSpatialOrder": [t[1] for t in frames],
        "frameSpatialIndex": [[t[1] for t in frames].index(f) for f in range(NZ)],
        "interceptsInSpatialOrder": [t[4] for t in frames],
        "slopesInSpatialOrder": [t[3] for t in frames],
        "classicFilesInSpatialOrder": [rel(d.filename) for d in csorted],
        "rescaledVolume": {
            "dtype": "float32",
            "sha256": G.sha256(vol.astype("<f4").tobytes()),
            "sum": float(vol.astype(np.float64).sum()),
            "min": float(vol.min()),
            "max": float(vol.max()),
            "description": "stored*RescaleSlope+RescaleIntercept of each frame (its own PixelValueTransformation), "
                           "float32 little-endian, index i + j*nx + k*nx*ny, i = column, j = row (not flipped), "
                           "k = frames sorted by ImagePositionPatient.normal ascending; sum in float64",
        },
        "dciodvfy": errors,
    }
    with open(GOLDEN, "w") as fh:
        json.dump(golden, fh, indent=1, allow_nan=False)
        fh.write("\n")
    print(f"wrote {rel(GOLDEN)}")


if __name__ == "__main__":
    main()
