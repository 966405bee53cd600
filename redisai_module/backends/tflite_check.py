"""What LiteRT takes on trust in a .tflite flatbuffer, checked before it sees one.

LiteRT verifies a buffer's layout, not its meaning: a model without subgraphs (both are optional
fields of a well-formed flatbuffer) made the interpreter's constructor dereference NULL and take
the server down (found by tests/test_fuzz.py). Every index a model holds is checked against what
it indexes. Reading runs in Python through the schema's own accessors, so a malformed buffer
raises here instead of crashing there.
"""


def tflite_model_is_sound(blob):
    """False when LiteRT must not be handed `blob`: no subgraph or buffer table, or an index that
    points outside its table (an operator's code, a tensor's buffer, a subgraph's or operator's
    tensors)."""
    from ai_edge_litert import schema_py_generated as schema
    try:
        model = schema.Model.GetRootAs(blob, 0)
        if model.SubgraphsIsNone() or model.SubgraphsLength() == 0 or model.BuffersIsNone():
            return False
        n_codes, n_buffers = model.OperatorCodesLength(), model.BuffersLength()
        for g in range(model.SubgraphsLength()):
            if not _subgraph_is_sound(model.Subgraphs(g), n_codes, n_buffers):
                return False
        return True
    except Exception:  # a read past the buffer, a bad offset: not a model
        return False


def _subgraph_is_sound(graph, n_codes, n_buffers):
    if graph is None:
        return False
    n_tensors = graph.TensorsLength()
    for t in range(n_tensors):
        tensor = graph.Tensors(t)
        if tensor is None or not 0 <= tensor.Buffer() < n_buffers:
            return False
    if not (_indices_in(graph, "Inputs", n_tensors, optional=False)
            and _indices_in(graph, "Outputs", n_tensors, optional=False)):
        return False
    for k in range(graph.OperatorsLength()):
        op = graph.Operators(k)
        if op is None or not 0 <= op.OpcodeIndex() < n_codes:
            return False
        if not (_indices_in(op, "Inputs", n_tensors, optional=True)
                and _indices_in(op, "Outputs", n_tensors, optional=False)):
            return False
    return True


def _indices_in(table, field, n_tensors, optional):
    """The tensor indices a subgraph or operator holds in `field` lie within the subgraph; -1 marks
    an omitted optional operator input."""
    lowest = -1 if optional else 0
    at = getattr(table, field)
    return all(lowest <= at(i) < n_tensors for i in range(getattr(table, field + "Length")()))
