"""Shared helpers for the synthetic DICOM generators in scripts/golden/ (not a script itself).

Everything is deterministic: UIDs come from pydicom.uid.generate_uid with fixed entropy sources (so they are
stable hashes under pydicom's UID root 1.2.826.0.1.3680043.8.498.), dates/times are fixed, pixel data are
closed-form patterns.
"""
import hashlib
import math
import os

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2.1"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STUDY_DATE = "20240102"
STUDY_TIME = "101500"


def uid(*parts):
    """Deterministic UID: a hash of the parts under pydicom's root."""
    return generate_uid(entropy_srcs=["medseg-golden"] + [str(p) for p in parts])


def rot(axis, deg):
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=np.float64)
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float64)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=np.float64)


def ds_str(x, decimals=6):
    """A DS value string (<= 16 chars) with fixed decimals; '-0' avoided."""
    s = f"{x:.{decimals}f}".rstrip("0").rstrip(".")
    if s in ("-0", ""):
        s = "0"
    assert len(s) <= 16, s
    return s


def hu_pattern(nx, ny, nz, lo=-1100.0, hi=1500.0, seed_phase=0.0):
    """Smooth, asymmetric pattern (so that any flip/transpose changes it), shape (nx, ny, nz) = (i, j, k),
    values rounded to integers in [lo, hi]."""
    i, j, k = np.meshgrid(np.arange(nx, dtype=np.float64), np.arange(ny, dtype=np.float64),
                          np.arange(nz, dtype=np.float64), indexing="ij")
    v = (np.sin(0.21 * i + 0.05 * j * j / max(ny, 1) + seed_phase) * np.cos(0.13 * j - 0.07 * i)
         + 0.6 * np.sin(0.45 * k + 0.031 * i * j / 4.0) + 0.02 * i - 0.015 * j + 0.03 * k)
    v = (v - v.min()) / (v.max() - v.min())
    return np.round(lo + v * (hi - lo))


def base_dataset(sop_class, sop_uid, study, series, frame_of_ref, series_number, modality="CT",
                 patient=("Golden^Synthetic", "MEDSEG-GOLDEN-001")):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = uid("implementation")
    meta.ImplementationVersionName = "MEDSEG_GOLDEN"
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = STUDY_DATE
    ds.SeriesDate = STUDY_DATE
    ds.ContentDate = STUDY_DATE
    ds.StudyTime = STUDY_TIME
    ds.SeriesTime = STUDY_TIME
    ds.ContentTime = STUDY_TIME
    ds.AccessionNumber = "GOLD0001"
    ds.Modality = modality
    ds.Manufacturer = "medseg golden generator"
    ds.InstitutionName = "Synthetic"
    ds.ReferringPhysicianName = ""
    ds.StationName = "GOLDEN"
    ds.ManufacturerModelName = "pydicom-synthetic"
    ds.PatientName = patient[0]
    ds.PatientID = patient[1]
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.StudyID = "1"
    ds.SeriesNumber = series_number
    ds.FrameOfReferenceUID = frame_of_ref
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition = "HFS"
    ds.BodyPartExamined = "CHEST"
    return ds


def ct_slice(*, study, series, frame_of_ref, series_number, sop_uid, instance_number, iop, ipp,
             pixel_spacing, slice_thickness, stored, intercept=-1024.0, slope=1.0, image_type=None,
             spacing_between=None, extra=None):
    """A classic CT Image Storage slice. `stored` is a (rows, cols) int16 array of stored values."""
    ds = base_dataset(CT_IMAGE_STORAGE, sop_uid, study, series, frame_of_ref, series_number)
    ds.ImageType = image_type or ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SeriesDescription = "golden synthetic CT"
    ds.SliceThickness = ds_str(slice_thickness)
    if spacing_between is not None:
        ds.SpacingBetweenSlices = ds_str(spacing_between)
    ds.KVP = "120"
    ds.AcquisitionNumber = 1
    ds.InstanceNumber = instance_number
    ds.ImagePositionPatient = [ds_str(x) for x in ipp]
    ds.ImageOrientationPatient = [ds_str(x, 8) for x in iop]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = stored.shape
    ds.PixelSpacing = [ds_str(x) for x in pixel_spacing]
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    ds.RescaleIntercept = ds_str(intercept)
    ds.RescaleSlope = ds_str(slope)
    ds.RescaleType = "HU"
    if extra:
        for k, v in extra.items():
            setattr(ds, k, v)
    ds.PixelData = np.ascontiguousarray(stored.astype("<i2")).tobytes()
    return ds


def save(ds, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    pydicom.dcmwrite(path, ds, write_like_original=False)


def clear_dir(d):
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        p = os.path.join(d, f)
        if os.path.isfile(p):
            os.remove(p)


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def geometry_from_files(datasets):
    """Geometry of a single-orientation stack computed from the tags as written (read back with pydicom).
    Returns (sorted list of datasets, dict)."""
    iop = np.array([float(x) for x in datasets[0].ImageOrientationPatient])
    r, c = iop[:3], iop[3:]
    n = np.cross(r, c)
    n = n / np.linalg.norm(n)
    pos = [float(np.dot(n, np.array([float(x) for x in d.ImagePositionPatient]))) for d in datasets]
    order = sorted(range(len(datasets)), key=lambda q: pos[q])
    sds = [datasets[q] for q in order]
    spos = [pos[q] for q in order]
    ipps = [[float(x) for x in d.ImagePositionPatient] for d in sds]
    gaps = np.diff(spos)
    ps = [float(x) for x in sds[0].PixelSpacing]
    gap = float((spos[-1] - spos[0]) / (len(spos) - 1)) if len(spos) > 1 else float(sds[0].SliceThickness)
    spacing = [ps[1], ps[0], gap]
    origin = ipps[0]
    lps = np.eye(4)
    lps[:3, 0] = r * spacing[0]
    lps[:3, 1] = c * spacing[1]
    lps[:3, 2] = n * spacing[2]
    lps[:3, 3] = origin
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    geo = {
        "size": [int(sds[0].Columns), int(sds[0].Rows), len(sds)],
        "origin": origin,
        "spacing": spacing,
        "rowCosines": [float(x) for x in r],
        "columnCosines": [float(x) for x in c],
        "normal": [float(x) for x in n],
        "direction": [[float(lps[a][b] / spacing[b]) for b in range(3)] for a in range(3)],
        "affineLPS": [[float(x) for x in row] for row in lps],
        "affineRAS": [[float(x) for x in row] for row in ras],
        "slicePositionsAlongNormal": spos,
        "sliceGaps": [float(g) for g in gaps],
        "imagePositions": ipps,
    }
    return sds, geo
