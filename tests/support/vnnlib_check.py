"""Independent judges for birdnn's VNN-LIB 2.0 output, for the solver-interface tests.

Usage:
  python3 vnnlib_check.py parse FILE...   one line per file: "ok", or "error " and the reference
                                          parser's message on one line
  python3 vnnlib_check.py tensor FILE.pb  the TensorProto's name, dims and values (onnx)
Exit code 3 when the `vnnlib` package (the VNN-LIB 2.0 reference parser and type checker) or
`onnx` is not installed, so the calling test can tell "missing" from "failed".
"""
import sys

command, files = sys.argv[1], sys.argv[2:]
if command == "parse":
    try:
        import vnnlib
    except ImportError as e:  # pragma: no cover
        print(f"vnnlib (the reference parser) not available: {e}", file=sys.stderr)
        sys.exit(3)
    for path in files:
        try:
            vnnlib.parse_query_file(path)
            print("ok")
        except Exception as e:  # the reference parser's own exception type
            print("error " + " ".join(str(e).split()))
elif command == "tensor":
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as e:  # pragma: no cover
        print(f"onnx not available: {e}", file=sys.stderr)
        sys.exit(3)
    for path in files:
        t = onnx.TensorProto()
        with open(path, "rb") as f:
            t.ParseFromString(f.read())
        values = numpy_helper.to_array(t).astype("float32").ravel()
        print(t.name, list(t.dims), " ".join(repr(float(v)) for v in values))
else:
    print(__doc__, file=sys.stderr)
    sys.exit(2)
