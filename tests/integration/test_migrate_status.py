"""The run status of `doveadm migrate` (dovecot-migrate.status) and `doveadm migrate status`:
what an admin (or the first-login plugin) reads to know whether a user's migration is running,
finished, or keeps failing, and why."""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, EX_NOPERM, EX_TEMPFAIL, REPORT_KEYS, Rig, corpus, duplicates, expected_messages,
    migrate, migrate_argv, parse_tab, project, read_status, wait_for, wait_for_exec)

SRC_USER = 'statsrc'
SRC_PW = 'statsrc-pw'
FOLDERS = (('INBOX',), ('Work',), ('Archive',))
PER_FOLDER = 100   # 300 messages of ~2 kB; with --max-rate 20K a run takes ~30 s
SLOW_RATE = '20K'
STATUS_KEYS = ('username', 'state', 'trigger', 'started', 'finished', 'next_run', 'folder',
               'folders_done', 'folders_total', 'copied', 'skipped', 'failed', 'bytes', 'pending',
               'total_messages', 'total_bytes', 'percent', 'percent_messages',
               'rate_bytes_per_second', 'eta_seconds', 'consecutive_failures', 'source',
               'verify', 'verified', 'hint', 'error')


class RunStatusTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-status')
        cls.rig.__enter__()
        cls.corpus = corpus.simple_corpus(PER_FOLDER, folders=FOLDERS, tag='status', size=2000)
        cls.rig.add_source_user(SRC_USER, SRC_PW)
        cls.rig.load_source(SRC_USER, cls.corpus)
        for u in ('okuser', 'dryuser', 'badpw', 'trig', 'busy', 'busy2', 'never', 'cols'):
            cls.rig.add_dest_user(u)

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    def start_slow(self, user, rate=SLOW_RATE):
        argv = migrate_argv(self.rig, user, '--max-rate', rate, password=SRC_PW,
                            source_user=SRC_USER)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        self.assertTrue(wait_for_exec(p.pid), 'pid %d never became doveadm' % p.pid)
        return p

    def test_ok_run_writes_final_status(self):
        before = int(time.time())
        run = migrate(self.rig, 'okuser', password=SRC_PW, source_user=SRC_USER)
        self.assertEqual(run.rc, 0, run.describe())
        st = read_status(self.rig, 'okuser')
        self.assertIsNotNone(st, 'no status file after a run')
        self.assertEqual(st['state'], 'ok')
        self.assertEqual(st['trigger'], 'doveadm')
        self.assertEqual(int(st['copied']), self.corpus.total_messages)
        self.assertEqual(int(st['folders_done']), len(FOLDERS))
        self.assertEqual(int(st['folders_total']), len(FOLDERS))
        self.assertGreater(int(st['bytes']), 0)
        self.assertGreaterEqual(int(st['started']), before)
        self.assertGreaterEqual(int(st['finished']), int(st['started']))
        self.assertIn('127.0.0.1', st['source'])
        self.assertEqual(st['error'], '')
        self.assertEqual(st['consecutive_failures'], '0')

    def test_report_columns_for_filters(self):
        """reconnects, waited, skip_reasons and excluded_folders, in JSON and in the table."""
        run = migrate(self.rig, 'cols', '--exclude', 'Archive', '--max-size', '1K', password=SRC_PW,
                      source_user=SRC_USER, fmt='json')
        self.assertEqual(run.rc, 0, run.describe())
        row = run.row
        self.assertEqual(sorted(row), sorted(REPORT_KEYS), run.out)
        self.assertEqual(int(row['copied']), 0)
        reasons = dict(kv.split('=') for kv in row['skip_reasons'].split())
        self.assertEqual(reasons.get('too_large'), str(2 * PER_FOLDER), row)
        self.assertNotIn('present', reasons)
        self.assertEqual(int(row['excluded_folders']), 1)
        self.assertEqual(int(row['reconnects']), 0)
        self.assertEqual(float(row['waited']), 0.0)
        # the same run again without the filters copies what they left out; nothing to report
        run = migrate(self.rig, 'cols', password=SRC_PW, source_user=SRC_USER)
        self.assertEqual(run.rc, 0, run.describe())
        self.assertEqual(int(run.row['copied']), self.corpus.total_messages)
        self.assertEqual((run.row['skip_reasons'], run.row['excluded_folders']), ('', '0'))

    def test_status_command(self):
        """`doveadm migrate status`: a never-migrated user (nothing created in the home), a
        finished run in JSON, and -A listing every user."""
        home = self.rig.dst_home('never')
        before = sorted(os.listdir(home)) if os.path.isdir(home) else None
        r = self.rig.doveadm('-f', 'tab', 'migrate', 'status', '-u', 'never')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        row = {k.lower(): v for k, v in parse_tab(r.stdout)[0].items()}
        self.assertEqual((row['username'], row['state'], row['started'], row['error']),
                         ('never', 'never', '', ''), r.stdout)
        after = sorted(os.listdir(home)) if os.path.isdir(home) else None
        self.assertEqual(after, before, 'migrate status created something in the home')

        run = migrate(self.rig, 'okuser', password=SRC_PW, source_user=SRC_USER)
        self.assertEqual(run.rc, 0, run.describe())
        r = self.rig.doveadm('-f', 'json', 'migrate', 'status', '-u', 'okuser')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        row = json.loads(r.stdout)[0]
        self.assertEqual(sorted(row), sorted(STATUS_KEYS), r.stdout)
        self.assertEqual((row['state'], row['trigger']), ('ok', 'doveadm'))
        self.assertRegex(row['started'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
        self.assertRegex(row['finished'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
        self.assertEqual(int(row['folders_done']), len(FOLDERS))
        self.assertEqual(int(row['consecutive_failures']), 0)

        rows = self.rig.doveadm_tab('migrate', 'status', '-A')
        states = {x['Username']: x['state'] for x in rows}
        self.assertEqual(states.get('okuser'), 'ok', rows)
        self.assertEqual(states.get('never'), 'never', rows)

    def test_dry_run_writes_nothing(self):
        run = migrate(self.rig, 'dryuser', '--dry-run', password=SRC_PW, source_user=SRC_USER)
        self.assertEqual(run.rc, 0, run.describe())
        self.assertIsNone(read_status(self.rig, 'dryuser'))

    def test_failures_are_counted_then_reset(self):
        for n in (1, 2):
            run = migrate(self.rig, 'badpw', password='wrong', source_user=SRC_USER)
            self.assertEqual(run.rc, EX_NOPERM, run.describe())
            st = read_status(self.rig, 'badpw')
            self.assertEqual(st['state'], 'failed')
            self.assertEqual(st['error_kind'], 'auth')
            self.assertIn('auth', st['error'].lower() + st['error_kind'])
            self.assertEqual(int(st['consecutive_failures']), n)
            self.assertNotIn('wrong', open(self.rig.state_path('badpw', 'status')).read())
        run = migrate(self.rig, 'badpw', password=SRC_PW, source_user=SRC_USER)
        self.assertEqual(run.rc, 0, run.describe())
        st = read_status(self.rig, 'badpw')
        self.assertEqual((st['state'], st['consecutive_failures']), ('ok', '0'))

    def test_trigger_from_environment(self):
        # doveadm keeps only the environment named in DOVECOT_PRESERVE_ENVS
        env = dict(os.environ, MIGRATE_TRIGGER='batch', DOVECOT_PRESERVE_ENVS='MIGRATE_TRIGGER')
        argv = migrate_argv(self.rig, 'trig', password=SRC_PW, source_user=SRC_USER)
        r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(read_status(self.rig, 'trig')['trigger'], 'batch')

    def test_running_status_and_busy_run_leaves_it(self):
        p = self.start_slow('busy')
        st = wait_for(lambda: (read_status(self.rig, 'busy') or {}).get('state') == 'running'
                      and int(read_status(self.rig, 'busy')['copied']) > 0
                      and read_status(self.rig, 'busy'))
        self.assertTrue(st, 'no running status with progress')
        self.assertEqual(int(st['pid']), p.pid)
        self.assertEqual(st['finished'], '0')
        self.assertIn(st['folder'], ('INBOX', 'Work', 'Archive'))
        # A second run of the same account waits for the lock (Busy, retried); meanwhile the
        # running run's status stays as it is.
        err_path = os.path.join(self.rig.dir, 'busy-second.err')
        with open(err_path, 'w') as err_file:
            argv = migrate_argv(self.rig, 'busy', password=SRC_PW, source_user=SRC_USER)
            q = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=err_file, text=True)
            self.addCleanup(lambda: q.poll() is None and q.kill())
            # (its stderr reaches the file only when it exits: give it time to hit the lock)
            time.sleep(3)
            self.assertIsNone(q.poll(), 'the second run ended while the first was running')
            st2 = read_status(self.rig, 'busy')
            self.assertEqual((st2['state'], st2['pid']), ('running', str(p.pid)))
            # The first run dies (kill -9); the second gets the lock, writes its own status and
            # completes the mailbox.
            p.kill()
            p.communicate(timeout=60)
            out, _ = q.communicate(timeout=300)
        err = open(err_path).read()
        self.assertEqual(q.returncode, 0, out + err)
        self.assertIn('another migration', err)
        st3 = read_status(self.rig, 'busy')
        self.assertEqual((st3['state'], st3['pid']), ('ok', str(q.pid)))
        # Every message once, with its bytes, flags and date: the kill and the hand-over to
        # the second run lost nothing and doubled nothing.
        have = self.rig.messages('dst', 'busy')
        expected = expected_messages(self.rig, self.corpus)
        self.assertEqual(duplicates(have, expected), {})
        self.assertEqual(project(have, CONTENT_KEYS), expected)

    def test_run_that_gives_up_as_busy_leaves_the_running_status(self):
        """A second run that gives up waiting for the account lock (exit 75, Busy) must not
        overwrite the status of the run that holds it."""
        p = self.start_slow('busy2', rate='8K')   # ~75 s: longer than the second run's retries
        st = wait_for(lambda: (read_status(self.rig, 'busy2') or {}).get('state') == 'running'
                      and read_status(self.rig, 'busy2'))
        self.assertTrue(st)
        second = migrate(self.rig, 'busy2', password=SRC_PW, source_user=SRC_USER)
        self.assertIsNone(p.poll(), 'the first run ended before the second gave up')
        self.assertEqual(second.rc, EX_TEMPFAIL, second.describe())
        self.assertIn('another migration', second.text)
        st2 = read_status(self.rig, 'busy2')
        self.assertEqual((st2['state'], st2['pid'], st2['consecutive_failures']),
                         ('running', str(p.pid), st['consecutive_failures']))
        row = {k.lower(): v for k, v in
               parse_tab(self.rig.doveadm('-f', 'tab', 'migrate', 'status', '-u', 'busy2').stdout)[0].items()}
        self.assertEqual(row['state'], 'running')
        p.kill()
        p.communicate(timeout=60)


if __name__ == '__main__':
    unittest.main()
