#!/usr/bin/env python3
"""The reference timing for `dysr bench rungs`: each rung's architecture, read from the manifest,
built as an ONNX graph (same convolutions, residuals, pixel shuffle and bilinear residual; random
weights, since speed does not depend on them) and run on ONNX Runtime's CPU provider.

Prints one JSON object per rung: {"rung": "r0", "median_ms": 1.23, "runs": 50}.
Needs `onnx`, `onnxruntime` and `numpy` (`make bench-deps` puts them in ~/.cache/dysr-ort).
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def build(rung, width, height, rng):
    nodes, initializers = [], []
    current = "lr"
    for index, layer in enumerate(rung["layers"]):
        k = layer["kernel"]
        weight = numpy_helper.from_array(
            (rng.standard_normal((layer["out"], layer["in"], k, k)) * 0.05).astype(np.float32), f"w{index}")
        bias = numpy_helper.from_array(np.zeros(layer["out"], np.float32), f"b{index}")
        initializers += [weight, bias]
        conv = f"conv{index}"
        nodes.append(helper.make_node("Conv", [current, weight.name, bias.name], [conv],
                                      pads=[k // 2] * 4, kernel_shape=[k, k]))
        value = conv
        if layer["residual"]:
            nodes.append(helper.make_node("Add", [current, value], [f"sum{index}"]))
            value = f"sum{index}"
        if layer["activation"] == "relu":
            nodes.append(helper.make_node("Relu", [value], [f"relu{index}"]))
            value = f"relu{index}"
        current = value
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    initializers.append(scales)
    nodes += [
        helper.make_node("DepthToSpace", [current], ["shuffled"], blocksize=2, mode="DCR"),
        helper.make_node("Resize", ["lr", "", "scales"], ["bilinear"], mode="linear",
                         coordinate_transformation_mode="half_pixel"),
        helper.make_node("Add", ["shuffled", "bilinear"], ["hr"]),
    ]
    graph = helper.make_graph(
        nodes, rung["name"],
        [helper.make_tensor_value_info("lr", TensorProto.FLOAT, [1, 1, height, width])],
        [helper.make_tensor_value_info("hr", TensorProto.FLOAT, [1, 1, 2 * height, 2 * width])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--size", default="640x360", help="WxH of the low-resolution frame")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: one per core)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    with open(args.manifest) as f:
        manifest = json.load(f)
    rng = np.random.default_rng(1)
    frame = rng.random((1, 1, height, width), dtype=np.float32)
    for rung in manifest["ladder"]:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if args.threads:
            options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(build(rung, width, height, rng), options, providers=["CPUExecutionProvider"])
        for _ in range(args.warmup):
            session.run(None, {"lr": frame})
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            session.run(None, {"lr": frame})
            times.append((time.perf_counter() - started) * 1e3)
        print(json.dumps({"rung": rung["name"], "median_ms": statistics.median(times), "runs": args.runs}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
