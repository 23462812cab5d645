"""NUL bytes end to end: a source Dovecot sends 0x80 for each NUL in BODY[]; where the message
has no part BINARY[] would decode, the migration fetches it again with BINARY[] and stores the
exact bytes (the destination's maildir file equals the source's). A multipart with a base64
part is not fetched with BINARY[] (Dovecot would decode it) and is stored as BODY[] sent it."""

import glob
import imaplib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import LOCALHOST, Rig, corpus, migrate  # noqa: E402
from rig import MAIL_UID, MAIL_GID  # noqa: E402

PASSWORD = 'nulpw'


def lf_message(subject, body, msgid):
    # Stored with LF line ends, as Dovecot's maildir stores what it saves: the files compare.
    return corpus.make_message(subject, body, msgid=msgid).replace(b'\r\n', b'\n')


NORMAL = lf_message('plain', 'Nothing special here.\n', 'plain@nul.test')
SINGLE_8BIT = (b'From: Alice <alice@example.org>\nSubject: nul in 8bit\n'
               b'Message-ID: <nul-8bit@nul.test>\nMIME-Version: 1.0\n'
               b'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
               b'before\x00after, and a real 0x80: \xd1\x80\xd1\x83\n\x00\n')
NO_MIME = (b'From: Bob <bob@example.org>\nSubject: nul, no MIME headers\n'
           b'Message-ID: <nul-plain@nul.test>\n\nx\x00y\x00\x00z\n')
MULTIPART = (b'From: Carol <carol@example.org>\nSubject: nul next to base64\n'
             b'Message-ID: <nul-multi@nul.test>\nMIME-Version: 1.0\n'
             b'Content-Type: multipart/mixed; boundary="b1"\n\n'
             b'--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
             b'text with a nul: \x00 here\n'
             b'--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n'
             b'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n'
             b'--b1--\n')


def maildir_files(maildir):
    out = []
    for p in glob.glob(os.path.join(maildir, 'cur', '*')) + glob.glob(os.path.join(maildir, 'new', '*')):
        with open(p, 'rb') as f:
            out.append(f.read())
    return sorted(out)


class BinaryFetchTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.rig = Rig(name='mig-binary')
        self.rig.__enter__()
        self.addCleanup(self.rig.__exit__, None, None, None)

    def test_nul_bytes_arrive_exactly_where_binary_proves_them(self):
        r = self.rig
        # The last one holds 0x80 bytes in UTF-8 characters only: no NUL, no second fetch.
        msgs = [NORMAL, SINGLE_8BIT, MULTIPART, NO_MIME,
                lf_message('after', 'Last one: \u0440\u2013\u3002\n', 'after@nul.test')]
        c = corpus.Corpus('nul', [corpus.Folder(('INBOX',), [corpus.Message(m) for m in msgs])])
        r.add_source_user('nul', PASSWORD)
        r.load_source('nul', c)
        r.add_dest_user('nul')
        src = maildir_files(r.src_maildir('nul'))
        self.assertEqual(len(src), 5)
        self.assertIn(b'\xd1\x80\xe2\x80\x93\xe3\x80\x82', b''.join(src))
        self.assertIn(SINGLE_8BIT, src)   # the rig stores the bytes as given (LF, NULs)

        traces = os.path.join(r.dir, 'rawlog')
        os.mkdir(traces, 0o700)
        os.chown(traces, MAIL_UID, MAIL_GID)
        run = migrate(r, 'nul', '--rawlog', traces, password=PASSWORD)
        self.assertEqual((run.rc, run.row.get('result')), (0, 'ok'), run.describe() + r.logs_tail(60))
        self.assertEqual(run.row.get('copied'), '5', run.describe())

        # The stored files: the source's, except the multipart, whose NUL the source cannot
        # send (BINARY[] would decode its base64 part): it keeps Dovecot's 0x80.
        want = sorted(m.replace(b'\x00', b'\x80') if m == MULTIPART else m for m in src)
        got = maildir_files(os.path.join(r.dst_home('nul'), 'Maildir'))
        self.assertEqual(len(got), 5)
        for m in (SINGLE_8BIT, NO_MIME):
            self.assertIn(m, got, 'a message with NUL bytes is not stored exactly')
        self.assertEqual(got, want)

        # BINARY[] was asked for the two unencoded messages with NULs only (UIDs 2 and 4); saved
        # after UID 5, they got new UIDs, the others kept theirs.
        self.assertEqual([m['uid'] for m in r.messages('dst', 'nul', content=False)], [1, 3, 5, 6, 7])
        sent = b''
        for p in glob.glob(os.path.join(traces, '*.out')):
            with open(p, 'rb') as f:
                sent += f.read()
        binary_cmds = [l for l in sent.split(b'\r\n') if b'BINARY.PEEK[]' in l]
        self.assertEqual(len(binary_cmds), 1, binary_cmds)
        self.assertIn(b'UID FETCH 2,4 (', binary_cmds[0])
        received = b''
        for p in glob.glob(os.path.join(traces, '*.in')):
            with open(p, 'rb') as f:
                received += f.read()
        self.assertIn(b'BINARY[] ~{', received)   # the NULs came in a literal8

        # Why the multipart must not come from BINARY[]: the source decodes its base64 part
        # (a different size), while the unencoded message comes back exactly.
        imap = imaplib.IMAP4(LOCALHOST, r.src_imap_port)
        try:
            imap.login('nul', PASSWORD)
            imap.select('INBOX', readonly=True)
            for uid, raw, same in (b'3', MULTIPART, False), (b'2', SINGLE_8BIT, True):
                typ, data = imap.uid('FETCH', uid, '(BINARY.PEEK[])')
                self.assertEqual(typ, 'OK', data)
                binary = data[0][1]
                self.assertEqual(binary == raw.replace(b'\n', b'\r\n'), same, binary)
                if not same:
                    self.assertIn(bytes(range(32)), binary)   # the base64 part, decoded
        finally:
            imap.logout()

        # A second run has nothing to do.
        again = migrate(r, 'nul', password=PASSWORD)
        self.assertEqual((again.rc, again.row.get('copied')), (0, '0'), again.describe())
        self.assertEqual(maildir_files(os.path.join(r.dst_home('nul'), 'Maildir')), want)


if __name__ == '__main__':
    unittest.main()
