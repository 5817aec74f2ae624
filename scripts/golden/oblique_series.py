#!/usr/bin/python3
"""Synthetic classic CT series (oblique, gantry-tilted, messy folder) + dcm2niix's conversion, and their goldens.

Run from the repository root with Debian's Python (pydicom 2.3.1, nibabel 5.0.0, numpy) and Debian's dcm2niix:

    /usr/bin/python3 scripts/golden/oblique_series.py

Idempotent and deterministic (fixed UIDs from pydicom.uid.generate_uid with fixed entropy, fixed dates, closed-form
pixel patterns, fixed-seed shuffles). It rewrites:

  fixtures/dicom/oblique-ct/          12 slices of 40 columns x 48 rows, CT Image Storage, Explicit VR LE,
                                      PixelSpacing [0.7, 0.9] (row spacing, column spacing), slices 2.5 mm apart
                                      along the normal, IOP = columns 0/1 of Rx(20 deg) @ Ry(10 deg); stored int16
                                      (signed, some stored values negative), RescaleSlope 1, RescaleIntercept -1024;
                                      InstanceNumber runs opposite to the spatial order (slice k along +normal has
                                      InstanceNumber 12-k); file names are a fixed-seed shuffle.
  fixtures/dicom/oblique-ct.dcm2niix.nii   dcm2niix's conversion of that folder (-z n -b n -f oblique)
  fixtures/golden/oblique-ct.json
  fixtures/dicom/tilted-ct/           8 slices of 32x32, axial IOP, GantryDetectorTilt 15: each slice's IPP moves
                                      3 mm along z (the normal) and 3*tan(15 deg) mm along y, so the stack
                                      vector is 15 deg off the normal in the y-z plane.
  fixtures/golden/tilted-ct.json
  fixtures/dicom/messy/               two interleaved series, a localizer, non-DICOM, empty, truncated, and a series
                                      with a missing slice; see fixtures/golden/messy.json
  fixtures/golden/messy.json

Every written DICOM is read back with pydicom and checked with dciodvfy (errors are printed, and recorded in the
golden JSON under "dciodvfy").
"""
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import nibabel as nib
import pydicom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicomgen as G  # noqa: E402

ROOT = G.ROOT
DICOM = os.path.join(ROOT, "fixtures", "dicom")
GOLDEN = os.path.join(ROOT, "fixtures", "golden")


def rel(p):
    return os.path.relpath(p, ROOT)


def dciodvfy(path):
    """Run dciodvfy; return the list of 'Error' lines (warnings are ignored)."""
    p = subprocess.run(["dciodvfy", "-new", path], capture_output=True, text=True)
    out = p.stdout + p.stderr
    return [ln.strip() for ln in out.splitlines() if ln.startswith("Error")]


def verify_all(paths):
    errors = {}
    for p in paths:
        ds = pydicom.dcmread(p)
        _ = ds.pixel_array  # must decode
        errs = dciodvfy(p)
        if errs:
            errors[rel(p)] = errs
    for k, v in errors.items():
        print(f"dciodvfy errors in {k}:", *v, sep="\n  ", file=sys.stderr)
    return errors


def write_dump(obj, path):
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=1, allow_nan=False)
        fh.write("\n")
    print(f"wrote {rel(path)}")


def hu_volume_sha(sorted_ds):
    """sha256 of the rescaled (HU) volume, int16 LE, i fastest, then j (rows), then k in the given order."""
    vols = []
    for d in sorted_ds:
        px = d.pixel_array.astype(np.float64) * float(d.RescaleSlope) + float(d.RescaleIntercept)
        vols.append(px)  # (rows, cols) = (j, i): C order of this is already i fastest
    v = np.stack(vols)  # (k, j, i) C order == (i, j, k) Fortran order
    assert np.all(v == np.round(v)) and v.min() >= -32768 and v.max() <= 32767
    return G.sha256(v.astype("<i2").tobytes()), v


# ------------------------------------------------------------------------------------------- oblique series
def oblique():
    out = os.path.join(DICOM, "oblique-ct")
    G.clear_dir(out)
    nx, ny, nz = 40, 48, 12  # columns, rows, slices
    row_sp, col_sp, gap = 0.7, 0.9, 2.5  # PixelSpacing = [row_sp, col_sp]
    R = G.rot("x", 20) @ G.rot("y", 10)
    r, c = R[:, 0], R[:, 1]
    n = np.cross(r, c)
    origin = np.array([-17.3, -25.6, -42.15])
    study, series, frame = G.uid("oblique", "study"), G.uid("oblique", "series"), G.uid("oblique", "frame")
    hu = G.hu_pattern(nx, ny, nz)  # (i, j, k)
    names = [f"IM{q:04d}" for q in range(nz)]
    random.Random(20240102).shuffle(names)
    paths = []
    for k in range(nz):
        ipp = origin + k * gap * n
        stored = (hu[:, :, k].T + 1024).astype(np.int16)  # (rows, cols)
        ds = G.ct_slice(study=study, series=series, frame_of_ref=frame, series_number=3,
                        sop_uid=G.uid("oblique", "sop", k), instance_number=nz - k,
                        iop=list(r) + list(c), ipp=ipp, pixel_spacing=[row_sp, col_sp], slice_thickness=gap,
                        stored=stored, intercept=-1024, slope=1,
                        image_type=["ORIGINAL", "PRIMARY", "AXIAL"], spacing_between=gap)
        ds.SeriesDescription = "oblique anisotropic synthetic CT"
        p = os.path.join(out, names[k] + ".dcm")
        G.save(ds, p)
        paths.append(p)
    errors = verify_all(paths)

    dss = [pydicom.dcmread(p) for p in paths]
    for d, p in zip(dss, paths):
        d.filename = p
    sds, geo = G.geometry_from_files(dss)
    sha, huv = hu_volume_sha(sds)

    # dcm2niix
    ver = subprocess.run(["dcm2niix", "-v"], capture_output=True, text=True).stdout.strip().splitlines()
    tmp = tempfile.mkdtemp()
    try:
        cmd = ["dcm2niix", "-z", "n", "-b", "n", "-f", "oblique", "-o", tmp, out]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        produced = sorted(os.listdir(tmp))
        assert produced == ["oblique.nii"], produced
        dst = os.path.join(DICOM, "oblique-ct.dcm2niix.nii")
        shutil.copyfile(os.path.join(tmp, "oblique.nii"), dst)
    finally:
        shutil.rmtree(tmp)
    img = nib.load(dst)
    with open(dst, "rb") as fh:
        hdr = nib.Nifti1Header.from_fileobj(fh)
    raw = np.asanyarray(img.dataobj.get_unscaled())
    rawle = raw.astype(raw.dtype.newbyteorder("<"))
    # which flips map the DICOM-sorted volume (i=column, j=row, k=along normal) onto dcm2niix's array?
    scaled = raw.astype(np.float64) * float(hdr["scl_slope"]) + float(hdr["scl_inter"])
    ref = np.transpose(huv, (2, 1, 0))  # (i, j, k)
    match = []
    for fi in (False, True):
        for fj in (False, True):
            for fk in (False, True):
                t = ref[::-1 if fi else 1, ::-1 if fj else 1, ::-1 if fk else 1]
                if t.shape == scaled.shape and np.array_equal(t, scaled):
                    match.append({"flipI": fi, "flipJ": fj, "flipK": fk})
    assert len(match) == 1, match
    m = match[0]
    # the affine that dcm2niix's file should have if it is our LPS geometry with those flips, in RAS
    flip = np.eye(4)
    size = geo["size"]
    for ax, f in enumerate((m["flipI"], m["flipJ"], m["flipK"])):
        if f:
            flip[ax, ax] = -1
            flip[ax, 3] = size[ax] - 1
    expected_ras = np.array(geo["affineRAS"]) @ flip
    aff_diff = float(np.abs(expected_ras - img.affine).max())

    golden = {
        "generator": "scripts/golden/oblique_series.py",
        "folder": rel(out),
        "sopClassUID": G.CT_IMAGE_STORAGE,
        "studyInstanceUID": study,
        "seriesInstanceUID": series,
        "frameOfReferenceUID": frame,
        "geometry": geo,
        "nominal": {"pixelSpacing": [row_sp, col_sp], "sliceGap": gap, "rotation": "Rx(20 deg) @ Ry(10 deg)",
                    "rescaleSlope": 1, "rescaleIntercept": -1024},
        "filesInSpatialOrder": [rel(d.filename) for d in sds],
        "instanceNumbersInSpatialOrder": [int(d.InstanceNumber) for d in sds],
        "huVolume": {
            "dtype": "int16",
            "sha256": sha,
            "min": float(huv.min()), "max": float(huv.max()), "sum": float(huv.sum()),
            "storedMin": int(huv.min() + 1024),
            "description": "HU = stored*RescaleSlope+RescaleIntercept, int16 little-endian, index i + j*nx + k*nx*ny, "
                           "i = column, j = row (DICOM order, not flipped), k = slices sorted by IPP.normal ascending",
        },
        "dcm2niix": {
            "version": ver[-1] if ver else None,
            "versionLine": ver[0] if ver else None,
            "command": "dcm2niix -z n -b n -f oblique -o <tmp> fixtures/dicom/oblique-ct",
            "file": rel(dst),
            "shape": [int(x) for x in img.shape],
            "rawDtype": raw.dtype.name,
            "datatypeCode": int(hdr["datatype"]),
            "sclSlope": float(hdr["scl_slope"]),
            "sclInter": float(hdr["scl_inter"]),
            "sformCode": int(hdr["sform_code"]),
            "qformCode": int(hdr["qform_code"]),
            "affine": [[float(x) for x in row] for row in img.affine],
            "rawSha256": G.sha256(rawle.tobytes(order="F")),
            "flips": m,
            "maxAbsDiffAffineVsFlippedDicomGeometryRAS": aff_diff,
            "note": (
                "dcm2niix's voxel (i', j', k') equals the DICOM-sorted HU volume's voxel "
                f"({'nx-1-i' if m['flipI'] else 'i'}, {'ny-1-j' if m['flipJ'] else 'j'}, {'nz-1-k' if m['flipK'] else 'k'}) "
                "(values compared after applying its scl_slope/scl_inter). "
                + ("It flipped the row order (j): its first row is the DICOM image's last row, so its affine "
                   "is affineRAS @ flipJ where flipJ maps j -> ny-1-j. " if m["flipJ"] else "")
                + "Its affine (nibabel, RAS) equals geometry.affineRAS composed with those flips, up to "
                  "maxAbsDiffAffineVsFlippedDicomGeometryRAS (float32 storage in the NIfTI header)."
            ),
        },
        "dciodvfy": errors,
    }
    write_dump(golden, os.path.join(GOLDEN, "oblique-ct.json"))


# ------------------------------------------------------------------------------------------- gantry tilt
def tilted():
    out = os.path.join(DICOM, "tilted-ct")
    G.clear_dir(out)
    nx = ny = 32
    nz = 8
    ps, dz, tilt = 0.8, 3.0, 15.0
    dy = dz * math.tan(math.radians(tilt))
    origin = np.array([-12.4, -12.4, 20.0])
    study, series, frame = G.uid("tilted", "study"), G.uid("tilted", "series"), G.uid("tilted", "frame")
    hu = G.hu_pattern(nx, ny, nz, seed_phase=0.7)
    paths = []
    for k in range(nz):
        ipp = origin + np.array([0.0, k * dy, k * dz])
        stored = (hu[:, :, k].T + 1024).astype(np.int16)
        ds = G.ct_slice(study=study, series=series, frame_of_ref=frame, series_number=4,
                        sop_uid=G.uid("tilted", "sop", k), instance_number=k + 1,
                        iop=[1, 0, 0, 0, 1, 0], ipp=ipp, pixel_spacing=[ps, ps], slice_thickness=dz,
                        stored=stored, extra={"GantryDetectorTilt": G.ds_str(tilt)})
        ds.SeriesDescription = "gantry tilt 15 deg synthetic CT"
        p = os.path.join(out, f"slice{k + 1:02d}.dcm")
        G.save(ds, p)
        paths.append(p)
    errors = verify_all(paths)
    dss = [pydicom.dcmread(p) for p in paths]
    for d, p in zip(dss, paths):
        d.filename = p
    sds, geo = G.geometry_from_files(dss)
    sha, huv = hu_volume_sha(sds)
    ipps = np.array(geo["imagePositions"])
    step = (ipps[-1] - ipps[0]) / (nz - 1)
    stack_angle = math.degrees(math.acos(abs(np.dot(step, geo["normal"])) / np.linalg.norm(step)))
    # a sheared affine that places every voxel exactly where the DICOM says (no resampling)
    sheared = np.array(geo["affineLPS"])
    sheared[:3, 2] = step
    golden = {
        "generator": "scripts/golden/oblique_series.py",
        "folder": rel(out),
        "gantryDetectorTilt": tilt,
        "geometry": geo,
        "stackStepLPS": [float(x) for x in step],
        "stackAngleFromNormalDeg": stack_angle,
        "shearedAffineLPS": [[float(x) for x in row] for row in sheared],
        "filesInSpatialOrder": [rel(d.filename) for d in sds],
        "huVolume": {"dtype": "int16", "sha256": sha, "min": float(huv.min()), "max": float(huv.max()),
                     "sum": float(huv.sum()),
                     "description": "as in oblique-ct.json: raw per-slice pixels, no tilt correction/resampling"},
        "note": ("IOP is axial (normal +z) but consecutive IPPs differ by (0, 3*tan(15deg), 3) mm: the slice "
                 "spacing along the normal is 3 mm (geometry.spacing[2]); voxel (i,j,k) truly lies at "
                 "shearedAffineLPS @ [i,j,k,1]; geometry.affineLPS (orthogonal, origin = first slice) is exact "
                 "only for k = 0 and is off by k*(0, 0.8038476, 0) mm for slice k. A reader must either detect "
                 "this (stackAngleFromNormalDeg > tolerance) or resample/shear."),
        "dciodvfy": errors,
    }
    write_dump(golden, os.path.join(GOLDEN, "tilted-ct.json"))


# ------------------------------------------------------------------------------------------- messy folder
def messy():
    out = os.path.join(DICOM, "messy")
    G.clear_dir(out)
    study = G.uid("messy", "study")
    n = 16
    files = []  # (name, description dict)

    def axial_series(tag, series_number, nz, z0, dz, drop=None, phase=0.0):
        series, frame = G.uid("messy", tag, "series"), G.uid("messy", "frame")
        hu = G.hu_pattern(n, n, nz, seed_phase=phase)
        slices = []
        for k in range(nz):
            if drop is not None and k == drop:
                continue
            ds = G.ct_slice(study=study, series=series, frame_of_ref=frame, series_number=series_number,
                            sop_uid=G.uid("messy", tag, "sop", k), instance_number=k + 1,
                            iop=[1, 0, 0, 0, 1, 0], ipp=[-8.0, -8.0, z0 + k * dz], pixel_spacing=[1.0, 1.0],
                            slice_thickness=dz, stored=(hu[:, :, k].T + 1024).astype(np.int16))
            ds.SeriesDescription = f"messy series {tag}"
            slices.append((k, ds))
        return series, slices

    sA, slA = axial_series("A", 2, 6, 0.0, 2.0, phase=0.1)
    sB, slB = axial_series("B", 5, 5, -3.0, 1.5, phase=1.3)
    sC, slC = axial_series("C", 7, 7, 10.0, 2.5, drop=3, phase=2.1)

    # names: A and B interleaved (IM0001 = A1, IM0002 = B1, ...), then the localizer, then C, then junk
    order = []
    for q in range(max(len(slA), len(slB))):
        if q < len(slA):
            order.append(("A", sA) + slA[q])
        if q < len(slB):
            order.append(("B", sB) + slB[q])
    loc = G.ct_slice(study=study, series=sA, frame_of_ref=G.uid("messy", "frame"), series_number=2,
                     sop_uid=G.uid("messy", "A", "localizer"), instance_number=100,
                     iop=[0, 1, 0, 0, 0, -1], ipp=[0.0, -8.0, 12.0], pixel_spacing=[1.0, 1.0], slice_thickness=1.0,
                     stored=(G.hu_pattern(n, n, 1)[:, :, 0].T + 1024).astype(np.int16),
                     image_type=["ORIGINAL", "PRIMARY", "LOCALIZER"])
    loc.SeriesDescription = "messy series A"
    order.append(("A-localizer", sA, None, loc))
    for k, ds in slC:
        order.append(("C", sC, k, ds))

    entries = []
    paths = []
    num = 1
    names_by = {}
    for kind, suid, k, ds in order:
        name = f"IM{num:04d}"
        num += 1
        p = os.path.join(out, name)
        G.save(ds, p)
        paths.append(p)
        names_by.setdefault(kind, []).append((k, name, ds))
        e = {"file": rel(p), "kind": "localizer" if kind == "A-localizer" else "slice",
             "series": kind[0], "seriesInstanceUID": suid, "sopInstanceUID": ds.SOPInstanceUID,
             "instanceNumber": int(ds.InstanceNumber),
             "imageOrientationPatient": [float(x) for x in ds.ImageOrientationPatient],
             "imagePositionPatient": [float(x) for x in ds.ImagePositionPatient],
             "imageType": list(ds.ImageType)}
        entries.append(e)
    errors = verify_all(paths)

    # junk
    p = os.path.join(out, "notes.txt")
    with open(p, "w") as fh:
        fh.write("This folder is a deliberately messy export. Not a DICOM file.\n")
    entries.append({"file": rel(p), "kind": "not-dicom"})
    p = os.path.join(out, "EMPTY")
    open(p, "wb").close()
    entries.append({"file": rel(p), "kind": "empty"})
    src = names_by["B"][2][1]
    with open(os.path.join(out, src), "rb") as fh:
        data = fh.read()
    cut = len(data) - 200  # inside Pixel Data: the last 100 of 256 pixels are missing
    p = os.path.join(out, "IM9999")
    with open(p, "wb") as fh:
        fh.write(data[:cut])
    entries.append({"file": rel(p), "kind": "truncated", "copyOf": rel(os.path.join(out, src)),
                    "truncatedAtByte": cut, "originalLength": len(data),
                    "sopInstanceUID": pydicom.dcmread(os.path.join(out, src)).SOPInstanceUID,
                    "note": "header complete, Pixel Data element declares 512 bytes but only 312 are present; "
                            "same SOPInstanceUID as the file it was cut from"})

    def vol(kind, suid, nominal_gap, missing=None):
        sl = sorted(names_by[kind], key=lambda t: t[2].ImagePositionPatient[2])
        zs = [float(t[2].ImagePositionPatient[2]) for t in sl]
        return {"seriesInstanceUID": suid, "filesInSpatialOrder": [rel(os.path.join(out, t[1])) for t in sl],
                "slicePositionsZ": zs, "gaps": [float(b - a) for a, b in zip(zs, zs[1:])],
                "nominalGap": nominal_gap, "size": [n, n, len(sl)],
                "missingSliceOriginalIndex": missing,
                "huSha256": hu_volume_sha([t[2] for t in sl])[0]}

    golden = {
        "generator": "scripts/golden/oblique_series.py",
        "folder": rel(out),
        "studyInstanceUID": study,
        "files": entries,
        "expectedGrouping": {
            "description": ("group by SeriesInstanceUID, then split by orientation: series A's localizer "
                            "(sagittal IOP, ImageType ...\\LOCALIZER, same SeriesInstanceUID as A) must not join "
                            "A's axial stack; notes.txt, EMPTY are not DICOM; IM9999 is a truncated DICOM "
                            "(its pixel data cannot be read) and duplicates a SOPInstanceUID of series B; "
                            "series C has one slice missing (one gap is 5.0 mm where the others are 2.5)."),
            "volumes": {
                "A": vol("A", sA, 2.0),
                "B": vol("B", sB, 1.5),
                "C": vol("C", sC, 2.5, missing=3),
            },
            "localizers": [e["file"] for e in entries if e.get("kind") == "localizer"],
            "notDicom": [rel(os.path.join(out, "notes.txt")), rel(os.path.join(out, "EMPTY"))],
            "unreadable": [rel(os.path.join(out, "IM9999"))],
        },
        "dciodvfy": errors,
    }
    write_dump(golden, os.path.join(GOLDEN, "messy.json"))


if __name__ == "__main__":
    oblique()
    tilted()
    messy()
