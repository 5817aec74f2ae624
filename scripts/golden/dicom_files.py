#!/usr/bin/python3
"""Golden pixel values for the DICOM test files, computed by pydicom (the reference).

Run with Debian's interpreter (pydicom 2.3.1 + python3-gdcm + numpy, gdcmconv and dcmtk installed):

    /usr/bin/python3 scripts/golden/dicom_files.py            # from the repository root
    /usr/bin/python3 scripts/golden/dicom_files.py --regenerate  # also rebuild fixtures/dicom/compressed/*

Step 1 makes extra compressed files in ``fixtures/dicom/compressed/`` from the uncompressed pydicom test files with
``gdcmconv`` (JPEG lossless SV1, JPEG-LS lossless and near-lossless, JPEG 2000 lossless and lossy, RLE, JPEG baseline
lossy, fragmented frames, two-frame colour) and ``dcmconv +td`` (deflated explicit VR little endian). A file that
already exists is kept, so the committed fixtures are not rewritten on every run; ``--regenerate`` rebuilds them.
gdcm gives lossy outputs a fresh random SOP Instance UID, so the script resets it to the source file's UID
(``dcmodify``), which makes regeneration byte-for-byte reproducible.

Step 2 writes ``fixtures/golden/dicom-files.json``: one entry per DICOM file under ``fixtures/dicom/pydicom`` and
``fixtures/dicom/compressed`` (sorted by path). An entry for a file whose pixels pydicom decodes holds the image
attributes and a digest of ``ds.pixel_array`` (the stored values, before any rescale) as its native dtype in little
endian byte order, C order (frame, row, column, sample): ``pixelSha256``, ``pixelMin``, ``pixelMax``, ``pixelSum``.
Pixel data handlers are, in this order: numpy (uncompressed), pydicom's RLE handler, GDCM (all JPEG flavours).

For 8-bit JPEG baseline/extended files (lossy DCT, where decoders legitimately differ by rounding) the whole array
is also written, gzip-compressed, to ``fixtures/golden/dicom-lossy/<folder>__<name>.bin.gz`` and named by
``lossyReference``.

Colour JPEG baseline/extended files whose Photometric Interpretation is YBR_FULL or YBR_FULL_422 come out of GDCM
still in YCbCr, while libjpeg (and thus the medseg decoder) converts them to RGB; for those the array is converted
with ``pydicom.pixel_data_handlers.util.convert_color_space(arr, 'YBR_FULL', 'RGB')`` before hashing and the entry
says ``"colorConverted": true``. The same holds for files labelled RGB whose codestream is YCbCr-coded (JFIF marker,
Adobe transform 1, component ids 1,2,3 or subsampled chroma, as GDCM's own lossy encoder writes): GDCM returns the
YCbCr components unconverted (pure red comes out as 76,85,255), so they are converted too.

A file pydicom cannot decode, that GDCM reports it fails to decode, or that holds no Pixel Data gets an entry
``{"file": ..., "skip": "<reason>"}``.

Everything is deterministic: files are visited in sorted order, the JSON is written with sorted keys.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import gzip

import gdcm
import numpy as np
import pydicom
from pydicom import config
from pydicom.encaps import generate_pixel_data_frame
from pydicom.pixel_data_handlers import gdcm_handler, numpy_handler, rle_handler
from pydicom.pixel_data_handlers.util import convert_color_space

ROOT = Path(__file__).resolve().parents[2]
PYDICOM_DIR = ROOT / "fixtures" / "dicom" / "pydicom"
COMPRESSED_DIR = ROOT / "fixtures" / "dicom" / "compressed"
GOLDEN_FILE = ROOT / "fixtures" / "golden" / "dicom-files.json"
LOSSY_DIR = ROOT / "fixtures" / "golden" / "dicom-lossy"

JPEG_DCT_SYNTAXES = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}
# Transfer syntaxes whose pixels go through pydicom's GDCM handler (every encapsulated one but RLE).
GDCM_SYNTAXES = {
    "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
}

# (output name, source file in fixtures/dicom/pydicom, converter command template). "{src}" and "{dst}" are
# replaced by paths. All sources are uncompressed or RLE; gdcm transcodes RLE transparently.
GENERATED: list[tuple[str, str, list[str]]] = [
    # CT_small: 128x128 signed 16-bit (BitsStored 16) MONOCHROME2
    ("CT_small_jpeg_lossless_sv1.dcm", "CT_small.dcm", ["gdcmconv", "--jpeg", "{src}", "{dst}"]),
    ("CT_small_jpeg_ls_lossless.dcm", "CT_small.dcm", ["gdcmconv", "--jpegls", "{src}", "{dst}"]),
    ("CT_small_jpeg_ls_near_lossless.dcm", "CT_small.dcm",
     ["gdcmconv", "--jpegls", "--lossy", "-e", "2", "{src}", "{dst}"]),
    ("CT_small_j2k_lossless.dcm", "CT_small.dcm", ["gdcmconv", "--j2k", "{src}", "{dst}"]),
    ("CT_small_j2k_lossy.dcm", "CT_small.dcm", ["gdcmconv", "--j2k", "--lossy", "-q", "40", "{src}", "{dst}"]),
    ("CT_small_rle.dcm", "CT_small.dcm", ["gdcmconv", "--rle", "{src}", "{dst}"]),
    ("CT_small_deflated.dcm", "CT_small.dcm", ["dcmconv", "+td", "{src}", "{dst}"]),
    # MR_small: 64x64 signed 16-bit MONOCHROME2
    ("MR_small_jpeg_lossless_sv1.dcm", "MR_small.dcm", ["gdcmconv", "--jpeg", "{src}", "{dst}"]),
    ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm", ["gdcmconv", "--jpegls", "{src}", "{dst}"]),
    ("MR_small_j2k_lossless.dcm", "MR_small.dcm", ["gdcmconv", "--j2k", "{src}", "{dst}"]),
    ("MR_small_rle.dcm", "MR_small.dcm", ["gdcmconv", "--rle", "{src}", "{dst}"]),
    ("MR_small_deflated.dcm", "MR_small.dcm", ["dcmconv", "+td", "{src}", "{dst}"]),
    # SC_rgb_small_odd: 3x3 RGB 8-bit (odd sizes). No JPEG 2000 version: gdcmconv 3.0.21 aborts on a 3x3
    # image (J2K and RLE); RLE comes from dcmtk instead.
    ("SC_rgb_small_odd_jpeg_lossless_sv1.dcm", "SC_rgb_small_odd.dcm", ["gdcmconv", "--jpeg", "{src}", "{dst}"]),
    ("SC_rgb_small_odd_jpeg_ls_lossless.dcm", "SC_rgb_small_odd.dcm", ["gdcmconv", "--jpegls", "{src}", "{dst}"]),
    ("SC_rgb_small_odd_rle.dcm", "SC_rgb_small_odd.dcm", ["dcmcrle", "{src}", "{dst}"]),  # gdcm aborts on 3x3
    ("SC_rgb_small_odd_deflated.dcm", "SC_rgb_small_odd.dcm", ["dcmconv", "+td", "{src}", "{dst}"]),
    # SC_rgb_rle_2frame: 2 frames of 100x100 RGB 8-bit (one fragment per frame, empty basic offset table)
    ("SC_rgb_2frame_jpeg_lossless_sv1.dcm", "SC_rgb_rle_2frame.dcm", ["gdcmconv", "--jpeg", "{src}", "{dst}"]),
    ("SC_rgb_2frame_jpeg_ls_lossless.dcm", "SC_rgb_rle_2frame.dcm", ["gdcmconv", "--jpegls", "{src}", "{dst}"]),
    ("SC_rgb_2frame_j2k_lossless.dcm", "SC_rgb_rle_2frame.dcm", ["gdcmconv", "--j2k", "{src}", "{dst}"]),
    ("SC_rgb_2frame_jpeg_baseline.dcm", "SC_rgb_rle_2frame.dcm",
     ["gdcmconv", "--jpeg", "--lossy", "-q", "90", "{src}", "{dst}"]),
    # image_dfl: 512x512 8-bit MONOCHROME2 (deflated source)
    ("image_dfl_jpeg_baseline.dcm", "image_dfl.dcm", ["gdcmconv", "--jpeg", "--lossy", "-q", "90", "{src}", "{dst}"]),
]

# Files made from another generated file: one frame split into several fragments (4000-byte items).
GENERATED_FROM_GENERATED: list[tuple[str, str, list[str]]] = [
    ("CT_small_jpeg_lossless_sv1_fragmented.dcm", "CT_small_jpeg_lossless_sv1.dcm",
     ["gdcmconv", "-S", "4000", "{src}", "{dst}"]),
]


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_file(name: str, src: Path, template: list[str], regenerate: bool) -> None:
    dst = COMPRESSED_DIR / name
    if dst.exists() and not regenerate:
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / name
        run([arg.replace("{src}", str(src)).replace("{dst}", str(out)) for arg in template])
        # gdcm's lossy encoders assign a random new SOP Instance UID: put the source's back for reproducibility.
        source_uid = str(pydicom.dcmread(str(src), stop_before_pixels=True).SOPInstanceUID)
        written = pydicom.dcmread(str(out), stop_before_pixels=True)
        if str(written.SOPInstanceUID) != source_uid:
            run(["dcmodify", "-nb", "-m", f"(0008,0018)={source_uid}", str(out)])  # also updates (0002,0003)
        shutil.copyfile(out, dst)


def generate(regenerate: bool) -> None:
    COMPRESSED_DIR.mkdir(parents=True, exist_ok=True)
    for name, source, template in GENERATED:
        make_file(name, PYDICOM_DIR / source, template, regenerate)
    for name, source, template in GENERATED_FROM_GENERATED:
        make_file(name, COMPRESSED_DIR / source, template, regenerate)


def number_or_none(ds: pydicom.Dataset, keyword: str) -> float | None:
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    return float(value)


def floats_or_none(ds: pydicom.Dataset, keyword: str) -> list[float] | None:
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    if isinstance(value, (list, pydicom.multival.MultiValue)):
        return [float(v) for v in value]
    return [float(value)]


def int_or_none(ds: pydicom.Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    return None if value is None or value == "" else int(value)


def gdcm_decodes(path: Path) -> bool:
    """Whether GDCM itself reports success decoding the file.

    pydicom's GDCM handler ignores GDCM's status: when GDCM fails (for example on the fragments of
    JPEG2000-embedded-sequence-delimiter.dcm) pydicom returns whatever was in GDCM's buffer, which differs from run
    to run. Such files are recorded as skipped instead.
    """
    reader = gdcm.ImageReader()
    reader.SetFileName(str(path))
    if not reader.Read():
        return False
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.ExplicitVRLittleEndian))
    change.SetInput(reader.GetImage())
    return bool(change.Change())


def jpeg_colour_signalling(frame: bytes) -> dict:
    """JFIF/Adobe markers, component ids and subsampling of a DCT JPEG codestream, up to its frame header."""
    info = {"jfif": False, "adobe": None, "ids": [], "subsampled": False}
    i = 2
    while i + 4 <= len(frame) and frame[i] == 0xFF:
        marker = frame[i + 1]
        length = (frame[i + 2] << 8) | frame[i + 3]
        if marker == 0xE0 and frame[i + 4:i + 9] == b"JFIF\0":
            info["jfif"] = True
        if marker == 0xEE and frame[i + 4:i + 9] == b"Adobe" and length >= 14:
            info["adobe"] = frame[i + 15]
        if marker in (0xC0, 0xC1, 0xC2):
            count = frame[i + 9]
            info["ids"] = [frame[i + 10 + 3 * c] for c in range(count)]
            info["subsampled"] = len({frame[i + 11 + 3 * c] for c in range(count)}) > 1
            break
        i += 2 + length
    return info


def is_ycbcr_coded(frame: bytes, photometric: str) -> bool:
    """Whether a 3-component DCT JPEG holds YCbCr; the same rule as isYcbcrCoded in src/io/dicom/codecs/jpeg-dct.ts.

    The codestream's signalling wins (JFIF: YCbCr; Adobe APP14: its transform flag; ids 'R','G','B': RGB; ids 1,2,3
    or chroma subsampling: YCbCr); only without any of it does the Photometric Interpretation decide.
    """
    info = jpeg_colour_signalling(frame)
    if info["jfif"]:
        return True
    if info["adobe"] is not None:
        return info["adobe"] != 0
    if info["ids"] == [0x52, 0x47, 0x42]:
        return False
    if info["ids"] == [1, 2, 3] or info["subsampled"]:
        return True
    return photometric != "RGB"


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".strip()


def entry_for(path: Path) -> dict:
    rel = path.relative_to(ROOT).as_posix()
    try:
        ds = pydicom.dcmread(str(path), force=True)
    except Exception as error:  # noqa: BLE001 - any reader failure is recorded as the skip reason
        return {"file": rel, "skip": f"pydicom cannot read the file: {first_line(error)}"}
    if "PixelData" not in ds:
        return {"file": rel, "skip": "no Pixel Data (not an image)"}
    meta = getattr(ds, "file_meta", None)
    tsyntax = str(meta.TransferSyntaxUID) if meta is not None and "TransferSyntaxUID" in meta else None
    photometric = str(ds.get("PhotometricInterpretation", ""))
    # Read the header before pixel_array: pydicom's J2K correction rewrites PixelRepresentation in place.
    try:
        samples = int(ds.get("SamplesPerPixel", 1))
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        header = {
            "rows": int_or_none(ds, "Rows"),
            "columns": int_or_none(ds, "Columns"),
            "frames": frames,
            "samplesPerPixel": samples,
            "bitsAllocated": int_or_none(ds, "BitsAllocated"),
            "bitsStored": int_or_none(ds, "BitsStored"),
            "pixelRepresentation": int_or_none(ds, "PixelRepresentation"),
            "photometricInterpretation": photometric,
            "planarConfiguration": int_or_none(ds, "PlanarConfiguration"),
            "rescaleSlope": number_or_none(ds, "RescaleSlope"),
            "rescaleIntercept": number_or_none(ds, "RescaleIntercept"),
            "imagePositionPatient": floats_or_none(ds, "ImagePositionPatient"),
            "imageOrientationPatient": floats_or_none(ds, "ImageOrientationPatient"),
            "pixelSpacing": floats_or_none(ds, "PixelSpacing"),
        }
    except (TypeError, ValueError) as error:
        return {"file": rel, "transferSyntaxUid": tsyntax, "skip": f"invalid image header: {first_line(error)}"}
    if tsyntax in GDCM_SYNTAXES and not gdcm_decodes(path):
        return {"file": rel, "transferSyntaxUid": tsyntax, "skip": "GDCM fails to decode the pixel data"}
    try:
        arr = ds.pixel_array
    except Exception as error:  # noqa: BLE001
        return {"file": rel, "transferSyntaxUid": tsyntax, "skip": f"pydicom cannot decode: {first_line(error)}"}

    color_converted = False
    if tsyntax in JPEG_DCT_SYNTAXES and samples == 3:
        first_frame = next(generate_pixel_data_frame(ds.PixelData, frames))
        if photometric in ("YBR_FULL", "YBR_FULL_422") or (
            photometric == "RGB" and is_ycbcr_coded(first_frame, photometric)
        ):
            arr = convert_color_space(arr, "YBR_FULL", "RGB")
            color_converted = True

    arr = np.ascontiguousarray(arr)
    little = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    digest = hashlib.sha256(little.tobytes(order="C")).hexdigest()
    entry = {
        "file": rel,
        "transferSyntaxUid": tsyntax,
        **header,
        "pixelDtype": little.dtype.str,
        "pixelSha256": digest,
        "pixelMin": int(little.min()),
        "pixelMax": int(little.max()),
        "pixelSum": int(little.astype(np.int64).sum()),
    }
    if color_converted:
        entry["colorConverted"] = True
    if tsyntax in JPEG_DCT_SYNTAXES and entry["bitsStored"] <= 8:
        # Lossy DCT decoders differ by rounding: keep pydicom's full array so tests can bound the difference.
        LOSSY_DIR.mkdir(parents=True, exist_ok=True)
        reference = LOSSY_DIR / f"{path.parent.name}__{path.stem}.bin.gz"
        reference.write_bytes(gzip.compress(little.tobytes(order="C"), compresslevel=9, mtime=0))
        entry["lossyReference"] = reference.relative_to(ROOT).as_posix()
    return entry


def main() -> None:
    regenerate = "--regenerate" in sys.argv[1:]
    os.chdir(ROOT)
    generate(regenerate)
    config.pixel_data_handlers = [numpy_handler, rle_handler, gdcm_handler]
    gdcm.Trace.WarningOff()
    gdcm.Trace.ErrorOff()
    files = sorted(
        [p for p in PYDICOM_DIR.glob("*.dcm")] + [p for p in COMPRESSED_DIR.glob("*.dcm")],
        key=lambda p: p.relative_to(ROOT).as_posix(),
    )
    entries = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            entries.append(entry_for(path))
    GOLDEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "generator": "scripts/golden/dicom_files.py",
        "reference": f"pydicom {pydicom.__version__} (handlers: numpy, rle, gdcm)",
        "files": entries,
    }
    GOLDEN_FILE.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    decoded = sum(1 for e in entries if "skip" not in e)
    print(f"wrote {GOLDEN_FILE.relative_to(ROOT)}: {decoded} decoded, {len(entries) - decoded} skipped")


if __name__ == "__main__":
    main()
