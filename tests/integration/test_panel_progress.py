"""Progress of a running migration through the doveadm HTTP API (issue 14): `migrateStatus`
rows carry the run's plan (total_messages, total_bytes), percent of bytes and of messages, the
transfer rate and the time left, the folder being copied, and the last error's hint, as a
provider's panel polls them every few seconds. The run is made slow with maxRate so that it can
be watched; nothing here depends on how fast the machine is (a poll loop with a generous
deadline, no timing assertions)."""

import json
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import Rig, api_params, corpus  # noqa: E402

SRC_USER = 'progsrc'
SRC_PW = 'progsrc-pw'
# INBOX: 30 messages of ~100 kB (3 MB, about 15 s at 200K); Work: a few small ones.
BIG = corpus.simple_corpus(30, folders=(('INBOX',),), tag='progress-big', size=100000)
SMALL = corpus.simple_corpus(5, folders=(('Work',),), tag='progress-small', size=2000)
RATE = '200K'
PROGRESS_KEYS = ('total_messages', 'total_bytes', 'percent', 'percent_messages',
                 'rate_bytes_per_second', 'eta_seconds', 'hint', 'skipped', 'failed')


class PanelProgressTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-progress')
        cls.rig.__enter__()
        cls.corpus = corpus.Corpus('progress', BIG.folders + SMALL.folders)
        cls.rig.add_source_user(SRC_USER, SRC_PW)
        cls.rig.load_source(SRC_USER, cls.corpus)
        for u in ('watched', 'badpw', 'nevermig'):
            cls.rig.add_dest_user(u)

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    def params(self, user, password, **extra):
        return api_params(self.rig, user, SRC_USER,
                          sourcePasswordFile=self.rig.password_file(password), **extra)

    def status(self, user, tag='s1'):
        request = [['migrateStatus', {'user': user}, tag]]
        resp = self.rig.http_api(request, timeout=60)
        self.assertEqual(resp[0][0], 'doveadmResponse', resp)
        self.assertEqual(len(resp[0][1]), 1, resp)
        self.samples.append((request, resp))
        return resp[0][1][0]

    def save_samples(self, name):
        """MIGRATE_DOC_SAMPLES=DIR: the requests and responses, for the docs."""
        out = os.environ.get('MIGRATE_DOC_SAMPLES')
        if out:
            with open(os.path.join(out, 'progress-%s.json' % name), 'w') as f:
                json.dump(self.samples, f, indent=1)

    def setUp(self):
        self.samples = []

    def test_watch_a_slow_run_until_it_is_done(self):
        done = {}

        def run():
            try:
                done['resp'] = self.rig.http_api(
                    [['migrate', self.params('watched', SRC_PW, maxRate=RATE), 'm1']], timeout=600)
            except Exception as e:  # noqa: BLE001 (reported by the assertions below)
                done['error'] = e

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        running = []
        deadline = time.monotonic() + 300
        while worker.is_alive() and time.monotonic() < deadline:
            row = self.status('watched')
            self.assertEqual(sorted(set(PROGRESS_KEYS) - set(row)), [], row)
            if row['state'] == 'running':
                running.append(row)
            time.sleep(0.5)
        worker.join(timeout=max(1, deadline - time.monotonic()))
        self.assertFalse(worker.is_alive(), 'the migration did not end in time')
        self.assertNotIn('error', done)
        self.assertEqual(done['resp'][0][1][0]['result'], 'ok', done['resp'])

        # While it ran: the plan, a rising percentage between 0 and 100, a rate, the time left,
        # the folder being copied.
        planned = [r for r in running if r['percent'] != '']
        self.assertGreaterEqual(len(planned), 3, running)
        for r in planned:
            self.assertEqual(int(r['total_messages']), self.corpus.total_messages, r)
            self.assertEqual(int(r['total_bytes']), self.corpus.total_vsize, r)
            self.assertTrue(0 <= int(r['percent']) <= 100, r)
            self.assertTrue(0 <= int(r['percent_messages']) <= 100, r)
            if int(r['bytes']) > 0:   # (before the first folder starts, no folder yet)
                self.assertIn(r['folder'], ('INBOX', 'Work'), r)
        percents = [int(r['percent']) for r in planned]
        self.assertEqual(percents, sorted(percents), 'the percentage went down: %s' % percents)
        self.assertGreater(percents[-1], percents[0], 'the percentage never rose: %s' % percents)
        self.assertLess(percents[0], 100)
        with_rate = [r for r in planned if r['rate_bytes_per_second'] not in ('', '0')]
        self.assertTrue(with_rate, 'no rate while running: %s' % planned)
        with_eta = [r for r in with_rate if r['eta_seconds'] != '']
        self.assertTrue(with_eta, 'no ETA while running: %s' % planned)
        for r in with_eta:
            self.assertGreater(int(r['rate_bytes_per_second']), 0)
            self.assertGreaterEqual(int(r['eta_seconds']), 0)
        self.assertTrue(any(int(r['copied']) > 0 for r in planned))

        # At the end: ok, 100 %, everything copied, no time left, the run's average rate.
        row = self.status('watched', 's2')
        self.assertEqual((row['state'], row['percent'], row['percent_messages'], row['eta_seconds']),
                         ('ok', '100', '100', ''), row)
        self.assertEqual(int(row['copied']), self.corpus.total_messages)
        self.assertEqual(int(row['bytes']), self.corpus.total_vsize)
        self.assertEqual(int(row['total_bytes']), self.corpus.total_vsize)
        self.assertGreater(int(row['rate_bytes_per_second']), 0)
        self.assertEqual((row['error'], row['hint']), ('', ''))
        self.save_samples('watch')

        # A second run with nothing new: a plan of nothing, done at once.
        resp = self.rig.http_api([['migrate', self.params('watched', SRC_PW), 'm2']])
        self.assertEqual(int(resp[0][1][0]['copied']), 0, resp)
        row = self.status('watched', 's3')
        self.assertEqual((row['state'], row['percent'], row['total_messages'], row['total_bytes']),
                         ('ok', '100', '0', '0'), row)

    def test_failed_run_shows_its_hint_and_no_progress(self):
        resp = self.rig.http_api([['migrate', self.params('badpw', 'wrong-password'), 'm3']])
        self.assertEqual(resp[0][0], 'error', resp)
        row = self.status('badpw', 's4')
        self.assertEqual(row['state'], 'failed', row)
        self.assertNotEqual(row['hint'], '', row)
        self.assertIn(row['hint'], row['error'])
        self.assertEqual((row['percent'], row['percent_messages'], row['eta_seconds'],
                          row['total_bytes']), ('', '', '', ''), row)
        never = self.status('nevermig', 's5')
        self.assertEqual((never['state'], never['percent'], never['rate_bytes_per_second'],
                          never['eta_seconds']), ('never', '', '', ''), never)
        self.save_samples('failed')


if __name__ == '__main__':
    unittest.main()
