"""Stop and continue: `doveadm migrate stop`, SIGTERM and SIGINT to a running `doveadm migrate`.
Each stop leaves the status "stopped" with the partial counts, and the next run completes the
mailbox with every source message exactly once. A run killed with -9 shows as "interrupted"."""

import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, EX_TEMPFAIL, Rig, corpus, duplicates, expected_messages, migrate, migrate_argv,
    parse_tab, project, proc_comm, read_status, state_files, wait_for, wait_for_exec)

SRC_USER = 'stopsrc'
SRC_PW = 'stopsrc-pw'
FOLDERS = (('INBOX',), ('Work',), ('Archive',))
PER_FOLDER = 100   # 300 messages of ~2 kB; throttled to 20K/s a run would take ~30 s
SLOW_RATE = '20K'


class StopTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-stop')
        cls.rig.__enter__()
        cls.corpus = corpus.simple_corpus(PER_FOLDER, folders=FOLDERS, tag='stop', size=2000)
        cls.rig.add_source_user(SRC_USER, SRC_PW)
        cls.rig.load_source(SRC_USER, cls.corpus)
        for u in ('bystop', 'byterm', 'byint', 'idle', 'killed'):
            cls.rig.add_dest_user(u)
        cls.expected = expected_messages(cls.rig, cls.corpus)

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    def start_slow(self, user):
        argv = migrate_argv(self.rig, user, '--max-rate', SLOW_RATE, password=SRC_PW,
                            source_user=SRC_USER)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        self.assertTrue(wait_for_exec(p.pid), 'pid %d never became doveadm' % p.pid)
        st = wait_for(lambda: (read_status(self.rig, user) or {}).get('state') == 'running'
                      and int(read_status(self.rig, user)['copied']) > 0)
        self.assertTrue(st, 'no running status with copied messages for %s' % user)
        return p

    def status_row(self, user):
        rows = self.rig.doveadm_tab('migrate', 'status', '-u', user)
        self.assertEqual(len(rows), 1, rows)
        return {k.lower(): v for k, v in rows[0].items()}

    def assert_stopped_then_complete(self, user, p):
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, EX_TEMPFAIL, out + err)
        self.assertIn('stopped on request', out + err)
        row = {k.lower(): v for k, v in parse_tab(out)[0].items()}
        self.assertEqual(row['result'], 'partial', out)
        st = read_status(self.rig, user)
        self.assertEqual(st['state'], 'stopped', st)
        copied = int(st['copied'])
        self.assertGreater(copied, 0)
        self.assertLess(copied, len(self.expected), 'the stop came after the end of the run')
        self.assertEqual(copied, int(row['copied']))
        status = self.status_row(user)
        self.assertEqual((status['state'], status['copied']), ('stopped', str(copied)))
        self.assertEqual(st['consecutive_failures'], '0', 'a stop is not a failure')
        partial = self.rig.messages('dst', user)
        self.assertEqual(len(partial), copied)
        self.assertEqual(duplicates(partial, self.expected), {})
        # continue: the next run copies the rest, each message exactly once
        run = migrate(self.rig, user, password=SRC_PW, source_user=SRC_USER)
        self.assertEqual(run.rc, 0, run.describe())
        self.assertEqual(int(run.row['copied']), len(self.expected) - copied, run.describe())
        msgs = self.rig.messages('dst', user)
        self.assertEqual(duplicates(msgs, self.expected), {})
        self.assertEqual(project(msgs, CONTENT_KEYS), self.expected)
        self.assertEqual(self.status_row(user)['state'], 'ok')

    def test_migrate_stop(self):
        p = self.start_slow('bystop')
        r = self.rig.doveadm('-f', 'tab', 'migrate', 'stop', '-u', 'bystop')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        row = {k.lower(): v for k, v in parse_tab(r.stdout)[0].items()}
        self.assertEqual((row['result'], row['pid'], row['state']), ('stopped', str(p.pid), 'stopped'),
                         r.stdout)
        self.assertIsNotNone(p.poll(), 'stop returned while the run was still going')
        self.assert_stopped_then_complete('bystop', p)

    def test_sigterm(self):
        p = self.start_slow('byterm')
        self.assertEqual(proc_comm(p.pid), 'doveadm')
        os.kill(p.pid, signal.SIGTERM)   # the doveadm process this test started
        self.assert_stopped_then_complete('byterm', p)

    def test_sigint(self):
        p = self.start_slow('byint')
        self.assertEqual(proc_comm(p.pid), 'doveadm')
        os.kill(p.pid, signal.SIGINT)    # as Ctrl-C in a terminal
        self.assert_stopped_then_complete('byint', p)

    def test_stop_when_nothing_runs(self):
        r = self.rig.doveadm('-f', 'tab', 'migrate', 'stop', '-u', 'idle')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        row = {k.lower(): v for k, v in parse_tab(r.stdout)[0].items()}
        self.assertEqual((row['result'], row['state']), ('not_running', 'never'), r.stdout)
        self.assertEqual(state_files(self.rig, 'idle'), [])
        self.assertFalse(os.path.exists(os.path.join(self.rig.dst_home('idle'), '.migrate')))

    def test_kill9_shows_interrupted(self):
        p = self.start_slow('killed')
        p.kill()
        p.communicate(timeout=60)
        status = self.status_row('killed')
        self.assertEqual(status['state'], 'interrupted', status)
        self.assertIn('run the migration again', status['error'])
        r = self.rig.doveadm('-f', 'tab', 'migrate', 'stop', '-u', 'killed')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(parse_tab(r.stdout)[0]['result'], 'not_running', r.stdout)
        run = migrate(self.rig, 'killed', password=SRC_PW, source_user=SRC_USER)
        self.assertEqual(run.rc, 0, run.describe())
        msgs = self.rig.messages('dst', 'killed')
        self.assertEqual(duplicates(msgs, self.expected), {})
        self.assertEqual(project(msgs, CONTENT_KEYS), self.expected)


if __name__ == '__main__':
    unittest.main()
