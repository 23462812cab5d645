"""COMPRESS=DEFLATE and the wire trace end to end: a source Dovecot offering it, migrated with
compression on (the default) and off (--no-compress), both byte-identical to the source; the
--rawlog trace shows the plain protocol (COMPRESS, FETCH bodies) but never the password."""

import glob
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, Rig, corpus, expected_messages, migrate, project, src_snapshot)
from rig import MAIL_UID, MAIL_GID  # noqa: E402

PASSWORD = 'Zl1b-Distinctive-Passw0rd!'


def read_all(paths):
    data = b''
    for p in sorted(paths):
        with open(p, 'rb') as f:
            data += f.read()
    return data


class CompressTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.rig = Rig(name='mig-zlib', src_compress=True)
        self.rig.__enter__()
        self.addCleanup(self.rig.__exit__, None, None, None)

    def trace_dir(self, name):
        d = os.path.join(self.rig.dir, name)
        os.mkdir(d, 0o700)
        os.chown(d, MAIL_UID, MAIL_GID)  # the run writes it as the mail user
        return d

    def test_compressed_and_plain_runs_are_identical_and_the_trace_has_no_password(self):
        r = self.rig
        c = corpus.edge_corpus('small')
        for user in ('zalice', 'zbob'):
            r.add_source_user(user, PASSWORD)
            r.load_source(user, c)
            r.add_dest_user(user)
        s0 = src_snapshot(r, 'zalice')
        traces = self.trace_dir('rawlog')

        run = migrate(r, 'zalice', '--rawlog', traces, password=PASSWORD, verbose=True)
        self.assertEqual((run.rc, run.row.get('result')), (0, 'ok'), run.describe() + r.logs_tail(60))
        self.assertIn('COMPRESS=DEFLATE active', run.text)
        want = expected_messages(r, c)
        self.assertEqual(project(r.messages('dst', 'zalice'), CONTENT_KEYS), want)

        plain = migrate(r, 'zbob', '--no-compress', '-L', traces, password=PASSWORD, verbose=True)
        self.assertEqual((plain.rc, plain.row.get('result')), (0, 'ok'), plain.describe())
        self.assertNotIn('COMPRESS=DEFLATE active', plain.text)
        self.assertEqual(project(r.messages('dst', 'zbob'), CONTENT_KEYS), want)
        self.assertEqual(src_snapshot(r, 'zalice'), s0)

        outs = glob.glob(os.path.join(traces, '*.out'))
        ins = glob.glob(os.path.join(traces, '*.in'))
        self.assertGreaterEqual(len(outs), 2)
        self.assertEqual(len(outs), len(ins))
        for p in outs + ins:
            st = os.stat(p)
            self.assertEqual(st.st_mode & 0o777, 0o600, p)
            self.assertEqual(st.st_uid, MAIL_UID, p)
        out = read_all(outs)
        inn = read_all(ins)
        self.assertIn(b' COMPRESS DEFLATE\r\n', out)
        self.assertIn(b'UID FETCH', out)
        self.assertIn(b'<redacted ', out)
        self.assertNotIn(PASSWORD.encode(), out + inn)
        # Dovecot announces the capability, and the trace of the compressed run shows readable
        # message bodies: it is taken above the deflate layer.
        self.assertIn(b'COMPRESS=DEFLATE', inn)
        self.assertIn(b'Message-ID:', inn)
        # exactly one of the two connections compressed
        compress_runs = [p for p in outs if b'COMPRESS DEFLATE' in read_all([p])]
        self.assertEqual(len(compress_runs), 1, outs)

        # a second compressed run finds nothing new
        again = migrate(r, 'zalice', password=PASSWORD)
        self.assertEqual((again.rc, int(again.row['copied'])), (0, 0), again.describe())

    def test_missing_rawlog_directory_is_a_usage_error(self):
        r = self.rig
        r.add_source_user('zcarol', PASSWORD)
        r.add_dest_user('zcarol')
        missing = os.path.join(r.dir, 'no-such-dir')
        run = migrate(r, 'zcarol', '--rawlog', missing, password=PASSWORD)
        self.assertNotEqual(run.rc, 0, run.describe())
        self.assertIn('no-such-dir', run.text)
        self.assertFalse(os.path.exists(missing))


if __name__ == '__main__':
    unittest.main()
