"""Quota: a storage quota too small for the source stops before copying anything (exit 73,
"insufficient space ..."); a message-count quota that bites while saving keeps what fitted and
stops (exit 73); after the quota is raised the same command completes without duplicates."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, EX_CANTCREAT, Rig, corpus, duplicates, expected_messages, migrate,
    project, src_snapshot)
from rig import quota_fields  # noqa: E402


class QuotaTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.rig = Rig(name='mig-quota')
        self.rig.__enter__()
        self.addCleanup(self.rig.__exit__, None, None, None)

    def assert_no_duplicates(self, msgs, expected):
        self.assertEqual(duplicates(msgs, expected), {}, 'duplicates')

    def test_storage_quota_too_small_then_raised(self):
        r = self.rig
        c = corpus.edge_corpus('small')
        c.folders.append(corpus.Folder(('Reports',), corpus.simple_messages(60, 'reports',
                                                                              size=2000)))
        self.assertGreater(c.total_vsize, 200 * 1024)
        r.add_source_user('quinn', 'quinn-pw')
        r.load_source('quinn', c)
        r.add_dest_user('quinn', quota='100K')
        s0 = src_snapshot(r, 'quinn')

        run = migrate(r, 'quinn', password='quinn-pw')
        self.assertEqual(run.rc, EX_CANTCREAT, run.describe())
        self.assertEqual(run.row['result'], 'failed', run.describe())
        self.assertEqual(int(run.row['copied']), 0)
        for where in (run.row['error'], run.err):
            self.assertRegex(where, r'insufficient space for quinn: needs [\d.]+ ?\w+, '
                                    r'[\d.]+ ?\w+ free of 100(\.0)? KiB quota', run.describe())
        # a hint how to go on, in this Dovecot's terms (userdb quota_rule or quota_storage_size)
        hint_field = next(iter(quota_fields(storage='1M')))
        self.assertIn('userdb %s=' % hint_field, run.row['error'].split('(', 1)[-1])
        self.assertEqual(r.messages('dst', 'quinn'), [], 'something was copied')
        self.assertEqual(r.quota('quinn')['STORAGE']['value'], 0)

        r.add_dest_user('quinn', quota='10M')
        run2 = migrate(r, 'quinn', password='quinn-pw')
        self.assertEqual(run2.rc, 0, run2.describe() + r.logs_tail())
        self.assertEqual(run2.row['result'], 'ok')
        self.assertEqual(int(run2.row['copied']), c.total_messages)
        msgs = r.messages('dst', 'quinn')
        self.assert_no_duplicates(msgs, expected_messages(r, c))
        self.assertEqual(project(msgs, CONTENT_KEYS), expected_messages(r, c))
        self.assertEqual(src_snapshot(r, 'quinn'), s0)

    def test_message_count_quota_bites_while_saving(self):
        r = self.rig
        c = corpus.Corpus('count', [
            corpus.Folder(('INBOX',), corpus.simple_messages(20, 'count-inbox')),
            corpus.Folder(('Work',), corpus.simple_messages(10, 'count-work')),
        ])
        r.add_source_user('mona', 'mona-pw')
        r.load_source('mona', c)
        r.add_dest_user('mona', extra=quota_fields(messages=10))
        user = r.doveadm('user', 'mona', check=True).stdout
        for k, v in quota_fields(messages=10).items():
            self.assertIn('%s\t%s' % (k, v), user)

        # The pre-check counts messages too: refused before anything is copied.
        pre = migrate(r, 'mona', password='mona-pw')
        self.assertEqual(pre.rc, EX_CANTCREAT, pre.describe())
        self.assertEqual(pre.row['result'], 'failed', pre.describe())
        self.assertIn('insufficient space for mona: needs 30 messages, 10 free of a 10-message quota',
                      pre.row['error'])
        self.assertIn('userdb %s=' % next(iter(quota_fields(messages=1))), pre.row['error'])
        self.assertEqual(r.messages('dst', 'mona'), [])

        # --no-quota-check copies until the quota is full, then stops cleanly.
        run = migrate(r, 'mona', '--no-quota-check', password='mona-pw')
        self.assertEqual(run.rc, EX_CANTCREAT, run.describe())
        self.assertEqual(run.row['result'], 'partial', run.describe())
        self.assertIn('the message quota is full (10 of 10 messages)', run.row['error'])
        self.assertIn('insufficient space for mona', run.row['error'])
        self.assertIn('insufficient space for mona', run.err)
        self.assertIn('run the same command again', run.row['error'])
        msgs = r.messages('dst', 'mona')
        # the first ten INBOX messages (by source UID) are kept, and the report says so
        self.assertEqual(len(msgs), 10, [m['message_id'] for m in msgs])
        self.assertEqual(int(run.row['copied']), 10)
        self.assertEqual(sorted(m['message_id'] for m in msgs),
                         sorted('<count-inbox-%d@corpus.migrate.test>' % i for i in range(10)))
        self.assertEqual(r.quota('mona')['MESSAGE']['value'], 10)
        self.assertRegex(run.row['error'], r"stopped in folder 'INBOX' after copying 10 messages")

        r.add_dest_user('mona', extra=quota_fields(messages=100))
        run2 = migrate(r, 'mona', password='mona-pw')
        self.assertEqual(run2.rc, 0, run2.describe() + r.logs_tail())
        self.assertEqual(int(run2.row['copied']), 20, run2.describe())
        msgs = r.messages('dst', 'mona')
        self.assert_no_duplicates(msgs, expected_messages(r, c))
        self.assertEqual(project(msgs, CONTENT_KEYS), expected_messages(r, c))
        self.assertEqual(r.quota('mona')['MESSAGE']['value'], 30)

    def test_dry_run_shows_quota(self):
        """The plan reports the free quota in bytes and does not copy."""
        r = self.rig
        c = corpus.simple_corpus(20, tag='dry', size=2000)
        r.add_source_user('dora', 'dora-pw')
        r.load_source('dora', c)
        r.add_dest_user('dora', quota='1M')
        run = migrate(r, 'dora', '--dry-run', password='dora-pw')
        self.assertEqual(run.rc, 0, run.describe())
        self.assertEqual(int(run.row['quota_free']), 1024 * 1024, run.describe())
        self.assertEqual(int(run.row['pending']), 20)
        self.assertEqual(int(run.row['source_bytes']), c.total_vsize)
        self.assertEqual(r.messages('dst', 'dora'), [])
        self.assertTrue(re.search(r'fits', run.err), run.describe())


if __name__ == '__main__':
    unittest.main()
