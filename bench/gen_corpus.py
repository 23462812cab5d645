#!/usr/bin/python3
"""The benchmark corpus: deterministic, about 1 GB, written straight into a Maildir.

Default shape (--messages 10000 --size-scale 1):
  - 13 folders (INBOX, Sent, Drafts, Trash, Junk, Archive, Archive/2021..2023, Projects,
    Projects/Alpha, Projects/Beta, Lists/dovecot), weighted like a real mailbox;
  - 90 % text messages of 2-30 KB (log-uniform), 10 % multipart messages with a base64
    attachment of 100 KB - 3 MB (log-uniform), plus two messages of 10-25 MB;
  - flags: ~80 % \\Seen, some \\Answered/\\Flagged/$Forwarded, \\Draft in Drafts,
    \\Deleted in Trash;
  - INTERNALDATEs spread over five years.
--size-scale multiplies every body size (0.1 gives ~100 MB); --messages scales the counts
(the two big messages are always there, scaled by --size-scale).

    python3 bench/gen_corpus.py --out /tmp/bench-maildir [--layout fs] [--messages N]
    (or, from Python: gen_corpus.bench_corpus(...) -> rig.load_source(user, corpus))

Stdlib only. Generation is streamed (one message in memory at a time) and takes a few seconds
per GB plus the disk's write time.
"""

import argparse
import base64
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests',
                                'dovecot'))

from rig import MaildirWriter, vsize_of  # noqa: E402

FOLDERS = [  # (name, weight, flags profile)
    (('INBOX',), 30, 'inbox'),
    (('Sent',), 12, 'sent'),
    (('Drafts',), 1, 'drafts'),
    (('Trash',), 3, 'trash'),
    (('Junk',), 2, 'junk'),
    (('Archive',), 8, 'read'),
    (('Archive', '2021'), 8, 'read'),
    (('Archive', '2022'), 9, 'read'),
    (('Archive', '2023'), 10, 'read'),
    (('Projects',), 3, 'read'),
    (('Projects', 'Alpha'), 4, 'read'),
    (('Projects', 'Beta'), 4, 'read'),
    (('Lists', 'dovecot'), 6, 'list'),
]

WORDS = ('the of and to in is that it for as with was on be by at this from or an are not '
         'mail server imap folder message quota migrate dovecot sync flags keyword mailbox '
         'header body attachment invoice meeting project report schedule review update '
         'please thanks regards tomorrow budget release customer ticket deploy backup').split()

POOL_SIZE = 8 * 1024 * 1024
START = 1546300800   # 2019-01-01
SPAN = 5 * 365 * 86400


class _Folder:
    def __init__(self, name, count, profile, gen, first_index):
        self.name = name
        self.count = count
        self.profile = profile
        self.subscribed = True
        self._gen = gen
        self._first = first_index

    @property
    def messages(self):
        for i in range(self.count):
            yield self._gen.message(self, self._first + i)


class BenchCorpus:
    """Lazy corpus (folders -> generator of messages) accepted by Rig.load_source."""

    def __init__(self, messages=10000, size_scale=1.0, seed=20240601, big=2):
        self.n = int(messages)
        self.scale = float(size_scale)
        self.seed = seed
        self.big = big
        rnd = random.Random(seed)
        self._pool = rnd.randbytes(POOL_SIZE)
        total_w = sum(w for _, w, _ in FOLDERS)
        counts = [max(1, round(self.n * w / total_w)) for _, w, _ in FOLDERS]
        counts[0] += self.n - sum(counts)          # INBOX absorbs rounding
        self.folders = []
        first = 0
        for (name, _, profile), c in zip(FOLDERS, counts):
            self.folders.append(_Folder(name, c, profile, self, first))
            first += c
        # Which global indexes carry attachments (10 %) and which are the big ones: fixed by
        # the seed, independent of generation order.
        pick = random.Random(seed + 1)
        idx = list(range(self.n))
        pick.shuffle(idx)
        self.big_idx = set(idx[:big])
        self.attach_idx = set(idx[big:big + max(0, self.n // 10 - big)])

    @property
    def total_messages(self):
        return self.n

    def _rnd(self, i):
        return random.Random((self.seed << 24) ^ i)

    def _text(self, rnd, size):
        out, n = [], 0
        while n < size:
            line = ' '.join(rnd.choice(WORDS) for _ in range(12))
            out.append(line)
            n += len(line) + 2
        return '\r\n'.join(out).encode() + b'\r\n'

    def _payload(self, rnd, size):
        off = rnd.randrange(0, POOL_SIZE)
        chunks, need = [], size
        while need > 0:
            take = min(need, POOL_SIZE - off)
            chunks.append(self._pool[off:off + take])
            need -= take
            off = 0
        return b''.join(chunks)

    def message(self, folder, i):
        rnd = self._rnd(i)
        ts = START + (i * SPAN) // max(1, self.n) + rnd.randrange(0, 3600)
        flags = self._flags(folder.profile, rnd)
        date = time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(ts))
        msgid = 'bench-%d-%d@bench.migrate.test' % (self.seed, i)
        me = 'Bench User <bench@example.org>'
        peer = 'Peer %d <peer%d@example.net>' % (i % 97, i % 97)
        frm, to = (me, peer) if folder.profile == 'sent' else (peer, me)
        head = ('From: %s\r\nTo: %s\r\nSubject: Bench message %d about %s\r\nDate: %s\r\n'
                'Message-ID: <%s>\r\nMIME-Version: 1.0\r\n' % (
                    frm, to, i, rnd.choice(WORDS), date, msgid)).encode()
        if i in self.big_idx or i in self.attach_idx:
            if i in self.big_idx:
                size = int(rnd.uniform(10, 25) * 1024 * 1024 * self.scale)
            else:
                size = int(math.exp(rnd.uniform(math.log(100 * 1024), math.log(3 * 1024 * 1024)))
                           * self.scale)
            raw = self._payload(rnd, max(1, size * 57 // 78))   # base64 grows 57 -> 78 bytes
            boundary = b'=_bench_%d' % i
            data = (head + b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
                    b'--' + boundary + b'\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n'
                    + self._text(rnd, 400) +
                    b'--' + boundary + b'\r\nContent-Type: application/octet-stream\r\n'
                    b'Content-Transfer-Encoding: base64\r\n'
                    b'Content-Disposition: attachment; filename="file%d.bin"\r\n\r\n' % i
                    + base64.encodebytes(raw).replace(b'\n', b'\r\n')
                    + b'--' + boundary + b'--\r\n')
        else:
            size = int(math.exp(rnd.uniform(math.log(2048), math.log(30 * 1024))) * self.scale)
            data = (head + b'Content-Type: text/plain; charset=us-ascii\r\n\r\n'
                    + self._text(rnd, max(100, size)))
        return _Msg(data, flags, ts)

    @staticmethod
    def _flags(profile, rnd):
        f = []
        r = rnd.random()
        if profile == 'drafts':
            return (r'\Draft',) + ((r'\Seen',) if r < 0.5 else ())
        if profile == 'trash':
            return (r'\Seen', r'\Deleted') if r < 0.3 else (r'\Seen',)
        if profile == 'junk':
            return ('$Junk',) if r < 0.8 else ('$Junk', r'\Seen')
        if profile in ('sent', 'read') or r < 0.8:
            f.append(r'\Seen')
        r2 = rnd.random()
        if r2 < 0.10:
            f.append(r'\Answered')
        elif r2 < 0.13:
            f.append('$Forwarded')
        if rnd.random() < 0.05:
            f.append(r'\Flagged')
        if profile == 'list' and rnd.random() < 0.3:
            f.append('list-dovecot')
        return tuple(sorted(f))


class _Msg:
    __slots__ = ('data', 'flags', 'internaldate')

    def __init__(self, data, flags, internaldate):
        self.data = data
        self.flags = flags
        self.internaldate = internaldate


def bench_corpus(messages=10000, size_scale=1.0, seed=20240601):
    return BenchCorpus(messages, size_scale, seed)


def summarize(corpus):
    """Walk the corpus once (without writing) and return {messages, bytes, vsize, largest}."""
    n = b = v = big = 0
    for f in corpus.folders:
        for m in f.messages:
            n += 1
            b += len(m.data)
            v += vsize_of(m.data)
            big = max(big, len(m.data))
    return {'messages': n, 'bytes': b, 'vsize': v, 'largest': big}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', required=True, help='Maildir to create (the user\'s ~/Maildir)')
    ap.add_argument('--layout', choices=('fs', 'maildir++'), default='fs')
    ap.add_argument('--messages', type=int, default=10000)
    ap.add_argument('--size-scale', type=float, default=1.0)
    ap.add_argument('--seed', type=int, default=20240601)
    ap.add_argument('--owner', default='20001:20001',
                    help="uid:gid of the files (default the rig's mail uid), or 'none'")
    a = ap.parse_args()
    owner = None if a.owner == 'none' else tuple(int(x) for x in a.owner.split(':'))
    c = bench_corpus(a.messages, a.size_scale, a.seed)
    st = MaildirWriter(a.out, a.layout, '/', owner=owner).write(c)
    print('%d messages, %.1f MB in %d folders written to %s in %.1f s' % (
        st['messages'], st['bytes'] / 1e6, len(c.folders), a.out, st['seconds']))


if __name__ == '__main__':
    main()
