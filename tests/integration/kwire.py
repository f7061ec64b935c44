"""Kafka's wire primitives for the tests that speak the protocol by hand
(flexible versions, KIP-482): unsigned varints and compact strings."""


def uvarint(n):
    """An unsigned varint: 7 bits a byte, low bits first."""
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def read_uvarint(buf, at):
    """The unsigned varint at buf[at:] and the position after it."""
    shift = value = 0
    while True:
        b = buf[at]
        at += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, at
        shift += 7


def compact_string(s):
    """A COMPACT_STRING: its length + 1 as an unsigned varint, then UTF-8."""
    raw = s.encode()
    return uvarint(len(raw) + 1) + raw
