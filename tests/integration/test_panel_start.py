"""A customer panel's calls through the doveadm HTTP API (issue 14): migrateStart with the source
password as the request parameter sourcePassword (the call returns at once, the run goes on in
the background), two starts of one user at once, migratePause in the middle of a large folder and
migrateResume (every message exactly once), migrateLog. The password (quotes, backslashes, %,
non-ASCII) is nowhere: not in Dovecot's logs with debug logging on, not in any process's argument
list, not in the status, report or log files; its stored copy is gone once the migration ended."""

import concurrent.futures
import os
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, EX_USAGE, Rig, api_params, corpus, duplicates, expected_messages, project,
    read_status, secret_leaks, wait_for)

SRC_USER = 'panelsrc'
# Everything that breaks naive quoting: JSON, shell, printf-style and UTF-8.
SRC_PW = 'q"uo\'te\\back%s%%n-ä€😀-end'
PER_FOLDER = 100   # ~2 kB messages; at 20K/s a run takes ~20 s: long enough to pause it
SLOW_RATE = '20K'
FOLDERS = (('INBOX',), ('Archive',))


def all_cmdlines():
    """Every process's argument list on this machine (as ps shows them)."""
    out = []
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    out.append(f.read())
            except OSError:
                pass
    return out


class PanelStartTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-panel', debug=True)
        cls.rig.__enter__()
        cls.corpus = corpus.simple_corpus(PER_FOLDER, folders=FOLDERS, tag='panel', size=2000)
        cls.rig.add_source_user(SRC_USER, SRC_PW)
        cls.rig.load_source(SRC_USER, cls.corpus)
        for u in ('quick', 'twice', 'paused', 'idle', 'cliuser'):
            cls.rig.add_dest_user(u)
        cls.expected = expected_messages(cls.rig, cls.corpus)

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    def params(self, user, **extra):
        return api_params(self.rig, user, SRC_USER, sourcePassword=SRC_PW, **extra)

    def call(self, command, params, tag='t'):
        resp = self.rig.http_api([[command, params, tag]])
        self.assertEqual(len(resp), 1, resp)
        self.assertEqual(resp[0][0], 'doveadmResponse', resp)
        self.assertNotIn(SRC_PW, repr(resp))
        return resp[0][1][0]

    def status(self, user):
        return self.call('migrateStatus', {'user': user})

    def wait_state(self, user, states, timeout=180):
        row = wait_for(lambda: (lambda r: r if r['state'] in states else None)(self.status(user)),
                       timeout=timeout, step=0.3)
        self.assertIsNotNone(row, '%s never reached %s: %s' % (user, states, self.status(user)))
        return row

    def assert_complete(self, user):
        msgs = self.rig.messages('dst', user)
        self.assertEqual(duplicates(msgs, self.expected), {})
        self.assertEqual(project(msgs, CONTENT_KEYS), self.expected)

    def assert_no_leak(self, user):
        self.assertEqual(secret_leaks(self.rig, SRC_PW, user), [])
        self.assertFalse(any(SRC_PW.encode() in c for c in all_cmdlines()))

    def test_start_returns_at_once_and_the_run_completes(self):
        row = self.call('migrateStart', self.params('quick', maxRate=SLOW_RATE))
        self.assertEqual(row['result'], 'started', row)
        self.assertEqual(row['state'], 'running', row)
        self.assertTrue(row['pid'].isdigit(), row)
        # While it runs: the stored password is private to the mail user, and in no argv.
        secret = self.rig.state_path('quick', 'secret')
        self.assertEqual(stat.S_IMODE(os.stat(secret).st_mode), 0o600)
        self.assertFalse(any(SRC_PW.encode() in c for c in all_cmdlines()))
        st = self.status('quick')
        self.assertEqual((st['state'], st['trigger']), ('running', 'panel'), st)
        # A second start while it runs says so and starts nothing.
        again = self.call('migrateStart', self.params('quick'))
        self.assertEqual((again['result'], again['pid']), ('already_running', row['pid']), again)

        done = self.wait_state('quick', ('ok', 'partial', 'failed'))
        self.assertEqual(done['state'], 'ok', done)
        self.assert_complete('quick')
        self.assertFalse(os.path.exists(secret), 'the stored password outlived the migration')
        self.assert_no_leak('quick')
        log = self.call('migrateLog', {'user': 'quick'})['log']
        self.assertIn('migration started in the background (panel)', log)
        self.assertRegex(log, r'(?m)^quick\s+ok\s')
        # Nothing to resume after a finished migration.
        self.assertEqual(self.call('migrateResume', {'user': 'quick'})['result'], 'nothing_to_resume')
        self.assertEqual(self.call('migratePause', {'user': 'quick'})['result'], 'not_running')

    def test_two_starts_at_once(self):
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            rows = list(pool.map(lambda tag: self.call('migrateStart', self.params('twice'), tag),
                                 ('a', 'b')))
        self.assertEqual(sorted(r['result'] for r in rows), ['already_running', 'started'], rows)
        self.assertEqual(self.wait_state('twice', ('ok', 'partial', 'failed'))['state'], 'ok')
        self.assert_complete('twice')
        self.assert_no_leak('twice')

    def test_pause_and_resume_in_a_large_folder(self):
        row = self.call('migrateStart', self.params('paused', maxRate=SLOW_RATE))
        self.assertEqual(row['result'], 'started', row)
        self.assertTrue(wait_for(lambda: int(self.status('paused')['copied']) > 0, timeout=60))
        row = self.call('migratePause', {'user': 'paused'})
        self.assertEqual((row['result'], row['state']), ('paused', 'paused'), row)
        st = read_status(self.rig, 'paused')
        copied = int(st['copied'])
        self.assertEqual(st['state'], 'paused')
        self.assertLess(copied, len(self.expected), 'the pause came after the end of the run')
        self.assertEqual(len(self.rig.messages('dst', 'paused')), copied)
        # Paused stays paused: a pause again says so, the password is kept for the resume.
        self.assertEqual(self.call('migratePause', {'user': 'paused'})['result'], 'paused')
        self.assertTrue(os.path.exists(self.rig.state_path('paused', 'secret')))

        row = self.call('migrateResume', {'user': 'paused'})
        self.assertEqual(row['result'], 'started', row)
        self.assertEqual(self.wait_state('paused', ('ok', 'partial', 'failed'))['state'], 'ok')
        self.assert_complete('paused')
        self.assertFalse(os.path.exists(self.rig.state_path('paused', 'secret')))
        self.assert_no_leak('paused')

    def test_pause_and_resume_of_a_user_never_migrated(self):
        self.assertEqual(self.call('migratePause', {'user': 'idle'})['result'], 'not_running')
        self.assertEqual(self.call('migrateResume', {'user': 'idle'})['result'], 'nothing_to_resume')

    def test_start_takes_one_user(self):
        r = self.rig.doveadm('migrate', 'start', '-A', '--source-host', '127.0.0.1')
        self.assertEqual(r.returncode, EX_USAGE, r.stdout + r.stderr)
        self.assertIn('migrate start takes one user', r.stderr)
        self.assertIn('migrate batch --background', r.stderr)
        self.assertIsNone(read_status(self.rig, 'cliuser'))

    def test_a_refused_start_answers_with_the_reason(self):
        row = self.call('migrateStart', self.params('cliuser', sourceTls='tls1.3'))
        self.assertEqual(row['result'], 'failed', row)
        self.assertIn('--source-tls', row['message'])
        self.assertIsNone(read_status(self.rig, 'cliuser'))

    def test_source_password_is_refused_on_the_command_line(self):
        r = self.rig.doveadm('migrate', 'start', '-u', 'cliuser', '--source-host', '127.0.0.1',
                             '--source-password', 'cli-secret-123')
        self.assertEqual(r.returncode, EX_USAGE, r.stdout + r.stderr)
        self.assertIn('accepted only over the doveadm HTTP API', r.stderr)
        self.assertNotIn('cli-secret-123', r.stdout + r.stderr)
        self.assertIsNone(read_status(self.rig, 'cliuser'))


if __name__ == '__main__':
    unittest.main()
