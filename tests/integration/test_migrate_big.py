"""A 25 MB message (edge_corpus('full')) arrives byte-exact, and doveadm's memory stays bounded
(peak RSS of the doveadm process, measured by GNU time, well under the message size x 4)."""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, MigrateRun, Rig, corpus, expected_messages, migrate, migrate_argv, project,
    src_snapshot)

GNU_TIME = '/usr/bin/time'
RSS_LIMIT_KIB = 100 * 1024


class BigMessageTest(unittest.TestCase):
    maxDiff = None

    def test_25mb_message_byte_exact_with_bounded_memory(self):
        c = corpus.edge_corpus('full')
        big = c.folder('Big').messages[0]
        self.assertGreaterEqual(len(big.data), corpus.BIG_SIZE - 1024 * 1024)
        with Rig(name='mig-big') as r:
            r.add_source_user('bigalice', 'bigalice-pw')
            r.load_source('bigalice', c)
            r.add_dest_user('bigalice')
            s0 = src_snapshot(r, 'bigalice')
            argv = migrate_argv(r, 'bigalice', password='bigalice-pw', tls='starttls')
            with tempfile.NamedTemporaryFile('r') as tf:
                if os.path.exists(GNU_TIME):
                    # GNU time forks a small process that execs (unshare -> sh ->) doveadm, so
                    # the peak it reports is doveadm's, not this Python's.
                    argv = [GNU_TIME, '-o', tf.name, '-f', '%M'] + argv
                else:
                    sys.stderr.write('\n(no %s: the memory bound is not checked; tools/'
                                     'install-deps.sh installs GNU time)\n' % GNU_TIME)
                p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                   text=True, timeout=600)
                maxrss = tf.read().split()
            run = MigrateRun(argv, p.returncode, p.stdout, p.stderr, 0, 'tab')
            self.assertEqual(run.rc, 0, run.describe() + r.logs_tail())
            self.assertEqual(run.row['result'], 'ok')
            self.assertEqual(int(run.row['copied']), c.total_messages)
            msgs = r.messages('dst', 'bigalice')
            got = [m for m in msgs if m['mailbox'] == 'Big']
            self.assertEqual(len(got), 1)
            want = [e for e in expected_messages(r, c) if e[0] == 'Big'][0]
            self.assertEqual(tuple(got[0][k] for k in CONTENT_KEYS), want)
            self.assertEqual(project(msgs, CONTENT_KEYS), expected_messages(r, c))
            if maxrss:
                kib = int(maxrss[-1])
                sys.stderr.write('\npeak RSS of doveadm migrate with a 25 MB message: %.1f MiB\n'
                                 % (kib / 1024))
                self.assertLess(kib, RSS_LIMIT_KIB,
                                'doveadm used %.1f MiB for a 25 MB message' % (kib / 1024))
            self.assertEqual(src_snapshot(r, 'bigalice'), s0)
            # and a second run copies nothing
            again = migrate(r, 'bigalice', password='bigalice-pw', tls='starttls')
            self.assertEqual((again.rc, int(again.row['copied'])), (0, 0), again.describe())


if __name__ == '__main__':
    unittest.main()
