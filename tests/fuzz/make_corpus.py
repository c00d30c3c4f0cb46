#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Writes the seed corpora in tests/fuzz/corpus/<target>/ (committed; rerun
# after changing an input format). Each seed is a small well-formed input
# the fuzzer mutates from: a whole negotiation for fuzz_msg, a few chains
# of each shape for the ring targets.
import os, struct
HERE = os.path.dirname(os.path.abspath(__file__))

def out(target, name, data):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)

# ---- fuzz_msg: records [nfds][len LE16][bytes] --------------------------
def msg(req, payload=b'', flags=1, nfds=0):
    m = struct.pack('<III', req, flags, len(payload)) + payload
    return bytes([nfds]) + struct.pack('<H', len(m)) + m

u64 = lambda v: struct.pack('<Q', v)
state = lambda i, n: struct.pack('<II', i, n)
QVA = 0x7f0000000000
F = (1 << 32) | (1 << 15) | (1 << 28) | (1 << 29) | (1 << 30) | (1 << 0) | (1 << 1)
def setup(features=F, ring=64):
    s = msg(1) + msg(2, u64(features)) + msg(15) + msg(16, u64((1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 16))) + msg(3)
    s += msg(5, struct.pack('<II', 1, 0) + struct.pack('<QQQQ', 0, 1 << 20, QVA, 0), nfds=1)
    for q in (0, 1):
        base = 0x10000 * (q + 1)
        s += msg(8, state(q, ring)) + msg(10, state(q, 0))
        s += msg(9, struct.pack('<IIQQQQ', q, 0, QVA + base, QVA + base + 0x4000,
                                QVA + base + 0x8000, base + 0x8000))
        s += msg(12, u64(q | 0x100)) + msg(13, u64(q | 0x100))
        s += msg(18, state(q, 1), flags=9)
    return s

out('fuzz_msg', 'negotiate', setup())
out('fuzz_msg', 'negotiate-packed', setup(F | (1 << 34), 63))
out('fuzz_msg', 'stop-restart', setup() + msg(11, state(1, 0)) + msg(11, state(0, 0)) +
    msg(12, u64(1 | 0x100)) + msg(4))
out('fuzz_msg', 'misc', setup() + msg(19, u64(0x0200000000aa)) + msg(20, u64(1500), flags=9) +
    msg(39, u64(15)) + msg(40) + msg(17) +
    msg(6, struct.pack('<QQ', 4096, 0), nfds=1) + msg(2, u64(F | (1 << 26))) + msg(7, nfds=1))
out('fuzz_msg', 'bad', msg(99, u64(0), flags=9) + msg(8, state(65536, 256), flags=9) +
    msg(5, struct.pack('<II', 9, 0), nfds=3) + msg(1)[:8])

# ---- ring targets: [cfg:4][guest memory from GPA 0] ---------------------
def mem():
    return bytearray(0x5000)

def put(m, gpa, b):
    if len(m) < gpa + len(b):
        m.extend(bytes(gpa + len(b) - len(m)))
    m[gpa:gpa + len(b)] = b

NEXT, WRITE, INDIRECT = 1, 2, 4
def sdesc(m, base, i, addr, ln, flags, nxt):
    put(m, base + 16 * i, struct.pack('<QIHH', addr, ln, flags, nxt))

def frame(n, v):
    return bytes(12) + bytes([v]) * n

def split_seed(cfg, chains):
    m = mem()
    heads = []
    for kind in chains:
        i = len(heads) * 4
        buf = 0x4000 + 0x200 * len(heads)
        if kind == 'one':
            put(m, buf, frame(100, 1)); sdesc(m, 0, i, buf, 112, 0, 0)
        elif kind == 'split':
            put(m, buf, frame(100, 2)); sdesc(m, 0, i, buf, 12, NEXT, i + 1)
            sdesc(m, 0, i + 1, buf + 12, 100, 0, 0)
        elif kind == 'indirect':
            put(m, buf, frame(60, 3)); t = 0x4f00
            sdesc(m, t, 0, buf, 12, NEXT, 1); sdesc(m, t, 1, buf + 12, 60, 0, 0)
            sdesc(m, 0, i, t, 32, INDIRECT, 0)
        elif kind == 'straddle':
            b = 0x8000 - 40
            put(m, b, frame(100, 4)); sdesc(m, 0, i, b, 112, 0, 0)
        heads.append(i)
    # TX avail at 0x1000: flags, idx, ring
    put(m, 0x1000, struct.pack('<HH', 0, len(heads)) + b''.join(struct.pack('<H', h) for h in heads))
    # RX: 8 writable 2 KiB buffers in region 1
    for i in range(8):
        sdesc(m, 0x2000, i, 0x8000 + 0x800 * i, 0x800, WRITE, 0)
    put(m, 0x3000, struct.pack('<HH', 0, 8) + b''.join(struct.pack('<H', i) for i in range(8)))
    return bytes(cfg) + bytes(m)

out('fuzz_split', 'one', split_seed([7, 4, 7, 1], ['one']))
out('fuzz_split', 'shapes', split_seed([7, 5, 7, 2], ['one', 'split', 'indirect', 'straddle']))
out('fuzz_split', 'legacy-nomrg', split_seed([8 | 2, 4, 3, 0], ['split', 'indirect']))
out('fuzz_split', 'log', split_seed([16 | 1 | 2, 4, 7, 1], ['one', 'split']))

A, U = 1 << 7, 1 << 15
def pdesc(m, base, i, addr, ln, bid, flags):
    put(m, base + 16 * i, struct.pack('<QIHH', addr, ln, bid, flags))

def packed_seed(cfg, n):
    m = mem()
    for i in range(n):
        buf = 0x4000 + 0x200 * i
        put(m, buf, frame(80, 5 + i))
        pdesc(m, 0, i, buf, 92, i, A)
    pdesc(m, 0, n, 0x4e00, 12, n, A | NEXT)
    put(m, 0x4e00, frame(40, 9))
    pdesc(m, 0, n + 1, 0x4e00 + 12, 40, n, A)
    for i in range(8):
        pdesc(m, 0x2000, i, 0x8000 + 0x800 * i, 0x800, i, A | WRITE)
    return bytes(cfg) + bytes(m)

out('fuzz_packed', 'simple', packed_seed([7, 15, 7, 1], 3))
out('fuzz_packed', 'ring255', packed_seed([7, 254, 7, 2], 5))
out('fuzz_packed', 'legacy', packed_seed([8 | 2, 7, 3, 0], 2))
