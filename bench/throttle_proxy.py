#!/usr/bin/python3
"""A user-space TCP proxy on loopback that limits bandwidth, for benchmarks over a "slow link".

Every connection to 127.0.0.1:<port> is forwarded to the target; bytes in each direction pass a
token bucket shared by all connections (like one link of the given capacity, each direction on
its own: full duplex). Threads, no dependencies.

    python3 bench/throttle_proxy.py --target 127.0.0.1:143 --mbit 20 [--listen-port 1143]

or from Python:

    with ThrottleProxy(('127.0.0.1', 143), mbit=20) as p:   # p.port: where to connect
        ...; p.bytes_down  # bytes sent from the target to clients so far
"""

import argparse
import socket
import threading
import time

CHUNK = 16 * 1024


class TokenBucket:
    """rate bytes/s; up to `burst` bytes may pass at once after an idle period."""

    def __init__(self, rate, burst):
        self.rate = float(rate)
        self.burst = float(burst)
        self.tokens = self.burst
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def consume(self, n):
        # Reserve n bytes now (the balance may go negative) and sleep until it is paid off, so
        # concurrent senders queue up fairly and the long-run rate is exact.
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.tokens -= n
            wait = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if wait > 0:
            time.sleep(wait)


class ThrottleProxy:
    def __init__(self, target, mbit, listen=('127.0.0.1', 0)):
        self.target = target
        rate = mbit * 1e6 / 8
        burst = max(CHUNK, rate / 50)   # 20 ms worth
        self.up = TokenBucket(rate, burst)     # client -> target
        self.down = TokenBucket(rate, burst)   # target -> client
        self.bytes_up = 0
        self.bytes_down = 0
        self._count_lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(listen)
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self._threads = []
        self._conns = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self):
        self._stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in list(self._conns):
            try:
                c.close()
            except OSError:
                pass

    def reset_counters(self):
        with self._count_lock:
            self.bytes_up = self.bytes_down = 0

    def _accept_loop(self):
        while not self._stop:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._conns.append(s)
            for src, dst, bucket, attr in ((client, server, self.up, 'bytes_up'),
                                           (server, client, self.down, 'bytes_down')):
                t = threading.Thread(target=self._pump, args=(src, dst, bucket, attr), daemon=True)
                t.start()

    def _pump(self, src, dst, bucket, attr):
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                bucket.consume(len(data))
                dst.sendall(data)
                with self._count_lock:
                    setattr(self, attr, getattr(self, attr) + len(data))
        except OSError:
            pass
        finally:
            for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
                try:
                    s.shutdown(how)
                except OSError:
                    pass
            if src in self._conns:
                self._conns.remove(src)
            try:
                src.close()
            except OSError:
                pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--target', required=True, help='host:port to forward to')
    ap.add_argument('--mbit', type=float, required=True, help='Mbit/s in each direction')
    ap.add_argument('--listen-port', type=int, default=0)
    a = ap.parse_args()
    host, port = a.target.rsplit(':', 1)
    p = ThrottleProxy((host, int(port)), a.mbit, ('127.0.0.1', a.listen_port))
    p.start()
    print('listening on 127.0.0.1:%d -> %s at %g Mbit/s' % (p.port, a.target, a.mbit), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        p.stop()


if __name__ == '__main__':
    main()
