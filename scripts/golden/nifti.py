#!/usr/bin/python3
"""Golden values for medseg's NIfTI / Analyze reader, computed with nibabel.

Run from the repository root with Debian's Python (nibabel 5.0.0, numpy):

    /usr/bin/python3 scripts/golden/nifti.py

It (1) regenerates the small synthetic cases in fixtures/nifti/generated/ (deterministic: fixed patterns,
no randomness, gzip mtime pinned to 0) and (2) writes fixtures/golden/nifti.json with one entry per file:
nibabel's own test files in fixtures/nifti/nibabel/, the MNI templates of Debian's mricron-data (recorded by
absolute path; the tests skip them when absent) and every generated case. Running it twice gives identical
output. See scripts/golden/README.md for the meaning of every field.

Generated cases (all shapes deliberately non-cubic so that axis mix-ups show):
  dtype_<name>.nii        one per datatype uint8 int8 int16 uint16 int32 uint32 float32 float64, 7x6x5,
                          LE NIfTI-1, sform_code 1 = qform_code 1 = a simple scaled+shifted affine; values span
                          the type's interesting range (negative values, > 2**15 for uint16, > 2**31 for uint32,
                          fractional values for floats); no scaling (scl_slope stored as NaN by nibabel => none)
  bigendian_nifti1.nii    int16, big-endian ('>') NIfTI-1 single file
  bigendian_nifti2.nii    float32, big-endian NIfTI-2 single file
  scaled_int16.nii        int16 raw values with scl_slope=0.5, scl_inter=-10 (patched into the header so that
                          nibabel does not re-scale): value = raw*0.5 - 10
  slope_zero.nii          same raw data as scaled_int16.nii but scl_slope=0, scl_inter=5: the spec (and nibabel)
                          treat slope 0 as "no scaling", so value = raw (inter ignored too)
  qform_only.nii          sform_code 0, qform_code 1, quaternion of a rotation about an oblique axis, qfac = -1
                          (pixdim[0] = -1), anisotropic pixdim, offset
  no_codes.nii            sform_code 0 and qform_code 0: nibabel falls back to its "base affine" built from
                          pixdim and shape (x flipped, centred) - NOT the NIfTI spec's method 1 diag(pixdim)
  sform_wins.nii          sform_code 2 and qform_code 1 with different affines: nibabel (and the spec) use sform
  oblique_sform.nii       sform_code 1 with a rotation about two axes, anisotropic zooms; qform_code 0
  fourd.nii               int16, 6x5x4x3 (3 volumes, each volume a different pattern)
  analyze.hdr / .img      Analyze 7.5 pair written by nibabel.AnalyzeImage (int16, LE, pixdim 1.5,2,2.5)
  compressed.nii.gz       int16 NIfTI-1 gzipped (gzip header mtime 0)
"""
import gzip
import hashlib
import json
import math
import os
import sys

import numpy as np
import nibabel as nib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NIB_DIR = os.path.join(ROOT, "fixtures", "nifti", "nibabel")
GEN_DIR = os.path.join(ROOT, "fixtures", "nifti", "generated")
OUT = os.path.join(ROOT, "fixtures", "golden", "nifti.json")
MRICRON = [
    "/usr/share/mricron/templates/ch2.nii.gz",
    "/usr/share/mricron/templates/ch2bet.nii.gz",
    "/usr/share/mricron/templates/aal.nii.gz",
]


# --------------------------------------------------------------------------------------------- helpers
def rot(axis, deg):
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def make_affine(R, zooms, offset):
    A = np.eye(4)
    A[:3, :3] = R @ np.diag(zooms)
    A[:3, 3] = offset
    return A


def grid(shape):
    """Float index grids i, j, k (and t) for a shape, in nibabel (i, j, k[, t]) axis order."""
    return np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")


def pattern(shape, lo, hi):
    """Deterministic smooth-ish pattern filling [lo, hi] (float64), distinct along every axis."""
    g = grid(shape)
    v = np.zeros(shape)
    weights = [1.0, 7.0, 31.0, 97.0]
    for w, x in zip(weights, g):
        v = v + w * x
    v = np.sin(v * 0.37) * 0.5 + 0.5 * np.cos(g[0] * 0.9 - g[1] * 0.4 + g[2] * 1.3)
    v = (v - v.min()) / (v.max() - v.min())
    return lo + v * (hi - lo)


def save_nii(img, path):
    """Save; for .gz write the gzip stream ourselves with mtime=0 so the file is byte-reproducible."""
    if path.endswith(".gz"):
        tmp = path[:-3]
        nib.save(img, tmp)
        with open(tmp, "rb") as f:
            raw = f.read()
        os.remove(tmp)
        with open(path, "wb") as f:
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
                gz.write(raw)
    else:
        nib.save(img, path)


def patch_header(path, **fields):
    """Rewrite header fields in place (single-file .nii only) without nibabel re-scaling the data."""
    with open(path, "rb") as fh:
        hdr = nib.Nifti1Header.from_fileobj(fh)  # the header exactly as stored (vox_offset etc. kept)
    for k, v in fields.items():
        hdr[k] = v
    block = hdr.binaryblock
    with open(path, "r+b") as f:
        f.seek(0)
        f.write(block)


def nifti1(data, dtype, endianness="<", klass=nib.Nifti1Image):
    hdr = klass.header_class(endianness=endianness)
    hdr.set_data_dtype(dtype)
    hdr.set_data_shape(data.shape)
    return hdr


def build(data, dtype, sform=None, scode=0, qform=None, qcode=0, zooms=None, endianness="<",
          klass=nib.Nifti1Image):
    """Build an image whose header codes/affines are exactly as given (affine=None so nibabel does not
    overwrite the header from an image affine on save)."""
    hdr = nifti1(data, dtype, endianness, klass)
    if zooms is not None:
        hdr.set_zooms(zooms)
    if qform is not None:
        hdr.set_qform(qform, code=qcode)
    else:
        hdr["qform_code"] = qcode
    if sform is not None:
        hdr.set_sform(sform, code=scode)
    else:
        hdr["sform_code"] = scode
    hdr["xyzt_units"] = 2 | 8  # mm, s
    img = klass(np.asarray(data).astype(dtype), None, hdr)
    return img


# --------------------------------------------------------------------------------------------- generation
def generate():
    os.makedirs(GEN_DIR, exist_ok=True)
    for f in os.listdir(GEN_DIR):
        os.remove(os.path.join(GEN_DIR, f))
    shape = (7, 6, 5)
    simple = make_affine(np.diag([-1, 1, 1]) @ np.eye(3), (1.5, 2.0, 2.5), (4.5, -5.0, -5.0))
    # note: diag(-1,1,1) has det -1, so nibabel stores it with qfac -1 in the qform.

    ranges = {
        "uint8": (0, 255), "int8": (-128, 127), "int16": (-32768, 32767), "uint16": (0, 65535),
        "int32": (-2_000_000_000, 2_000_000_000), "uint32": (0, 4_000_000_000),
        "float32": (-1234.5, 4321.25), "float64": (-1e6, 3.5e6),
    }
    for name, (lo, hi) in ranges.items():
        v = pattern(shape, lo, hi)
        if not name.startswith("float"):
            v = np.round(v)
        img = build(v, np.dtype(name), sform=simple, scode=1, qform=simple, qcode=1, zooms=(1.5, 2.0, 2.5))
        save_nii(img, os.path.join(GEN_DIR, f"dtype_{name}.nii"))

    # big-endian NIfTI-1 (int16) and NIfTI-2 (float32)
    v = np.round(pattern(shape, -3000, 3000))
    img = build(v, np.int16, sform=simple, scode=1, qform=simple, qcode=1, zooms=(1.5, 2.0, 2.5), endianness=">")
    save_nii(img, os.path.join(GEN_DIR, "bigendian_nifti1.nii"))
    v = pattern((6, 5, 4), -10.5, 99.25).astype(np.float32)
    aff = make_affine(rot("z", 30), (0.8, 1.1, 3.0), (10, -20, 30))
    img = build(v, np.float32, sform=aff, scode=1, qform=aff, qcode=1, zooms=(0.8, 1.1, 3.0), endianness=">",
                klass=nib.Nifti2Image)
    save_nii(img, os.path.join(GEN_DIR, "bigendian_nifti2.nii"))

    # scaled int16: value = raw * 0.5 - 10
    v = np.round(pattern(shape, -500, 800))
    img = build(v, np.int16, sform=simple, scode=1, qform=simple, qcode=1, zooms=(1.5, 2.0, 2.5))
    p = os.path.join(GEN_DIR, "scaled_int16.nii")
    save_nii(img, p)
    patch_header(p, scl_slope=0.5, scl_inter=-10.0)

    # scl_slope = 0: the NIfTI spec says "no scaling" (value = raw); nibabel agrees
    p = os.path.join(GEN_DIR, "slope_zero.nii")
    save_nii(img, p)
    patch_header(p, scl_slope=0.0, scl_inter=5.0)

    # qform only, oblique quaternion with qfac = -1
    R = rot("z", 25) @ rot("x", -15) @ rot("y", 40)
    Rq = R @ np.diag([1, 1, -1])  # improper -> qfac -1
    qaff = make_affine(Rq, (1.2, 0.9, 3.5), (-12.25, 30.5, -7.75))
    v = np.round(pattern(shape, -100, 900))
    img = build(v, np.int16, qform=qaff, qcode=1, scode=0, zooms=(1.2, 0.9, 3.5))
    save_nii(img, os.path.join(GEN_DIR, "qform_only.nii"))

    # both codes 0
    img = build(v, np.int16, qcode=0, scode=0, zooms=(1.2, 0.9, 3.5))
    save_nii(img, os.path.join(GEN_DIR, "no_codes.nii"))

    # sform code 2 and qform code 1 that disagree: sform must win
    saff = make_affine(rot("y", -12), (1.0, 1.0, 2.0), (100.0, -50.0, 25.0))
    qaff2 = make_affine(np.eye(3), (1.0, 1.0, 2.0), (-1.0, -2.0, -3.0))
    img = build(v, np.int16, sform=saff, scode=2, qform=qaff2, qcode=1, zooms=(1.0, 1.0, 2.0))
    save_nii(img, os.path.join(GEN_DIR, "sform_wins.nii"))

    # oblique sform (rotation about two axes), qform 0
    oaff = make_affine(rot("x", 20) @ rot("y", 10), (0.9, 0.7, 2.5), (-30.0, 12.5, 48.0))
    img = build(pattern(shape, -1.0, 1.0), np.float32, sform=oaff, scode=1, qcode=0, zooms=(0.9, 0.7, 2.5))
    save_nii(img, os.path.join(GEN_DIR, "oblique_sform.nii"))

    # 4D, 3 volumes
    v4 = np.round(pattern((6, 5, 4, 3), -1000, 2000))
    aff4 = make_affine(np.eye(3), (2.0, 2.0, 3.0), (-6.0, -5.0, -4.5))
    img = build(v4, np.int16, sform=aff4, scode=1, qform=aff4, qcode=1, zooms=(2.0, 2.0, 3.0, 1.5))
    save_nii(img, os.path.join(GEN_DIR, "fourd.nii"))

    # Analyze 7.5 pair
    va = np.round(pattern(shape, -200, 1200)).astype(np.int16)
    ahdr = nib.AnalyzeHeader()
    ahdr.set_data_dtype(np.int16)
    ahdr.set_data_shape(shape)
    ahdr.set_zooms((1.5, 2.0, 2.5))
    img = nib.AnalyzeImage(va, None, ahdr)
    nib.save(img, os.path.join(GEN_DIR, "analyze.img"))

    # gzipped NIfTI-1
    v = np.round(pattern(shape, -1024, 3071))
    img = build(v, np.int16, sform=oaff, scode=1, qform=oaff, qcode=1, zooms=(0.9, 0.7, 2.5))
    save_nii(img, os.path.join(GEN_DIR, "compressed.nii.gz"))


# --------------------------------------------------------------------------------------------- golden
def f(x):
    x = float(x)
    return None if math.isnan(x) else x


def mat(a):
    return None if a is None else [[float(x) for x in row] for row in np.asarray(a)]


def sha_le(arr, dtype=None):
    arr = np.asarray(arr)
    dt = np.dtype(dtype) if dtype is not None else arr.dtype
    dt = dt.newbyteorder("<")
    return hashlib.sha256(arr.astype(dt).tobytes(order="F")).hexdigest()


def entry(path, relname):
    img = nib.load(path)
    # nibabel moves scl_slope/scl_inter into img.dataobj and resets vox_offset in img.header on load, so the
    # raw header fields are taken from the header exactly as stored in the file.
    fm = img.file_map
    with nib.openers.ImageOpener(fm["header"].filename if "header" in fm else fm["image"].filename) as fh:
        hdr = img.header_class.from_fileobj(fh)
    is_analyze = not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image))
    version = None if is_analyze else (2 if isinstance(img, nib.Nifti2Image) else 1)
    raw = np.asanyarray(img.dataobj.get_unscaled())
    data = img.get_fdata(dtype=np.float64)
    vol0 = data
    while vol0.ndim > 3:
        vol0 = vol0[..., 0]
    finite = vol0[np.isfinite(vol0)]
    e = {
        "file": relname,
        "format": "analyze" if is_analyze else f"nifti{version}",
        "niftiVersion": version,
        "endianness": hdr.endianness,
        "shape": [int(n) for n in img.shape],
        "datatypeCode": int(hdr["datatype"]),
        "rawDtype": raw.dtype.name,
        "sformCode": None if is_analyze else int(hdr["sform_code"]),
        "qformCode": None if is_analyze else int(hdr["qform_code"]),
        "sliceSlope": None if is_analyze else f(hdr["scl_slope"]),
        "sliceInter": None if is_analyze else f(hdr["scl_inter"]),
        "affine": mat(img.affine),
        "qformAffine": None if is_analyze else mat(hdr.get_qform()),
        "sformAffine": None if is_analyze else mat(hdr.get_sform()),
        "zooms": [float(z) for z in hdr.get_zooms()],
        "rawSha256": sha_le(raw),
        "volume0": {
            # over the finite values only (resampled_anat_moved.nii contains NaNs); nanCount = non-finite count
            "min": float(finite.min()),
            "max": float(finite.max()),
            "mean": float(finite.mean(dtype=np.float64)),
            "sum": float(finite.sum(dtype=np.float64)),
            "count": int(vol0.size),  # all voxels, NaNs included
            "nanCount": int(vol0.size - finite.size),
        },
        "scaledSha256Float64": sha_le(vol0, np.float64),
    }
    if not is_analyze:
        e["qfac"] = f(hdr["pixdim"][0])
        e["quatern"] = [f(hdr[k]) for k in ("quatern_b", "quatern_c", "quatern_d",
                                             "qoffset_x", "qoffset_y", "qoffset_z")]
    e["baseAffine"] = mat(hdr.get_base_affine())
    e["voxOffset"] = int(hdr.get_data_offset())
    return e


def main():
    generate()
    entries = []
    for name in sorted(os.listdir(NIB_DIR)):
        entries.append(entry(os.path.join(NIB_DIR, name), f"fixtures/nifti/nibabel/{name}"))
    for p in MRICRON:
        if os.path.exists(p):
            e = entry(p, p)
            e["optional"] = True
            entries.append(e)
        else:
            print(f"warning: {p} absent, not recorded", file=sys.stderr)
    for name in sorted(os.listdir(GEN_DIR)):
        if name.endswith(".img"):
            continue  # the Analyze pair is recorded once, via its .hdr
        entries.append(entry(os.path.join(GEN_DIR, name), f"fixtures/nifti/generated/{name}"))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    doc = {
        "generator": "scripts/golden/nifti.py",
        "tool": f"nibabel {nib.__version__}, numpy {np.__version__}",
        "conventions": "arrays in Fortran order (i fastest); affines are nibabel's (RAS mm, 4x4 rows); "
                       "NaN header values as null; see scripts/golden/README.md",
        "entries": entries,
    }
    with open(OUT, "w") as fh:
        json.dump(doc, fh, indent=1, allow_nan=False)
        fh.write("\n")
    print(f"wrote {OUT} ({len(entries)} entries)")


if __name__ == "__main__":
    main()
