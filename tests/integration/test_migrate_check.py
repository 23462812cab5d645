"""`doveadm migrate check` against real Dovecot: dry runs of the users selected with -u, -u with a
wildcard, -A and -F, in parallel, with the settings from the userdb (migrate_source_password) or
the options (-w, -W); one line per mailbox with what would be copied and whether it fits the
quota, a summary, a non-zero exit code when any user fails, and nothing copied."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import EX_CONFIG, EX_NOPERM, EX_CANTCREAT, Rig, corpus  # noqa: E402

EX_NOUSER = 67


class CheckTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-check')
        cls.rig.__enter__()
        cls.corpus = corpus.simple_corpus(5, folders=(('INBOX',), ('Work',), ('Sent',)),
                                          tag='check', size=2000)
        # chk-ok and chk-small have their source password in the userdb; chk-bad a wrong one;
        # chk-nopw none; chk-small's quota is smaller than its mail.
        for user in ('chk-ok', 'chk-bad', 'chk-nopw', 'chk-small', 'chk-stdin'):
            cls.rig.add_source_user(user, user + '-Src-Pw')
            cls.rig.load_source(user, cls.corpus)
        cls.rig.add_dest_user('chk-ok', extra={'migrate_source_password': 'chk-ok-Src-Pw'})
        cls.rig.add_dest_user('chk-bad', extra={'migrate_source_password': 'not-the-password'})
        cls.rig.add_dest_user('chk-nopw')
        cls.rig.add_dest_user('chk-small', quota='10K',
                              extra={'migrate_source_password': 'chk-small-Src-Pw'})
        cls.rig.add_dest_user('chk-stdin')
        cls.src = ('-H', '127.0.0.1', '-P', str(cls.rig.src_imap_port), '-T', 'none')

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    def check(self, *args, input=None):
        argv = self.rig.doveadm_argv('migrate', 'check', *(args + self.src))
        return subprocess.run(argv, capture_output=True, text=True, timeout=300, input=input,
                              errors='surrogateescape')

    def describe(self, r):
        return 'rc %s\n--- stdout ---\n%s\n--- stderr ---\n%s' % (r.returncode, r.stdout, r.stderr)

    def assert_nothing_copied(self):
        for user in self.rig.dst_users:
            self.assertEqual(self.rig.messages('dst', user, content=False), [], user)

    def test_one_user_ok_with_the_userdb_password(self):
        r = self.check('-u', 'chk-ok')
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assertRegex(r.stdout, r'(?m)^chk-ok: ok, 15 messages in 3 folders, 15 to copy '
                                   r'\(\d+\.\d KiB\), fits the quota \(1\.0 GiB free\)$')
        self.assertIn('1 mailbox: 1 ok', r.stderr)
        self.assert_nothing_copied()

    def test_json_rows_for_scripts(self):
        """With doveadm -f json, stdout is one JSON row per mailbox (the lines go to stderr)."""
        argv = self.rig.doveadm_argv('-f', 'json', 'migrate', 'check', '-u', 'chk-*', *self.src)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        rows = {row['user']: row for row in json.loads(r.stdout)}
        self.assertNotEqual(r.returncode, 0, self.describe(r))
        ok = rows['chk-ok']
        self.assertEqual((ok['result'], ok['folders'], ok['source_messages'], ok['pending'], ok['reason']),
                         ('ok', 3, 15, 15, ''), self.describe(r))
        self.assertGreater(ok['pending_bytes'], 0)
        self.assertEqual(ok['quota_free'], str(1 << 30))
        self.assertEqual(rows['chk-small']['result'], 'failed')
        self.assertIn('insufficient space for chk-small', rows['chk-small']['reason'])
        self.assertEqual(rows['chk-bad']['result'], 'failed')
        self.assertIn('chk-ok: ok, 15 messages', r.stderr)
        self.assert_nothing_copied()

    def test_user_file_with_every_kind_of_failure(self):
        path = os.path.join(self.rig.dir, 'users')
        with open(path, 'w') as f:
            f.write('chk-ok\nchk-bad\n\nchk-nopw\nchk-small\nno-such-user-x\n')
        rdir = os.path.join(self.rig.dir, 'check-report')
        r = self.check('-F', path, '-j', '3', '-r', rdir)
        # the first failure in the file's order: chk-bad's login
        self.assertEqual(r.returncode, EX_NOPERM, self.describe(r))
        lines = {l.split(':', 1)[0]: l for l in r.stdout.splitlines() if ': ' in l}
        self.assertIn('ok, 15 messages', lines['chk-ok'])
        self.assertIn("failed: login as 'chk-bad' failed", lines['chk-bad'])
        self.assertIn('failed: no source password for chk-nopw', lines['chk-nopw'])
        self.assertIn('chk-small', lines)
        self.assertIn('failed: insufficient space for chk-small: needs', lines['chk-small'])
        # the rig's static userdb accepts any name: the unknown user has no source password
        self.assertIn('failed: no source password', lines['no-such-user-x'])
        self.assertIn('5 mailboxes: 4 failed, 1 ok', r.stderr)
        with open(os.path.join(rdir, 'report.json')) as f:
            report = json.load(f)
        self.assertEqual(report['command'], 'check')
        self.assertTrue(report['dry_run'])
        codes = {m['user']: m['exit_code'] for m in report['mailboxes']}
        self.assertEqual(codes['chk-bad'], EX_NOPERM)
        self.assertEqual(codes['chk-nopw'], EX_CONFIG)
        self.assertEqual(codes['chk-small'], EX_CANTCREAT)
        self.assert_nothing_copied()

    def test_all_users_and_a_wildcard(self):
        r = self.check('-A')
        self.assertNotEqual(r.returncode, 0, self.describe(r))
        for user in self.rig.dst_users:
            self.assertRegex(r.stdout, r'(?m)^%s: ' % user)
        r = self.check('-u', 'chk-o*')
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assertEqual([l.split(':')[0] for l in r.stdout.splitlines()], ['chk-ok'])
        self.assert_nothing_copied()

    def test_password_on_stdin_goes_to_every_child(self):
        r = self.check('-u', 'chk-stdin', '-W', input='chk-stdin-Src-Pw')
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assertIn('chk-stdin: ok, 15 messages', r.stdout)
        self.assertNotIn('chk-stdin-Src-Pw', r.stdout + r.stderr)

    def test_usage_errors(self):
        r = self.check()
        self.assertEqual(r.returncode, 64, self.describe(r))
        self.assertIn('give exactly one of -u USER, -A or -F USERFILE', r.stderr)
        r = self.check('-u', 'nobody-matches-*')
        self.assertEqual(r.returncode, EX_NOUSER, self.describe(r))


if __name__ == '__main__':
    unittest.main()
