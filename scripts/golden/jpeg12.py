#!/usr/bin/python3
"""12-bit DCT JPEG (JPEG Extended, 1.2.840.10008.1.2.4.51) test files and their golden pixels, decoded by DCMTK.

Run from the repository root with Debian's Python and tools (pydicom 2.3.1, numpy; dcmtk 3.6.7 for dcmcjpeg and
dcmdjpeg; libgdcm-tools 3.0.21 for gdcmconv):

    /usr/bin/python3 scripts/golden/jpeg12.py               # keeps existing fixtures/dicom/jpeg12/*.dcm
    /usr/bin/python3 scripts/golden/jpeg12.py --regenerate  # also rebuilds them

Step 1 makes small synthetic files in ``fixtures/dicom/jpeg12/`` (kept if present, like dicom_files.py does, so
the committed fixtures do not change with the tool versions; ``--regenerate`` rebuilds them). Sources are
closed-form patterns (``dicomgen.hu_pattern``), 40 columns x 48 rows, written uncompressed with pydicom in a temporary
folder, then compressed:

  ct12_sof1.dcm             CT Image Storage with geometry, 12-bit unsigned stored values (HU + 1024, intercept
                            -1024), ``dcmcjpeg +ee``: JPEG Extended, SOF1 (0xFFC1), precision 12.
  ct12_sof1_signed.dcm      ct12_sof1.dcm with Pixel Representation set to 1 (and intercept 0) by pydicom, pixel
                            data untouched (same codestream). No encoder at hand writes signed 12-bit lossy JPEG
                            (dcmcjpeg converts signed input to unsigned, gdcmconv refuses it: "DCT coefficient out of
                            range"), so this relabelled file checks the sign convention: the decoded 12-bit
                            samples are two's complement, sign-extended from bit 11 (what GDCM returns; DCMTK
                            returns the raw 12 bits, which read with Bits Stored 12 are the same values).
  ct12_sof2_progressive.dcm ``dcmcjpeg +ep``: progressive, SOF2 (0xFFC2), precision 12. Its transfer syntax is
                            1.2.840.10008.1.2.4.55 (Full Progression, retired), which medseg does not accept; the
                            test decodes its frame as 4.51 data to check the decoder's progressive 12-bit path.
  rgb12_sof1_ybr422.dcm     Secondary Capture, 3 samples, 12 bits stored, ``dcmcjpeg +ee``: SOF1 YCbCr with 2x1
                            chroma subsampling, Photometric Interpretation YBR_FULL_422.
  rgb12_sof1_rgb.dcm        the same with ``+cr``: the components stay RGB (no colour transform in the codestream),
                            Photometric Interpretation RGB; decoded without conversion.
  ct16_gdcm_lossy.dcm       the ct12 source through ``gdcmconv --jpeg --lossy -q 90``: GDCM writes a DCT stream
                            with precision 16 (its IJG 16-bit build; not allowed by ISO 10918-1) under 4.51. medseg
                            refuses it as unsupported; dcmdjpeg cannot decode it either.

Step 2 writes ``fixtures/golden/jpeg12.json``: one entry per file (the ones above plus pydicom's 12-bit test files
``fixtures/dicom/pydicom/JPGExtended.dcm`` and ``JPEG-lossy.dcm``). The reference is ``dcmdjpeg`` with default
options (``+cp``: YCbCr photometric interpretations are converted to RGB, as libjpeg and medseg do), read back with
pydicom from the uncompressed output's raw Pixel Data bytes; for Pixel Representation 1 the values are
sign-extended from Bits Stored. Entry fields:

  file, transferSyntaxUid, sof (hex marker), precision, rows, columns, samplesPerPixel, bitsAllocated, bitsStored,
  pixelRepresentation, photometricInterpretation (of the compressed file);
  reference: "dcmdjpeg" or null when dcmdjpeg cannot decode (then ``unsupported`` says why medseg refuses it);
  dtype ("<u2"/"<i2"), sha256 (of the values as that dtype, little endian, C order row, column, sample), min, max,
  sum, mean, samples (list of [row, column, sample, value] at fixed positions: the corners, the centre and 12
  fixed-seed random positions);
  gdcm: GDCM's decode (``gdcmconv --raw``) compared with the reference, {"maxAbsDiff": n} when GDCM returns the
  same colour space, or {"skip": reason}.

Measured with the tools above: GDCM and DCMTK agree exactly on every file they both decode to the same colour space
(both run IJG 6b's 12-bit build); GDCM leaves YCbCr unconverted, so the YBR_FULL_422 file is compared with DCMTK
only.

Everything is deterministic: fixed UIDs (dicomgen.uid; the random SOP Instance UIDs the lossy encoders assign are
replaced, and each file gets its own series), fixed dates, closed-form pixels; the JSON is written with sorted keys.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pydicom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicomgen as G  # noqa: E402

ROOT = G.ROOT
OUT_DIR = os.path.join(ROOT, "fixtures", "dicom", "jpeg12")
GOLDEN = os.path.join(ROOT, "fixtures", "golden", "jpeg12.json")
PYDICOM_FILES = ["fixtures/dicom/pydicom/JPGExtended.dcm", "fixtures/dicom/pydicom/JPEG-lossy.dcm"]
NX, NY = 40, 48  # columns, rows
SC_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"


def rel(p):
    return os.path.relpath(p, ROOT)


def run(cmd):
    """Runs a tool, output captured (never piped into head: a closed pipe kills gdcmconv before it writes)."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, (p.stdout + p.stderr).strip()


def check(cmd):
    rc, out = run(cmd)
    if rc != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({rc}): {out}")


def tool_version(cmd):
    rc, out = run(cmd)
    return out.splitlines()[0].strip() if out else f"exit {rc}"


def pattern12(phase):
    """(rows, cols) values in 0..4095 from the shared smooth pattern."""
    v = G.hu_pattern(NX, NY, 1, lo=0.0, hi=4095.0, seed_phase=phase)[:, :, 0]  # (i, j)
    return np.ascontiguousarray(v.T).astype(np.uint16)  # (j, i) = (row, column)


def ct12_source(path):
    stored = pattern12(0.0)
    ds = G.ct_slice(study=G.uid("jpeg12", "study"), series=G.uid("jpeg12", "series"),
                    frame_of_ref=G.uid("jpeg12", "for"), series_number=12, sop_uid=G.uid("jpeg12", "ct12"),
                    instance_number=1, iop=[1, 0, 0, 0, 1, 0], ipp=[-15.6, -18.8, 40.0], pixel_spacing=[0.8, 0.8],
                    slice_thickness=2.0, stored=stored.astype(np.int16))
    ds.SeriesDescription = "golden synthetic CT, 12-bit JPEG"
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = stored.astype("<u2").tobytes()
    G.save(ds, path)


def rgb12_source(path):
    planes = [pattern12(0.0), pattern12(1.3), pattern12(2.6)]
    arr = np.stack(planes, axis=-1)  # (rows, cols, 3)
    ds = G.base_dataset(SC_IMAGE_STORAGE, G.uid("jpeg12", "rgb12"), G.uid("jpeg12", "study"),
                        G.uid("jpeg12", "series-rgb"), G.uid("jpeg12", "for"), 13, modality="OT")
    del ds.FrameOfReferenceUID
    del ds.PositionReferenceIndicator
    ds.ConversionType = "WSD"
    ds.InstanceNumber = 1
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = NY, NX
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = arr.astype("<u2").tobytes()
    G.save(ds, path)


def set_uids(path, name, **changes):
    """The lossy encoders give their output a new random SOP Instance UID: replace it (and the series UID, so that
    no two fixtures form one series) with fixed ones, plus any other attribute changes. The pixel data is kept."""
    ds = pydicom.dcmread(path)
    ds.SOPInstanceUID = G.uid("jpeg12", name, "sop")
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SeriesInstanceUID = G.uid("jpeg12", name, "series")
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    ds.save_as(path, write_like_original=False)


def generate(regenerate):
    os.makedirs(OUT_DIR, exist_ok=True)
    targets = ["ct12_sof1.dcm", "ct12_sof1_signed.dcm", "ct12_sof2_progressive.dcm", "rgb12_sof1_ybr422.dcm",
               "rgb12_sof1_rgb.dcm", "ct16_gdcm_lossy.dcm"]
    if not regenerate and all(os.path.exists(os.path.join(OUT_DIR, t)) for t in targets):
        return
    with tempfile.TemporaryDirectory() as tmp:
        ct = os.path.join(tmp, "ct12.dcm")
        rgb = os.path.join(tmp, "rgb12.dcm")
        ct12_source(ct)
        rgb12_source(rgb)
        made = {}
        for name, cmd in [
            ("ct12_sof1.dcm", ["dcmcjpeg", "+ee", ct]),
            ("ct12_sof2_progressive.dcm", ["dcmcjpeg", "+ep", ct]),
            ("rgb12_sof1_ybr422.dcm", ["dcmcjpeg", "+ee", rgb]),
            ("rgb12_sof1_rgb.dcm", ["dcmcjpeg", "+ee", "+cr", rgb]),
            ("ct16_gdcm_lossy.dcm", ["gdcmconv", "--jpeg", "--lossy", "-q", "90", ct]),
        ]:
            out = os.path.join(tmp, name)
            check(cmd + [out])
            made[name] = out
        signed = os.path.join(tmp, "ct12_sof1_signed.dcm")
        shutil.copyfile(made["ct12_sof1.dcm"], signed)
        made["ct12_sof1_signed.dcm"] = signed
        for name, out in made.items():
            changes = {}
            if name == "ct12_sof1_signed.dcm":
                changes = {"PixelRepresentation": 1, "RescaleIntercept": "0",
                           "SeriesDescription": "golden synthetic CT, 12-bit JPEG relabelled signed"}
            set_uids(out, name, **changes)
        for name in targets:
            dst = os.path.join(OUT_DIR, name)
            if regenerate or not os.path.exists(dst):
                shutil.copyfile(made[name], dst)


def frame_header(ds):
    """SOF marker and precision of the first frame's codestream."""
    frame = next(pydicom.encaps.generate_pixel_data_frame(ds.PixelData, int(ds.get("NumberOfFrames", 1) or 1)))
    i = 2
    while i + 4 <= len(frame) and frame[i] == 0xFF:
        marker = frame[i + 1]
        length = (frame[i + 2] << 8) | frame[i + 3]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3):
            return f"0xFF{marker:02X}", frame[i + 4]
        i += 2 + length
    raise SystemExit("no SOF marker")


def raw_values(path):
    """Pixel values of an uncompressed file from its raw bytes (rows, cols[, samples]); signed data sign-extended
    from Bits Stored, unsigned masked to Bits Stored."""
    ds = pydicom.dcmread(path)
    assert ds.BitsAllocated == 16 and ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1", path
    raw = np.frombuffer(ds.PixelData, dtype="<u2").astype(np.int64)
    bits = int(ds.BitsStored)
    raw = raw & ((1 << bits) - 1)
    if int(ds.PixelRepresentation) == 1:
        raw = np.where(raw >= (1 << (bits - 1)), raw - (1 << bits), raw)
    spp = int(ds.SamplesPerPixel)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    shape = (frames, int(ds.Rows), int(ds.Columns), spp)
    if spp > 1 and int(ds.get("PlanarConfiguration", 0) or 0) == 1:
        raw = raw.reshape(frames, spp, int(ds.Rows), int(ds.Columns)).transpose(0, 2, 3, 1)
    return raw.reshape(shape), str(ds.PhotometricInterpretation)


def decode_with(tool, src, tmp):
    out = os.path.join(tmp, f"{tool}-{os.path.basename(src)}")
    cmd = ["dcmdjpeg", src, out] if tool == "dcmdjpeg" else ["gdcmconv", "--raw", src, out]
    rc, msg = run(cmd)
    if rc != 0 or not os.path.exists(out):
        return None, msg
    return raw_values(out), msg


def entry_for(path, tmp):
    ds = pydicom.dcmread(path)
    sof, precision = frame_header(ds)
    entry = {
        "file": rel(path),
        "transferSyntaxUid": str(ds.file_meta.TransferSyntaxUID),
        "sof": sof,
        "precision": int(precision),
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "samplesPerPixel": int(ds.SamplesPerPixel),
        "bitsAllocated": int(ds.BitsAllocated),
        "bitsStored": int(ds.BitsStored),
        "pixelRepresentation": int(ds.PixelRepresentation),
        "photometricInterpretation": str(ds.PhotometricInterpretation),
    }
    reference, message = decode_with("dcmdjpeg", path, tmp)
    if reference is None:
        entry["reference"] = None
        entry["dcmdjpeg"] = message.splitlines()[-1] if message else "failed"
        entry["unsupported"] = f"precision {precision} DCT (ISO 10918-1 allows 8 and 12)"
        gdcm, _ = decode_with("gdcmconv", path, tmp)
        if gdcm is not None:
            entry["gdcm"] = {"decodes": True, "min": int(gdcm[0].min()), "max": int(gdcm[0].max())}
        return entry
    values, _ = reference
    dtype = "<i2" if entry["pixelRepresentation"] == 1 else "<u2"
    arr = values.astype(dtype)
    frames, rows, cols, spp = arr.shape
    rng = np.random.default_rng(12)
    positions = [(0, 0), (0, cols - 1), (rows - 1, 0), (rows - 1, cols - 1), (rows // 2, cols // 2)]
    positions += [(int(r), int(c)) for r, c in zip(rng.integers(0, rows, 12), rng.integers(0, cols, 12))]
    samples = [[r, c, s, int(arr[0, r, c, s])] for r, c in positions for s in range(spp)]
    entry.update({
        "reference": "dcmdjpeg",
        "dtype": dtype,
        "sha256": G.sha256(np.ascontiguousarray(arr).tobytes(order="C")),
        "min": int(arr.min()),
        "max": int(arr.max()),
        "sum": int(arr.astype(np.int64).sum()),
        "mean": float(arr.astype(np.float64).mean()),
        "samples": samples,
    })
    gdcm, _ = decode_with("gdcmconv", path, tmp)
    if gdcm is None:
        entry["gdcm"] = {"skip": "gdcmconv --raw failed"}
    elif gdcm[1] != reference[1]:
        entry["gdcm"] = {"skip": f"GDCM returns {gdcm[1]}, dcmdjpeg {reference[1]} (no colour conversion in GDCM)"}
    else:
        entry["gdcm"] = {"maxAbsDiff": int(np.abs(gdcm[0] - values).max())}
    return entry


def main():
    regenerate = "--regenerate" in sys.argv[1:]
    os.chdir(ROOT)
    generate(regenerate)
    files = [os.path.join(ROOT, f) for f in PYDICOM_FILES]
    files += sorted(os.path.join(OUT_DIR, f) for f in os.listdir(OUT_DIR) if f.endswith(".dcm"))
    with tempfile.TemporaryDirectory() as tmp:
        entries = [entry_for(p, tmp) for p in files]
    document = {
        "generator": "scripts/golden/jpeg12.py",
        "reference": f"{tool_version(['dcmdjpeg', '--version'])} (IJG 6b 12-bit), default options",
        "crossCheck": tool_version(["gdcmconv", "--version"]),
        "pydicom": pydicom.__version__,
        "conventions": "values as dtype, little endian, C order (frame, row, column, sample); signed data "
                       "sign-extended from Bits Stored; colour as RGB (dcmdjpeg +cp converts YBR_FULL_422)",
        "entries": entries,
    }
    os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
    with open(GOLDEN, "w") as f:
        f.write(json.dumps(document, indent=1, sort_keys=True) + "\n")
    print(f"wrote {rel(GOLDEN)}: {len(entries)} entries")


if __name__ == "__main__":
    main()
