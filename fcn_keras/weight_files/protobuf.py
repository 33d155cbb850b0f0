"""A minimal reader of the protobuf wire format: enough to walk a `.caffemodel` without Caffe.

Messages are walked field by field; length-delimited fields come back as
`memoryview`s into the file's bytes, so packed float arrays of hundreds of
megabytes become NumPy arrays without a copy.
"""

import numpy as np

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


class WireFormatError(ValueError):
    """The bytes are not a well-formed protobuf message (truncated or not protobuf at all)."""


def read_varint(buffer, position):
    """Decodes the base-128 varint at `position`.

    Args:
        buffer: bytes or memoryview.
        position: index of the varint's first byte.

    Returns:
        `(value, position after it)`.

    Raises:
        WireFormatError: the varint runs past the end or over 10 bytes.

    Example:
        >>> read_varint(b"\\xac\\x02", 0)
        (300, 2)
    """
    value, shift = 0, 0
    while True:
        if position >= len(buffer) or shift > 63:
            raise WireFormatError(f"a varint at byte {position} runs past the end of the message")
        byte = buffer[position]
        value |= (byte & 0x7F) << shift
        position += 1
        shift += 7
        if byte < 0x80:
            return value, position


def fields(buffer):
    """Yields the fields of one message in file order.

    Args:
        buffer: the message's bytes (bytes or memoryview).

    Yields:
        `(field number, wire type, value)`: an int for varints, a memoryview for
        length-delimited, 4- and 8-byte fields.

    Raises:
        WireFormatError: a field is truncated or has an unknown wire type.

    Example:
        >>> list(fields(b"\\x08\\x96\\x01"))
        [(1, 0, 150)]
    """
    view, position = memoryview(buffer), 0
    while position < len(view):
        key, position = read_varint(view, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == VARINT:
            value, position = read_varint(view, position)
        else:
            if wire_type == LENGTH_DELIMITED:
                size, position = read_varint(view, position)
            elif wire_type in (FIXED32, FIXED64):
                size = 4 if wire_type == FIXED32 else 8
            else:
                raise WireFormatError(f"field {number} at byte {position} has the unknown wire type {wire_type}")
            if position + size > len(view):
                raise WireFormatError(f"field {number} at byte {position} needs {size} bytes but the message "
                                      f"ends after {len(view) - position}")
            value, position = view[position:position + size], position + size
        yield number, wire_type, value


def packed_or_repeated(values, dtype):
    """A repeated numeric field as one NumPy array, whether it was written packed or not.

    Args:
        values: the `(wire type, value)` pairs of every occurrence of the field.
        dtype: "<f4" (float), "<f8" (double) or "varint" (int32/int64 written as varints).

    Returns:
        1-D NumPy array.

    Example:
        >>> packed_or_repeated([(2, memoryview(b"\\x00\\x00\\x80\\x3f"))], "<f4")
        array([1.], dtype=float32)
    """
    parts = []
    for wire_type, value in values:
        if dtype == "varint":
            if wire_type == VARINT:
                parts.append(np.array([value], np.int64))
            else:
                numbers, position = [], 0
                while position < len(value):
                    number, position = read_varint(value, position)
                    numbers.append(number)
                parts.append(np.array(numbers, np.int64))
        else:
            if len(value) % np.dtype(dtype).itemsize:
                raise WireFormatError(f"a packed {dtype} field of {len(value)} bytes is not whole numbers")
            parts.append(np.frombuffer(value, dtype))
    return np.concatenate(parts) if parts else np.zeros(0, "int64" if dtype == "varint" else dtype)
