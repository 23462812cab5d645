"""Filters against real Dovecot: --exclude / --include leave folders out, --max-size and
--since / --before leave messages out (not even downloaded), and a later run without the filter
copies exactly what was left out, with no duplicates. Bad values are usage errors naming the
option."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, EX_CONFIG, EX_USAGE, Rig, corpus, duplicates, expected_messages, migrate,
    project, src_snapshot)

DAY = 86400
T2019 = 1552608000   # 2019-03-15
T2021 = 1615766400   # 2021-03-15
T2023 = 1678838400   # 2023-03-15


def big(tag, i, size=120 * 1024, ts=T2021):
    data = corpus.make_message('%s big %d' % (tag, i), ('x' * 76 + '\n') * (size // 77),
                               msgid='%s-big-%d@corpus.migrate.test' % (tag, i), date=ts)
    return corpus.Message(data, (r'\Seen',), ts)


def dated(tag, ts, n=2):
    return corpus.simple_messages(n, '%s-%d' % (tag, ts), start=ts, step=DAY)


def filter_corpus():
    return corpus.Corpus('filters', [
        corpus.Folder(('INBOX',), dated('in', T2019) + dated('in', T2021) + dated('in', T2023) +
                      [big('in', 1), big('in', 2, ts=T2023)]),
        corpus.Folder(('Trash',), dated('trash', T2021), special_use=r'\Trash'),
        corpus.Folder(('Work',), dated('work', T2021, 3) + [big('work', 1, ts=T2019)]),
        corpus.Folder(('Work', 'Old'), dated('old', T2019)),
    ])


class FiltersTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.rig = Rig(name='mig-filters')
        self.rig.__enter__()
        self.addCleanup(self.rig.__exit__, None, None, None)

    def user(self, name, c=None):
        c = c or filter_corpus()
        self.rig.add_source_user(name, name + '-pw')
        self.rig.load_source(name, c)
        self.rig.add_dest_user(name)
        return c

    def run_ok(self, user, *extra):
        run = migrate(self.rig, user, *extra, password=user + '-pw')
        self.assertEqual(run.rc, 0, run.describe() + self.rig.logs_tail())
        self.assertEqual(run.row['result'], 'ok', run.describe())
        return run

    def dest(self, user):
        return project(self.rig.messages('dst', user), CONTENT_KEYS)

    def assert_complete(self, user, c):
        """The destination holds the whole source, each message once."""
        msgs = self.rig.messages('dst', user)
        self.assertEqual(duplicates(msgs, expected_messages(self.rig, c)), {}, 'duplicates')
        self.assertEqual(project(msgs, CONTENT_KEYS), expected_messages(self.rig, c))

    def expected_where(self, c, keep):
        """expected_messages() of the messages for which keep(folder, message) is true."""
        sub = corpus.Corpus('sub', [corpus.Folder(f.name, [m for m in f.messages if keep(f, m)],
                                                  special_use=f.special_use)
                                    for f in c.folders])
        return expected_messages(self.rig, sub)

    def test_exclude_then_without(self):
        c = self.user('erin')
        s0 = src_snapshot(self.rig, 'erin')
        run = self.run_ok('erin', '--exclude', r'\Trash, Work/*')
        expect = self.expected_where(c, lambda f, m: f.name not in (('Trash',), ('Work', 'Old')))
        self.assertEqual(self.dest('erin'), expect)
        self.assertEqual(int(run.row['copied']), len(expect))
        boxes = {b['name'] for b in self.rig.mailboxes('dst', 'erin')}
        self.assertNotIn('Work/Old', boxes)
        # (Trash exists as the destination's configured special-use folder, but stays empty)
        self.assertEqual([m for m in self.rig.messages('dst', 'erin')
                          if m['mailbox'] == 'Trash'], [])

        run = self.run_ok('erin')
        self.assertEqual(int(run.row['copied']), c.total_messages - len(expect))
        self.assert_complete('erin', c)
        self.assertEqual(src_snapshot(self.rig, 'erin'), s0, 'the source changed')

    def test_include_only_named_folders(self):
        c = self.user('ivan')
        self.run_ok('ivan', '-i', 'inbox,Work')
        expect = self.expected_where(c, lambda f, m: f.name in (('INBOX',), ('Work',)))
        self.assertEqual(self.dest('ivan'), expect)
        self.run_ok('ivan')
        self.assert_complete('ivan', c)

    def test_max_size_then_without(self):
        c = self.user('zoe')
        run = self.run_ok('zoe', '--max-size', '50K')
        expect = self.expected_where(c, lambda f, m: len(m.data) <= 50 * 1024)
        self.assertEqual(self.dest('zoe'), expect)
        self.assertEqual(int(run.row['copied']), len(expect))
        self.assertEqual(c.total_messages - len(expect), 3)   # the three big ones

        # The same filter again: nothing new.
        run = self.run_ok('zoe', '-z', '50K')
        self.assertEqual(int(run.row['copied']), 0)

        # Without it: exactly the three, once.
        run = self.run_ok('zoe')
        self.assertEqual(int(run.row['copied']), 3)
        self.assert_complete('zoe', c)
        run = self.run_ok('zoe')
        self.assertEqual(int(run.row['copied']), 0)

    def test_since_before_then_wider(self):
        c = self.user('sam')
        self.run_ok('sam', '--since', '2020-01-01', '--before', '2022-01-01')
        self.assertEqual(self.dest('sam'),
                         self.expected_where(c, lambda f, m: T2021 <= m.internaldate < T2023))
        self.run_ok('sam', '-s', '2020-01-01')
        self.assertEqual(self.dest('sam'),
                         self.expected_where(c, lambda f, m: m.internaldate >= T2021))
        run = self.run_ok('sam')
        self.assertEqual(int(run.row['copied']),
                         len(self.expected_where(c, lambda f, m: m.internaldate < T2021)))
        self.assert_complete('sam', c)

    def test_relative_since(self):
        # Messages 100 and 40 days old, and 10 and 1 days old, in two folders: --since 30d takes
        # the recent ones only (far from the boundary, whichever time of day it is counted from).
        now = int(time.time())
        c = corpus.Corpus('relative', [
            corpus.Folder((name,), [m for age in (100, 40, 10, 1)
                                    for m in dated('%s-%dd' % (name, age), now - age * DAY, 1)])
            for name in ('INBOX', 'Work')])
        self.user('rel', c)
        self.run_ok('rel', '--since', '30d')
        recent = self.expected_where(c, lambda f, m: m.internaldate > now - 30 * DAY)
        self.assertEqual(len(recent), 4)
        self.assertEqual(self.dest('rel'), recent)
        self.run_ok('rel')
        self.assert_complete('rel', c)

    def test_bad_values_name_the_option(self):
        self.user('bad')
        cases = [
            (('--max-size', '10Q'), '--max-size'),
            (('--since', '2023-02-30'), '--since'),
            (('--before', 'yesterday'), '--before'),
            (('--exclude', 'Trash,,Junk'), '--exclude'),
            (('--include', r'\Bin'), '--include'),
            (('--since', '2023-01-01', '--before', '2022-01-01'), '--since'),
            (('--preset', 'a b'), '--preset'),
        ]
        for args, option in cases:
            run = migrate(self.rig, 'bad', *args, password='bad-pw')
            self.assertEqual(run.rc, EX_USAGE, run.describe())
            self.assertIn(option, run.err, run.describe())
        run = migrate(self.rig, 'bad', '--preset', 'yahoo', password='bad-pw')
        self.assertEqual(run.rc, EX_CONFIG, run.describe())
        self.assertIn("unknown preset 'yahoo'", run.text)
        self.assertEqual(self.rig.messages('dst', 'bad'), [])


if __name__ == '__main__':
    unittest.main()
