# SPDX-License-Identifier: BSD-3-Clause
# A network namespace's side of a guest's vhu.mode=tcp vhu.role=both
# (tests/lib/guest.sh): receive one file on PORT and send one of SIZE random
# bytes to PEER:PORT, at once; LIMIT_S bounds every wait.
#   python3 nstcp.py PEER PORT SIZE LIMIT_S
# Prints "ns listening", "ns file size=N md5=M", "ns recv size=N md5=M",
# "ns sent secs=S tries=N" (or "ns ... error ..."), and "ns done" at the end.
import hashlib, os, socket, sys, threading, time
peer, port, size, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
def out(s): print(s, flush=True)
def recv(ls):
    try:
        c, _ = ls.accept()
        c.settimeout(limit)
        h, n = hashlib.md5(), 0
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            h.update(b); n += len(b)
        c.close()
        out(f"ns recv size={n} md5={h.hexdigest()}")
    except OSError as e:
        out(f"ns recv error {e}")
def send():
    data = os.urandom(size)
    out(f"ns file size={size} md5={hashlib.md5(data).hexdigest()}")
    end, tries = time.time() + limit, 0
    while True:
        tries += 1
        try:
            c = socket.create_connection((peer, port), timeout=5)
            break
        except OSError as e:
            if time.time() > end:
                out(f"ns send error {e} after {tries} tries"); return
            time.sleep(1)
    try:
        c.settimeout(limit); t0 = time.time()
        c.sendall(data); c.shutdown(socket.SHUT_WR)
        while c.recv(1 << 16):
            pass
        c.close()
        out(f"ns sent secs={time.time() - t0:.2f} tries={tries}")
    except OSError as e:
        out(f"ns send error {e}")
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("", port)); ls.listen(1); ls.settimeout(limit)
out("ns listening")
t = [threading.Thread(target=recv, args=(ls,)), threading.Thread(target=send)]
for x in t: x.start()
for x in t: x.join()
out("ns done")
