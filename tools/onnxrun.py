#!/usr/bin/env python3
"""Independent check of an ONNX file written by dst.

Usage: onnxrun.py MODEL.onnx INPUT.bin OUTPUT.bin N

Validates MODEL.onnx with onnx.checker (full check, with shape inference), then runs it
with a small numpy evaluator of the operators dst exports (Conv, Gemm,
BatchNormalization, Relu, MaxPool, AveragePool, Flatten, Add, Identity) on INPUT.bin
(N samples of little-endian float32, shaped as the graph input says) and writes the
graph output to OUTPUT.bin as little-endian float32. Needs Debian's python3-onnx and
python3-numpy; shares no code with dst.
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv(x, w, b, strides, pads):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (x.shape[2] - kh) // strides[0] + 1
    ow = (x.shape[3] - kw) // strides[1] + 1
    y = np.zeros((n, f, oh, ow), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i:i + strides[0] * oh:strides[0], j:j + strides[1] * ow:strides[1]]
            y += np.einsum("nchw,fc->nfhw", patch, w[:, :, i, j])
    if b is not None:
        y += b[None, :, None, None]
    return y


def pool(x, k, strides, pads, op):
    fill = -np.inf if op == "max" else 0.0
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=fill)
    oh = (x.shape[2] - k[0]) // strides[0] + 1
    ow = (x.shape[3] - k[1]) // strides[1] + 1
    windows = [x[:, :, i:i + strides[0] * oh:strides[0], j:j + strides[1] * ow:strides[1]]
               for i in range(k[0]) for j in range(k[1])]
    st = np.stack(windows)
    return st.max(axis=0) if op == "max" else st.mean(axis=0)


def run(model, x):
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    env[model.graph.input[0].name] = x
    for node in model.graph.node:
        a = attrs(node)
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            y = conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a["strides"], a["pads"])
        elif op == "Gemm":
            w = ins[1].T if a.get("transB", 0) else ins[1]
            y = ins[0] @ w + (ins[2] if len(ins) > 2 else 0)
        elif op == "BatchNormalization":
            xx, g, b, m, v = ins
            s = (None, slice(None), None, None)
            y = (xx - m[s]) / np.sqrt(v[s] + a.get("epsilon", 1e-5)) * g[s] + b[s]
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "MaxPool":
            y = pool(ins[0], a["kernel_shape"], a["strides"], a.get("pads", [0, 0, 0, 0]), "max")
        elif op == "AveragePool":
            y = pool(ins[0], a["kernel_shape"], a["strides"], a.get("pads", [0, 0, 0, 0]), "avg")
        elif op == "Flatten":
            y = ins[0].reshape(ins[0].shape[0], -1)
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "Identity":
            y = ins[0]
        else:
            raise SystemExit(f"onnxrun: unsupported operator {op}")
        env[node.output[0]] = y
    return env[model.graph.output[0].name]


def main():
    path, inp, outp, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    x = np.fromfile(inp, dtype="<f4").astype(np.float64).reshape([n] + dims)
    y = run(model, x)
    y.astype("<f4").tofile(outp)
    print(f"ok: {len(model.graph.node)} nodes, output {list(y.shape)}")


if __name__ == "__main__":
    main()
