"""A streaming model's resource variables (what it keeps between calls) and the subgraph that sets them to zero once
(CALL_ONCE). The file goes without it: TFLite Micro zeroes their bytes itself, which differs from zero in int8 only
until a stream has filled them (a second or so; 2.4 KB of flash saved). The host puts it back: LiteRT reads no
variable never assigned, and a window heard from silence then gives the window model's output."""

from __future__ import annotations

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema


def _pack(model) -> bytes:
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _code(model, op) -> int:
    code = model.operatorCodes[op.opcodeIndex]
    return max(code.builtinCode, code.deprecatedBuiltinCode)


def _opcode(model, builtin: int) -> int:
    """The index of `builtin` among the model's operator codes, added if it is not there."""
    for i, code in enumerate(model.operatorCodes):
        if max(code.builtinCode, code.deprecatedBuiltinCode) == builtin:
            return i
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), 1
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def without_initialiser(model_bytes: bytes) -> bytes:
    """The model without the subgraph that sets its variables to zero once (CALL_ONCE) and its zeros."""
    model = schema.ModelT.InitFromPackedBuf(model_bytes, 0)
    main, *initialisers = model.subgraphs
    main.operators = [op for op in main.operators if _code(model, op) != schema.BuiltinOperator.CALL_ONCE]
    for tensor in (t for graph in initialisers for t in graph.tensors):
        model.buffers[tensor.buffer].data = None
    model.subgraphs = [main]
    return _pack(model)


def has_variables(model_bytes: bytes) -> bool:
    """Whether the model keeps resource variables between calls (its operator codes name VAR_HANDLE: read without
    unpacking the whole model)."""
    model = schema.Model.GetRootAs(model_bytes, 0)
    codes = (model.OperatorCodes(i) for i in range(model.OperatorCodesLength()))
    return any(max(c.BuiltinCode(), c.DeprecatedBuiltinCode()) == schema.BuiltinOperator.VAR_HANDLE for c in codes)


def with_initialiser(model_bytes: bytes) -> bytes:
    """The model with a subgraph, called once, that sets each variable its main graph reads to zero (its int8 zero
    point); a model that has one, or no variables, unchanged."""
    if not has_variables(model_bytes):
        return model_bytes
    model = schema.ModelT.InitFromPackedBuf(model_bytes, 0)
    main = model.subgraphs[0]
    if len(model.subgraphs) > 1:
        return model_bytes
    read = {op.inputs[0]: main.tensors[op.outputs[0]] for op in main.operators
            if _code(model, op) == schema.BuiltinOperator.READ_VARIABLE}
    init = schema.SubGraphT()
    init.tensors, init.operators, init.inputs, init.outputs, init.name = [], [], [], [], b"zero_variables"
    handle_code, assign_code = (_opcode(model, b) for b in (schema.BuiltinOperator.VAR_HANDLE,
                                                              schema.BuiltinOperator.ASSIGN_VARIABLE))
    for op in [op for op in main.operators if _code(model, op) == schema.BuiltinOperator.VAR_HANDLE]:
        value = read[op.outputs[0]]
        handle = schema.TensorT()
        handle.type, handle.shape, handle.name, handle.buffer = schema.TensorType.RESOURCE, [], b"handle", 0
        zeros = schema.TensorT()
        zeros.type, zeros.shape, zeros.name = value.type, list(value.shape), b"zeros"
        zeros.quantization, zeros.buffer = value.quantization, len(model.buffers)
        buffer = schema.BufferT()
        buffer.data = np.full(int(np.prod(value.shape)), value.quantization.zeroPoint[0], np.int8).view(np.uint8)
        model.buffers.append(buffer)
        init.tensors += [handle, zeros]
        var = schema.OperatorT()
        var.opcodeIndex, var.inputs, var.outputs = handle_code, [], [len(init.tensors) - 2]
        var.builtinOptionsType, var.builtinOptions = op.builtinOptionsType, op.builtinOptions
        assign = schema.OperatorT()
        assign.opcodeIndex, assign.inputs, assign.outputs = assign_code, [len(init.tensors) - 2, len(init.tensors) - 1], []
        init.operators += [var, assign]
    once = schema.OperatorT()
    once.opcodeIndex, once.inputs, once.outputs = _opcode(model, schema.BuiltinOperator.CALL_ONCE), [], []
    once.builtinOptionsType, once.builtinOptions = schema.BuiltinOptions.CallOnceOptions, schema.CallOnceOptionsT()
    once.builtinOptions.initSubgraphIndex = 1
    main.operators.insert(0, once)
    model.subgraphs.append(init)
    return _pack(model)
