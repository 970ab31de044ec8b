"""Decoder for HdrHistogram's base64 V2 compressed encoding ("HISTFAA..."), standard
library only, so the tests can check what `histograms` in the summary JSON holds.

Layout (big-endian): compressed cookie 0x1c849304|0x10 (base 0x1c849304), int32 length,
zlib data -> cookie 0x1c849303|0x10, int32 payload length, int32 normalizing index
offset, int32 significant figures, int64 lowest, int64 highest, float64 conversion
ratio, then the counts as ZigZag LEB128 varints (at most 9 bytes; a negative value is a
run of that many zero counts).
"""

import base64
import math
import struct
import zlib

COMPRESSED_COOKIE_BASE = 0x1C849304
ENCODING_COOKIE_BASE = 0x1C849303


class Histogram:
    def __init__(self, lowest, highest, sigfigs, counts):
        self.lowest = lowest
        self.highest = highest
        self.sigfigs = sigfigs
        self.counts = counts                       # {index: count}, non-zero only
        largest_single = 2 * 10 ** sigfigs
        self.unit_magnitude = int(math.floor(math.log2(lowest))) if lowest > 0 else 0
        sub_bucket_count_magnitude = int(math.ceil(math.log2(largest_single)))
        self.sub_bucket_half_count_magnitude = max(sub_bucket_count_magnitude, 1) - 1
        self.sub_bucket_half_count = 1 << self.sub_bucket_half_count_magnitude

    @property
    def total_count(self):
        return sum(self.counts.values())

    def _bucket_of(self, index):
        bucket = (index >> self.sub_bucket_half_count_magnitude) - 1
        sub = (index & (self.sub_bucket_half_count - 1)) + self.sub_bucket_half_count
        if bucket < 0:
            sub -= self.sub_bucket_half_count
            bucket = 0
        return bucket, sub

    def value_low(self, index):
        bucket, sub = self._bucket_of(index)
        return sub << (bucket + self.unit_magnitude)

    def value_high(self, index):
        bucket, _ = self._bucket_of(index)
        return self.value_low(index) + (1 << (bucket + self.unit_magnitude)) - 1

    def min_range(self):
        i = min(self.counts)
        return self.value_low(i), self.value_high(i)

    def max_range(self):
        i = max(self.counts)
        return self.value_low(i), self.value_high(i)


def _varint(buf, pos):
    value = 0
    for n in range(9):
        b = buf[pos]
        pos += 1
        if n < 8:
            value |= (b & 0x7F) << (7 * n)
            if not b & 0x80:
                break
        else:
            value |= b << 56
    return (value >> 1) ^ -(value & 1), pos


def decode(text):
    """Decode a base64 V2 compressed histogram. Raises ValueError when malformed."""
    raw = base64.b64decode(text, validate=True)
    if len(raw) < 8:
        raise ValueError("too short")
    cookie, length = struct.unpack(">iI", raw[:8])
    if cookie & ~0xF0 != COMPRESSED_COOKIE_BASE:
        raise ValueError(f"bad compressed cookie {cookie:#x}")
    if length != len(raw) - 8:
        raise ValueError(f"compressed length {length} != {len(raw) - 8}")
    data = zlib.decompress(raw[8:])
    if len(data) < 40:
        raise ValueError("payload header too short")
    cookie, plen, norm, sigfigs, lowest, highest, _ratio = struct.unpack(">iiiiqqd", data[:40])
    if cookie & ~0xF0 != ENCODING_COOKIE_BASE:
        raise ValueError(f"bad encoding cookie {cookie:#x}")
    if plen != len(data) - 40:
        raise ValueError(f"payload length {plen} != {len(data) - 40}")
    if norm != 0:
        raise ValueError("normalizing index offset not supported")
    counts = {}
    pos, index, end = 40, 0, len(data)
    while pos < end:
        v, pos = _varint(data, pos)
        if v < 0:
            index += -v
        else:
            if v:
                counts[index] = v
            index += 1
    return Histogram(lowest, highest, sigfigs, counts)
