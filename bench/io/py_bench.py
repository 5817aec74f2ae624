"""Python baselines for the medseg IO benchmark (bench/io): pydicom and nibabel loads of the same data.

Usage: python3 py_bench.py <mode> [path]
  idle              imports only (RSS baseline)
  pydicom <dir>     read every file with pydicom, sort along the slice normal, stack
                    pixel_array * RescaleSlope + RescaleIntercept into one int16 (z, y, x) array
  nibabel-dataobj <file>   nibabel.load + numpy.asanyarray(img.dataobj)  (stored int16 values)
  nibabel-fdata <file>     nibabel.load + img.get_fdata()               (float64, nibabel's default)

Prints one JSON line: ms (time inside Python, excluding interpreter start-up and imports), peak RSS (KiB) and a
checksum (sum of voxel values) that the parent compares with the generated data.
"""
import json
import os
import resource
import sys
import time

import numpy as np
import pydicom
import nibabel as nib


def main() -> None:
    mode = sys.argv[1]
    path = sys.argv[2] if len(sys.argv) > 2 else None
    t0 = time.perf_counter()
    check = 0
    if mode == "idle":
        pass
    elif mode == "pydicom":
        files = sorted(os.path.join(path, f) for f in os.listdir(path))
        slices = [pydicom.dcmread(f) for f in files]
        iop = np.array(slices[0].ImageOrientationPatient, dtype=float)
        normal = np.cross(iop[:3], iop[3:])
        slices.sort(key=lambda s: float(np.dot(np.array(s.ImagePositionPatient, dtype=float), normal)))
        rows, cols = int(slices[0].Rows), int(slices[0].Columns)
        vol = np.empty((len(slices), rows, cols), dtype=np.int16)
        for k, s in enumerate(slices):
            slope = float(getattr(s, "RescaleSlope", 1))
            inter = float(getattr(s, "RescaleIntercept", 0))
            vol[k] = s.pixel_array * slope + inter
        elapsed = time.perf_counter() - t0
        check = int(vol.sum(dtype=np.int64))
    elif mode == "nibabel-dataobj":
        img = nib.load(path)
        data = np.asanyarray(img.dataobj)
        elapsed = time.perf_counter() - t0
        check = int(data.sum(dtype=np.int64))
    elif mode == "nibabel-fdata":
        img = nib.load(path)
        data = img.get_fdata()
        elapsed = time.perf_counter() - t0
        check = int(round(float(data.sum())))
    else:
        raise SystemExit(f"unknown mode {mode}")
    if mode == "idle":
        elapsed = time.perf_counter() - t0
    print(json.dumps({
        "mode": mode,
        "ms": elapsed * 1000.0,
        "maxRssKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "check": check,
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "pydicom": pydicom.__version__, "nibabel": nib.__version__},
    }))


if __name__ == "__main__":
    main()
