#!/usr/bin/python3
"""Small deterministic ONNX test graphs for the inference tests and benchmarks.

Run with Debian's interpreter (python3-onnx 1.12 + python3-numpy), from the repository root:

    /usr/bin/python3 scripts/models/make-test-graphs.py                 # writes fixtures/models/*.onnx
    /usr/bin/python3 scripts/models/make-test-graphs.py --out some/dir  # somewhere else

Every graph is built with ``onnx.helper`` from closed-form or fixed-seed numpy weights, so a rerun rewrites the
same bytes. All tensors are float32; layout is NCDHW (3D) or NCHW (2D); dynamic dimensions are named "batch", "d",
"h", "w". Models use opset 17 and IR version 8 (both accepted by onnxruntime 1.30) and pass
``onnx.checker.check_model(model, full_check=True)`` (which includes strict shape inference).
``fixtures/models/README.md`` describes each graph.
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8
PRODUCER = "medseg scripts/models/make-test-graphs.py"

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO_ROOT, "fixtures", "models")


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def tensor_info(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def make_model(name, doc, nodes, inputs, outputs, initializers):
    graph = helper.make_graph(
        nodes, name, inputs, outputs,
        initializer=[numpy_helper.from_array(f32(v), k) for k, v in initializers],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def param_count(model):
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer)


def single_conv(name, doc, in_shape, out_shape, w, b, pads):
    """One Conv node: input -> output, weights W and B as initializers."""
    conv = helper.make_node("Conv", ["input", "W", "B"], ["output"], name="conv",
                            kernel_shape=list(w.shape[2:]), pads=pads)
    return make_model(name, doc, [conv], [tensor_info("input", in_shape)], [tensor_info("output", out_shape)],
                      [("W", w), ("B", b)])


# 1 / 2 -------------------------------------------------------------------------------------------------------
def pointwise_3d(batch):
    w = f32([1.0, -1.0, 0.5]).reshape(3, 1, 1, 1, 1)
    b = f32([0.0, 0.5, 0.25])
    doc = "1x1x1 Conv, 1 -> 3 channels: output[:, c] = w[c] * input[:, 0] + b[c], w = [1, -1, 0.5], b = [0, 0.5, 0.25]"
    return single_conv("pointwise_3d", doc, [batch, 1, "d", "h", "w"], [batch, 3, "d", "h", "w"], w, b, [0] * 6)


# 3 -----------------------------------------------------------------------------------------------------------
def conv3_3d():
    w = (np.random.default_rng(3).normal(size=(2, 1, 3, 3, 3)) * 0.3).astype(np.float32)
    b = f32([0.1, -0.2])
    doc = ("3x3x3 Conv, pads 1, 1 -> 2 channels; W = (numpy.random.default_rng(3).normal(size=(2,1,3,3,3)) * 0.3)"
           ".astype(float32), B = [0.1, -0.2]")
    return single_conv("conv3_3d", doc, ["batch", 1, "d", "h", "w"], ["batch", 2, "d", "h", "w"], w, b, [1] * 6)


# 4 -----------------------------------------------------------------------------------------------------------
def flip_symmetric_3d():
    k1 = np.array([0.25, 0.5, 0.25])
    k = np.einsum("i,j,k->ijk", k1, k1, k1)
    k_neg = -k
    k_neg[1, 1, 1] += 0.1
    w = f32(np.stack([k, k_neg])[:, None])  # (2, 1, 3, 3, 3)
    b = f32([0.0, 0.3])
    for axis in (2, 3, 4):
        assert np.array_equal(w, np.flip(w, axis=axis))
    doc = ("3x3x3 Conv, pads 1, 1 -> 2 channels, kernels symmetric under flips of every axis: K0 = outer product of "
           "[0.25,0.5,0.25] along d,h,w; K1 = -K0 with +0.1 at the centre; B = [0, 0.3]")
    return single_conv("flip_symmetric_3d", doc, ["batch", 1, "d", "h", "w"], ["batch", 2, "d", "h", "w"], w, b,
                       [1] * 6)


# 5 -----------------------------------------------------------------------------------------------------------
def pointwise_2d():
    w = f32([[0.0, 1.0, 0.0], [0.5, -1.0, 0.5]]).reshape(2, 3, 1, 1)
    b = f32([0.0, 0.0])
    doc = ("2D slice model, 3 neighbour slices (prev, centre, next) as channels; 1x1 Conv 3 -> 2: "
           "output[:,0] = centre, output[:,1] = 0.5*prev - centre + 0.5*next")
    return single_conv("pointwise_2d", doc, ["batch", 3, "h", "w"], ["batch", 2, "h", "w"], w, b, [0] * 4)


# 6 -----------------------------------------------------------------------------------------------------------
class UNetBuilder:
    """Collects nodes and initializers; weights are drawn from one generator in creation order."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []

    def _params(self, name, w_shape, fan_in, out_ch):
        w = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), size=w_shape).astype(np.float32)
        b = (self.rng.normal(0.0, 0.01, size=(out_ch,))).astype(np.float32)
        self.inits += [(name + ".weight", w), (name + ".bias", b)]
        return name + ".weight", name + ".bias"

    def conv(self, name, x, cin, cout, k, relu):
        w, b = self._params(name, (cout, cin, k, k, k), cin * k ** 3, cout)
        y = name if not relu else name + ".conv"
        self.nodes.append(helper.make_node("Conv", [x, w, b], [y], name=name, kernel_shape=[k] * 3,
                                           pads=[k // 2] * 6))
        if relu:
            self.nodes.append(helper.make_node("Relu", [y], [name], name=name + ".relu"))
        return name

    def double_conv(self, name, x, cin, cout):
        x = self.conv(name + ".conv1", x, cin, cout, 3, relu=True)
        return self.conv(name + ".conv2", x, cout, cout, 3, relu=True)

    def pool(self, name, x):
        self.nodes.append(helper.make_node("MaxPool", [x], [name], name=name, kernel_shape=[2] * 3,
                                           strides=[2] * 3))
        return name

    def up(self, name, x, cin, cout):
        # ConvTranspose weight layout is (C_in, C_out, kD, kH, kW); with kernel 2 / stride 2 every output voxel
        # sees exactly one input voxel, so the effective fan-in is C_in.
        w, b = self._params(name, (cin, cout, 2, 2, 2), cin, cout)
        self.nodes.append(helper.make_node("ConvTranspose", [x, w, b], [name], name=name, kernel_shape=[2] * 3,
                                           strides=[2] * 3))
        return name

    def concat(self, name, a, b):
        self.nodes.append(helper.make_node("Concat", [a, b], [name], name=name, axis=1))
        return name


def unet3d_small(n_classes=14, chans=(16, 32, 64), bottleneck=128):
    u = UNetBuilder(0)
    x, cin, skips = "input", 1, []
    for i, c in enumerate(chans, start=1):
        x = u.double_conv(f"enc{i}", x, cin, c)
        skips.append((x, c))
        x = u.pool(f"pool{i}", x)
        cin = c
    x = u.double_conv("bottleneck", x, cin, bottleneck)
    cin = bottleneck
    for i in range(len(chans), 0, -1):
        skip, c = skips[i - 1]
        x = u.up(f"up{i}", x, cin, c)
        x = u.concat(f"cat{i}", x, skip)
        x = u.double_conv(f"dec{i}", x, 2 * c, c)
        cin = c
    w, b = u._params("head", (n_classes, cin, 1, 1, 1), cin, n_classes)
    u.nodes.append(helper.make_node("Conv", [x, w, b], ["logits"], name="head", kernel_shape=[1, 1, 1]))
    doc = (f"Small 3D U-Net for benchmarks: 1 -> {n_classes} classes, encoder {list(chans)} (2x Conv3d 3^3 pad 1 + "
           f"ReLU per stage, MaxPool 2), bottleneck {bottleneck}, decoder ConvTranspose k2 s2 + Concat skip + 2x "
           f"Conv+ReLU, 1x1x1 head; random He-normal weights from numpy.random.default_rng(0), d/h/w divisible by 8")
    return make_model("unet3d_small", doc, u.nodes, [tensor_info("input", ["batch", 1, "d", "h", "w"])],
                      [tensor_info("logits", ["batch", n_classes, "d", "h", "w"])], u.inits)


# 7 -----------------------------------------------------------------------------------------------------------
def pointwise_3d_14():
    c = np.arange(14, dtype=np.float64)
    w = f32((c - 6.5) / 7).reshape(14, 1, 1, 1, 1)
    b = f32(0.1 * c)
    doc = ("1x1x1 Conv, 1 -> 14 channels: output[:, c] = w[c] * input[:, 0] + b[c], w[c] = (c - 6.5) / 7, "
           "b[c] = 0.1 * c (c = 0..13); a near-free stand-in for a 14-class network, for engine memory benchmarks")
    return single_conv("pointwise_3d_14", doc, ["batch", 1, "d", "h", "w"], ["batch", 14, "d", "h", "w"], w, b,
                       [0] * 6)


GRAPHS = [
    ("pointwise-3d.onnx", lambda: pointwise_3d("batch")),
    ("pointwise-3d-static-batch.onnx", lambda: pointwise_3d(1)),
    ("conv3-3d.onnx", conv3_3d),
    ("flip-symmetric-3d.onnx", flip_symmetric_3d),
    ("pointwise-2d.onnx", pointwise_2d),
    ("unet3d-small.onnx", unet3d_small),
    ("pointwise-3d-14.onnx", pointwise_3d_14),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output folder (default fixtures/models)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for file_name, build in GRAPHS:
        model = build()
        path = os.path.join(args.out, file_name)
        data = model.SerializeToString()
        with open(path, "wb") as f:
            f.write(data)
        # Reload from disk and check again, so what was written is what passed.
        onnx.checker.check_model(onnx.load(path), full_check=True)
        print(f"{file_name}: {len(data)} bytes, {param_count(model)} parameters, "
              f"{len(model.graph.node)} nodes", file=sys.stdout)


if __name__ == "__main__":
    main()
